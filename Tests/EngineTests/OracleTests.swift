import Testing
import Foundation
import Engine

/// Our forward pass against transformers' `MixtralForCausalLM` on tiny checkpoints of different shapes
/// (fixtures made by tools/make_engine_fixtures.py).
@Suite struct OracleTests {
    @Test(arguments: OracleFixture.names)
    func logitsAndRouterLogitsMatchTransformers(name: String) throws {
        let fixture = try OracleFixture(name)
        let model = try fixture.model()
        let recorder = RouterRecorder(layers: model.config.numHiddenLayers)
        let session = Session(model: model, observer: recorder)
        let logits = try model.forward(fixture.inputIDs, session: session, allLogits: true)
        let vocab = model.config.vocabSize
        var worst: Float = 0
        for (p, expected) in fixture.logits.enumerated() {
            for v in 0..<vocab { worst = max(worst, abs(logits[p * vocab + v] - expected[v])) }
        }
        #expect(worst <= 1e-4, "max |Δlogit| = \(worst) in \(name)")
        var worstRouter: Float = 0
        for (l, layer) in fixture.routerLogits.enumerated() {
            for (p, expected) in layer.enumerated() {
                for e in expected.indices { worstRouter = max(worstRouter, abs(recorder.logits[l][p][e] - expected[e])) }
            }
        }
        #expect(worstRouter <= 1e-4, "max |Δrouter logit| = \(worstRouter) in \(name)")
    }

    @Test(arguments: OracleFixture.names)
    func greedyContinuationMatchesTransformers(name: String) throws {
        let fixture = try OracleFixture(name)
        var generator = Generator(model: try fixture.model(), stopToken: -1)
        let tokens = try generator.generate(prompt: fixture.greedyPrompt, maxTokens: fixture.greedyTokens.count)
        #expect(tokens == fixture.greedyTokens)
    }

    @Test func prefillThenDecodeEqualsOneBatch() throws {
        // The KV cache path (one token at a time) gives the logits of the batched prefill.
        let fixture = try OracleFixture("sliding-window")
        let model = try fixture.model()
        let batch = try model.forward(fixture.inputIDs, session: Session(model: model), allLogits: true)
        let session = Session(model: model)
        let vocab = model.config.vocabSize
        for (p, token) in fixture.inputIDs.enumerated() {
            let step = try model.forward([token], session: session)
            for v in 0..<vocab { #expect(abs(step[v] - batch[p * vocab + v]) < 1e-4) }
        }
    }

    @Test func contextOverflowIsAnError() throws {
        let model = try OracleFixture("gqa-untied-fp32").model()
        let session = Session(model: model, capacity: 4)
        #expect(throws: EngineError.contextOverflow(tokens: 5, capacity: 4)) {
            try model.forward([1, 2, 3, 4, 5], session: session)
        }
        #expect(throws: EngineError.invalidToken(id: 96, vocabularySize: 96)) {
            try model.forward([96], session: Session(model: model))
        }
    }
}

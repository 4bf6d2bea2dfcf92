import Foundation
import Engine
import Tracing

/// A generation run recorded once — every layer step's routing and every produced token — so that any
/// number of cache policies and sizes can be replayed on exactly the same routing (`simulate`, `sweep`),
/// and `optimal` can see the future. Holds routing only (router logits and choices, a few numbers per
/// token × layer), not hidden states.
public struct RecordedRun: Sendable {
    /// A produced token and the five likeliest candidates at that position.
    public struct NextToken: Sendable, Equatable {
        public var id: Int
        /// (token id, probability), most likely first.
        public var top: [(id: Int, probability: Float)]

        public static func == (a: NextToken, b: NextToken) -> Bool {
            a.id == b.id && a.top.map(\.id) == b.top.map(\.id) && a.top.map(\.probability) == b.top.map(\.probability)
        }
    }

    /// One forward call: its layer steps in order, and the token sampled from its logits.
    public struct Forward: Sendable, Equatable {
        public var phase: Phase
        public var steps: [LayerStep]
        public var next: NextToken
    }

    public var prompt: [Int]
    /// Layers ahead whose speculative router logits were recorded.
    public var lookahead: Int
    public var forwards: [Forward]
    /// Wall-clock seconds of each forward call, as recorded (the model's compute and, with a streaming
    /// provider, its reads), `[forwards]`.
    public var forwardSeconds: [Double] = []

    /// Decode forward calls and their measured seconds (every call after the prefill).
    public var decodeTiming: (tokens: Int, seconds: Double) {
        (max(0, forwardSeconds.count - 1), forwardSeconds.dropFirst().reduce(0, +))
    }

    /// Runs the model: prefills `prompt`, then decodes until `maxTokens` tokens are produced or the stop
    /// token appears (as `Generator.generate` does), recording every routing decision.
    /// - Parameters:
    ///   - sampler: greedy by default.
    ///   - lookahead: record speculative router logits this many layers ahead (the largest `--lookahead`
    ///     any policy replayed on this run will use).
    ///   - stopToken: ends the run early (nil: run `maxTokens`).
    /// - Throws: `EngineError` (empty prompt, context overflow, invalid token).
    public static func record(model: MixtralModel, prompt: [Int], maxTokens: Int, sampler: Sampler = Sampler(),
                              lookahead: Int = 0, stopToken: Int? = nil) throws -> RecordedRun {
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        var sampler = sampler
        var steps: [LayerStep] = []
        let recorder = RoutingRecorder(model: model, lookahead: lookahead) { steps.append($0) }
        let session = Session(model: model, capacity: min(prompt.count + maxTokens, model.config.maxPositionEmbeddings),
                              observer: recorder)
        var forwards: [Forward] = []
        var seconds: [Double] = []
        var started = DispatchTime.now().uptimeNanoseconds
        var logits = try model.forward(prompt, session: session)
        while true {
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            let token = sampler.next(logits: logits[...])
            forwards.append(Forward(phase: forwards.isEmpty ? .prefill : .decode, steps: steps,
                                    next: NextToken(id: token, top: topProbabilities(logits, count: 5))))
            steps.removeAll()
            if token == stopToken || forwards.count >= maxTokens { break }
            started = DispatchTime.now().uptimeNanoseconds
            logits = try model.forward([token], session: session)
        }
        return RecordedRun(prompt: prompt, lookahead: lookahead, forwards: forwards, forwardSeconds: seconds)
    }

    /// This run's routing stretched to a deeper model of the same experts: layer j replays recorded layer
    /// j mod L (L the recorded layers), with its router logits and lookahead (none after each last
    /// recorded layer, so a prefetch never crosses a repetition). Used to replay a small model's routing on
    /// Mixtral-8x7B's 32 layers (`PaperTable2`): every layer's hit rate is one the small model recorded.
    public func tiled(layers: Int) -> RecordedRun {
        var run = self
        run.forwards = forwards.map { forward in
            var stretched = forward
            stretched.steps = (0..<layers).map { j in
                var step = forward.steps[j % forward.steps.count]
                step.layer = j
                return step
            }
            return stretched
        }
        return run
    }

    /// The distinct experts of every step, `[layer][step][experts]` — what `optimal` looks ahead into.
    public var futureAccesses: [[[Int]]] {
        let layers = forwards.first?.steps.count ?? 0
        var future = Array(repeating: [[Int]](), count: layers)
        for forward in forwards {
            for step in forward.steps { future[step.layer].append(step.distinctExperts) }
        }
        return future
    }

    /// Softmax of `logits` (in Double) and its `count` most likely entries, ties to the lower id.
    static func topProbabilities(_ logits: [Float], count: Int) -> [(id: Int, probability: Float)] {
        let maxLogit = logits.max() ?? 0
        let exps = logits.map { exp(Double($0 - maxLogit)) }
        let sum = exps.reduce(0, +)
        let order = logits.indices.sorted { (logits[$0], -$0) > (logits[$1], -$1) }
        return order.prefix(count).map { (id: $0, probability: Float(exps[$0] / sum)) }
    }
}

import ArgumentParser
import Foundation
import Engine

/// `mixtral-lab logits`: raw logits (and router logits) for a token sequence, as one JSON object.
struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print logits for every position of a token sequence as JSON: {\"logits\": positions × vocab, \"router_logits\": layers × positions × experts}.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var activationOptions: ActivationOptions
    @OptionGroup var precisionOptions: PrecisionOptions
    @Option(parsing: .unconditional, help: "Comma-separated token ids, e.g. 1,2,3.") var tokenIds: String
    @Flag(help: "Also print the raw router logits of every layer.") var routerLogits = false

    func run() throws { try activationOptions.bound { try runAtActivations() } }

    /// `run` with the products at `--activations`.
    private func runAtActivations() throws {
        let ids = try parseTokenIDs(tokenIds, flag: "--token-ids")
        guard !ids.isEmpty else { throw ValidationError("--token-ids is empty") }
        let precision = precisionOptions.precision
        let model = try loadModel(try modelOptions.checkpoint(), precision: precision)
        noteWhenRunAsStored(model, precision: precisionOptions)
        if let bad = ids.first(where: { $0 >= model.config.vocabSize }) {
            throw ValidationError("--token-ids: \(bad) is outside the vocabulary (0..<\(model.config.vocabSize))")
        }
        let recorder = RouterLogitsRecorder(layers: model.config.numHiddenLayers)
        let session = Session(model: model, capacity: ids.count, observer: routerLogits ? recorder : nil)
        let logits = try model.forward(ids, session: session, allLogits: true)
        let vocab = model.config.vocabSize
        var object: [String: Any] = [
            "logits": (0..<ids.count).map { p in logits[(p * vocab)..<((p + 1) * vocab)].map(Double.init) }
        ]
        if routerLogits { object["router_logits"] = recorder.layers.map { $0.map { $0.map(Double.init) } } }
        let data = try JSONSerialization.data(withJSONObject: object, options: [])
        emit(String(decoding: data, as: UTF8.self))
    }
}

/// Collects raw router logits `[layers][positions][experts]` during a forward pass.
final class RouterLogitsRecorder: ForwardObserver {
    var layers: [[[Float]]]
    init(layers: Int) { self.layers = Array(repeating: [], count: layers) }
    func routed(_ decision: RoutingDecision) { layers[decision.layer].append(decision.routerLogits) }
}

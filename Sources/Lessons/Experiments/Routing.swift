import Reports

/// Lesson 5's experiment: what the router does. Router logits, softmax, top-k and renormalised weights for
/// one token; a heatmap of one layer's routing over a text; how evenly each layer uses its experts; how
/// often a token reuses an expert of the token before it (what an expert cache relies on), against the reuse
/// the layer's expert frequencies alone give (the same expert sets in 1,000 random orders).
struct RoutingExperiment: Experiment {
    static let name = "routing"
    static let summary = "Router logits and top-k for one token, routing heatmap, load balance and expert reuse between neighbouring tokens."
    static let modelUse: ModelUse = [.loadsModel, .runPrecision]
    static let parameters = [
        ParameterSpec("prompt", .text, "text to route", default: "ROMEO:\nBut soft, what light through yonder window breaks?\n"),
        ParameterSpec("layer", .int, "layer shown in the heatmap and the one-token table", default: 0),
        ParameterSpec("token", .int, "index of the token shown in the one-token table (−1 = last)", default: -1),
        ParameterSpec("max_tokens", .int, "greedy tokens generated after the prompt (their routes count too)", default: 64),
    ]
    let prompt: String
    let layer: Int
    let token: Int
    let maxTokens: Int

    init(_ parameters: ExperimentParameters) throws {
        prompt = parameters.text("prompt")
        layer = parameters.int("layer")
        token = parameters.int("token")
        maxTokens = parameters.int("max_tokens")
        guard maxTokens >= 0 else { throw ExperimentParameterError.invalid("max_tokens", reason: "must be ≥ 0") }
    }

    func run(in lab: LabContext) throws -> RoutingReport {
        do {
            return try RoutingReport(prompt: prompt, layer: layer, token: token, maxTokens: maxTokens, in: lab)
        } catch RoutingReport.Error.noSuchLayer(_, let layers) {
            throw ExperimentParameterError.invalid("layer", reason: "the model has layers 0…\(layers - 1)")
        }
    }
}

import ArgumentParser
import Foundation
import Checkpoints
import Engine
import Reports
import Offloading
import Quantization
import Tracing

/// `mixtral-lab step`: walk a run one MoE layer of one token at a time — routing, cache hits and misses,
/// transfers and their simulated cost, and the residual stream's error against fp32.
struct Step: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Step through a run layer by layer: routing, cache hits/misses, transfers, simulated cost, error vs fp32.",
        discussion: """
        The run is computed first (greedy), its routing replayed through --policy on --hardware exactly as \
        `trace` does, and then walked from the trace records: one stop per MoE layer of each forward call \
        (the prompt's prefill is one call), and after each call the token it produced with running totals. \
        With a terminal, answer each stop with a key and Enter: Enter alone = next layer, t⏎ = finish this \
        token, c⏎ = run to the end, q⏎ = quit. Without one (piped), every stop is printed.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var precisionOptions: PrecisionOptions
    @OptionGroup var offloading: OffloadingOptions
    @OptionGroup var promptOptions: PromptOptions
    @Option(parsing: .unconditional, help: "Most new tokens.") var maxTokens: Int = 4

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        try offloading.checkPrefetchFlagsApply()
    }

    func run() throws {
        let checkpoint = try modelOptions.checkpoint()
        try offloading.check(checkpoint.config)
        let tokenizer = try modelOptions.tokenizerIfPresent()
        let precision = precisionOptions.precision
        let policy = offloading.policySpec
        let model = try loadModel(checkpoint, precision: precision)
        noteWhenRunAsStored(model, precision: precisionOptions)
        let promptIDs = try promptOptions.tokens(tokenizer: tokenizer, checkpoint: checkpoint, maxTokens: maxTokens,
                                                 context: model.config.maxPositionEmbeddings)
        let footprint = ModelFootprint(model: model)
        let cost = CostModel(hardware: try offloading.hardwareProfile(), footprint: footprint)
        let slots = try offloading.slots(footprint: footprint)
        let run = try RecordedRun.record(model: model, prompt: promptIDs, maxTokens: maxTokens, lookahead: policy.lookahead)
        let records = CollectingTraceSink()
        let text: (Int) -> String = { id in tokenizer?.decode([id]) ?? "⟨\(id)⟩" }
        let summary = try run.simulate(policy: policy, cacheExperts: slots, cost: cost, sinks: [records], tokenText: text)
        // Residual-stream error against fp32 on the same tokens (the last produced token is never fed back).
        let fed = promptIDs + run.forwards.dropLast().map(\.next.id)
        let errors = precision == PrecisionSpec(uniform: .fp32) ? nil
            : try ModelComparison(reference: loadModel(checkpoint, precision: PrecisionSpec(uniform: .fp32)), candidate: model, tokens: fed)

        emit("model \(checkpoint.directory.lastPathComponent) at \(precisionOptions.running(model)) · policy \(summary.policy), "
             + "\(summary.cacheExperts) of \(footprint.numExperts) experts per layer in the fast tier · hardware \(summary.hardware)")
        emit("prompt: \(counted(promptIDs.count, "token")) · \(counted(footprint.numLayers, "MoE layer")) · top-\(footprint.topK) of \(footprint.numExperts) experts · caches start empty")
        let interactive = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
        if interactive { emit("keys (each followed by Enter): Enter alone = next layer · t⏎ = finish this token · c⏎ = run to the end · q⏎ = quit") }
        emit("")

        var narrator = StepNarrator(numExperts: footprint.numExperts, topK: footprint.topK)
        var pace: Pace = interactive ? .everyLayer : .toEnd
        for call in ForwardCallRecords.split(layers: records.layers, tokens: records.tokens) {
            for stop in call.stops {
                let error = errors.map { e in
                    stop.reduce(0) { $0 + e.residualRelativeErrorByPosition[$1.layer][$1.position] } / Double(stop.count)
                }
                emit(narrator.layerStop(stop, residualError: error))
                if pace == .everyLayer {
                    pace = Pace.ask()
                    if pace == .quit {
                        emit("stopped; so far: \(narrator.totals)")
                        return
                    }
                }
                emit("")
            }
            emit(narrator.tokenEnd(call.token))
            emit("")
            if pace == .toTokenEnd { pace = .everyLayer }
        }
        emit("generated: " + (tokenizer?.decode(run.forwards.map(\.next.id), skipSpecialTokens: true)
                               ?? run.forwards.map { "\($0.next.id)" }.joined(separator: ",")))
        emit(offloadingSummaryLine(summary, numExperts: footprint.numExperts))
    }

    /// How far to go before the next pause.
    private enum Pace {
        case everyLayer, toTokenEnd, toEnd, quit

        /// Waits for a key line on standard input; end of input runs to the end.
        static func ask() -> Pace {
            emit("  [Enter] next layer · t⏎ finish token · c⏎ to the end · q⏎ quit › ", newline: false)
            guard let line = readLine() else { return .toEnd }
            switch line.trimmingCharacters(in: .whitespaces).lowercased() {
            case "t": return .toTokenEnd
            case "c": return .toEnd
            case "q": return .quit
            default: return .everyLayer
            }
        }
    }
}

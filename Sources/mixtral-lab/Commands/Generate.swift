import ArgumentParser
import Foundation
import Checkpoints
import Engine
import Offloading

/// `mixtral-lab generate`: continue a prompt, streaming tokens as they are produced.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt with the model (greedy by default).",
        discussion: """
        With --policy (other than resident), --cache-experts or --cache-bytes, the run's routing also goes \
        through the expert-offloading simulation, and one line of its totals follows the text. The text is \
        the same whatever the policy: the model always computes with every weight resident.

        With --ram-budget, the experts really are offloaded: only the non-expert weights are loaded, the \
        experts are read from disk into the expert slots the budget holds, --policy decides which stay, and a \
        line of measured totals (hit rate, bytes read, stall, tokens/s, peak RSS) follows. The text is still \
        the same, bit for bit.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var activationOptions: ActivationOptions
    @OptionGroup var precisionOptions: PrecisionOptions
    @OptionGroup var offloading: OffloadingOptions
    @OptionGroup var ramBudget: RAMBudgetOptions
    @Option(help: "Text to continue.") var prompt: String = "ROMEO:\n"
    @Option(parsing: .unconditional, help: "Most new tokens.") var maxTokens: Int = 100
    @Option(parsing: .unconditional, help: "Sampling temperature; 0 = greedy.") var temperature: Float = 0
    @Option(parsing: .unconditional, help: "Keep only the K most likely tokens when sampling (0 = all).") var topK: Int = 0
    @Option(parsing: .unconditional, help: "Nucleus sampling: keep the most likely tokens up to probability P.") var topP: Float = 1
    @Option(parsing: .unconditional, help: "Random seed for sampling (same seed, same text).") var seed: UInt64 = 0
    @Flag(help: "Print the prefill and decode speed, the start-up time (process start to the first prompt token) and the peak resident set size after the text.") var timing = false

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        try offloading.checkPrefetchFlagsApply()
        try checkTemperature(temperature)
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]; got \(topP)") }
    }

    func run() throws { try activationOptions.bound { try runAtActivations() } }

    /// `run` with the products at `--activations`.
    private func runAtActivations() throws {
        let checkpoint = try modelOptions.checkpoint()
        // With experts streamed, start reading the weights that stay resident while the tokenizer is built.
        if ramBudget.ramBudget != nil { checkpoint.adviseWillNeedAllButExperts() }
        try offloading.check(checkpoint.config)
        let tokenizer = try modelOptions.tokenizer()
        let promptIDs = tokenizer.encode(prompt, addBOS: true)
        let context = checkpoint.config.maxPositionEmbeddings
        if promptIDs.count + maxTokens > context {
            throw ValidationError("--prompt is \(counted(promptIDs.count, "token")); with --max-tokens \(maxTokens) that exceeds the model's context of \(context) positions")
        }
        let precision = try precisionOptions.spec()
        let (model, streamer) = try ramBudget.loadModel(checkpoint, precision: precision, policy: try offloading.policySpec(),
                                                        capacity: min(promptIDs.count + maxTokens, context), promptTokens: promptIDs.count)
        noteWhenRunAsStored(model, requested: precision)
        let simulator = try offloadingSimulator(model, realSlots: streamer?.slots)
        let session = Session(model: model, capacity: min(promptIDs.count + maxTokens, model.config.maxPositionEmbeddings),
                              observer: simulator.map { simulator in
                                  RoutingRecorder(model: model, lookahead: simulator.policy.lookahead) { simulator.process($0) }
                              })
        var generator = Generator(model: model, sampler: Sampler(temperature: temperature, topK: topK, topP: topP, seed: seed))
        emit(prompt, newline: false)
        // Decode the growing suffix so multi-byte characters split across byte tokens print whole.
        let stopToken = generator.stopToken
        let promptText = tokenizer.decode(promptIDs, skipSpecialTokens: true)
        var produced: [Int] = []
        var printed = ""
        let startup = secondsSinceProcessStart()
        let prefillStart = DispatchTime.now()
        var decodeStart: DispatchTime?
        try diskInput { try generator.generate(prompt: promptIDs, maxTokens: maxTokens, session: session) { token in
            if decodeStart == nil { decodeStart = .now() }
            simulator?.finishForward()
            if token == stopToken { return }
            produced.append(token)
            let text = tokenizer.decode(promptIDs + produced, skipSpecialTokens: true)
            let continuation = String(text.dropFirst(promptText.count))
            if continuation.hasPrefix(printed), !continuation.hasSuffix("\u{FFFD}") {
                emit(String(continuation.dropFirst(printed.count)), newline: false)
                printed = continuation
            }
        } }
        let end = DispatchTime.now().uptimeNanoseconds
        let decodeStarted = (decodeStart ?? .now()).uptimeNanoseconds
        let prefillSeconds = Double(decodeStarted - prefillStart.uptimeNanoseconds) / 1e9
        let decodeSeconds = Double(end - decodeStarted) / 1e9
        // decode steps: every produced token after the first (which the prefill's logits gave)
        let decodeSteps = max(0, produced.count + (produced.count < maxTokens ? 1 : 0) - 1)
        let decodeRate = decodeSeconds > 0 ? Double(decodeSteps) / decodeSeconds : 0
        emit("")
        if let simulator { emit(offloadingSummaryLine(simulator.summary, numExperts: model.config.numExperts)) }
        if let streamer {
            emit(diskSummaryLine(streamer.finish(), numExperts: model.config.numExperts, decodeTokensPerSecond: decodeRate))
        }
        if timing {
            emit(String(format: "timing: prefill %d tokens in %.3f s · decode %d tokens in %.3f s (%.2f tokens/s)",
                        promptIDs.count, prefillSeconds, decodeSteps, decodeSeconds, decodeRate)
                 + (startup.map { String(format: " · start-up %.2f s", $0) } ?? "")
                 + (peakResidentBytes().map { " · peak RSS \(ByteSize.format($0)) (\($0) B)" } ?? ""))
        }
    }

    /// The offloading simulation the flags ask for, fed live from the routing; nil without offloading
    /// flags or with `resident`.
    /// - Throws: `ValidationError` for `optimal` (it needs the whole routing in advance) and bad flags.
    /// - Parameter realSlots: with `--ram-budget`, the real run's slots per layer, simulated too unless a
    ///   cache size is given.
    private func offloadingSimulator(_ model: MixtralModel, realSlots: LayerSlots?) throws -> OffloadingSimulator? {
        let policy = try offloading.policySpec()
        guard offloading.requested, policy != .resident else { return nil }
        guard policy != .optimal else {
            throw ValidationError("--policy optimal needs the whole run's routing in advance, so generate cannot simulate it while streaming; use `mixtral-lab trace --policy optimal`")
        }
        let footprint = ModelFootprint(model: model)
        let cost = CostModel(hardware: try offloading.hardwareProfile(), footprint: footprint)
        let sizeGiven = offloading.cacheExperts != nil || offloading.cacheBytes != nil
        let slots = try realSlots.flatMap { sizeGiven ? nil : $0.counts }
            ?? Array(repeating: offloading.slots(footprint: footprint), count: footprint.numLayers)
        return try offloadingInput { try OffloadingSimulator(policy: policy, slots: slots, cost: cost) }
    }
}

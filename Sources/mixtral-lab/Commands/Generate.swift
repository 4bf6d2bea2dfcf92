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
        Standard output gets the text alone; every statistic (offloading totals, --timing) goes to standard \
        error, so `generate > out.txt` keeps only the text.

        With --policy (other than resident), --cache-experts, --cache-bytes or --hardware, the run's routing also goes \
        through the expert-offloading simulation, and one line of its totals follows on standard error. The \
        text is the same whatever the policy: the model always computes with every weight resident.

        With --ram-budget, the experts really are offloaded: only the non-expert weights are loaded, the \
        experts are read from disk into the expert slots the budget holds, --policy decides which stay, and a \
        line of measured totals (hit rate, bytes read, stall, tokens/s, peak RSS) follows on standard error. \
        A simulated line is added beside it, labelled "for comparison, not this run", only when --hardware, \
        --cache-experts or --cache-bytes asks for one (so too with --mmap-experts). The text is still the same, bit for bit.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var activationOptions: ActivationOptions
    @OptionGroup var precisionOptions: PrecisionOptions
    @OptionGroup var offloading: OffloadingOptions
    @OptionGroup var ramBudget: RAMBudgetOptions
    @OptionGroup var promptOptions: PromptOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(parsing: .unconditional, help: "Most new tokens.") var maxTokens: Int = 100
    @Flag(help: "Print the prefill and decode speed, the start-up time (process start to the first prompt token) and the peak resident set size on standard error after the run.") var timing = false

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        try offloading.checkPrefetchFlagsApply()
    }

    func run() throws { try activationOptions.bound { try runAtActivations() } }

    /// `run` with the products at `--activations`.
    private func runAtActivations() throws {
        let checkpoint = try modelOptions.checkpoint()
        // With experts streamed, start reading the weights that stay resident while the tokenizer is built
        // (on another thread: the advice itself takes a few hundred ms to queue a GB of reads).
        if ramBudget.ramBudget != nil { DispatchQueue.global().async { checkpoint.adviseWillNeedAllButExperts() } }
        try offloading.check(checkpoint.config)
        let tokenizer = try modelOptions.tokenizerIfPresent()
        if tokenizer == nil && promptOptions.tokenIds != nil {
            note("note: \(checkpoint.directory.path) has no tokenizer.json, so the prompt and the new tokens print as token ids, as --token-ids takes them")
        }
        // The printed text of token ids: decoded, or without a tokenizer the ids themselves ("1,2,3").
        let decode: ([Int]) -> String = tokenizer.map { tokenizer in { tokenizer.decode($0, skipSpecialTokens: true) } }
            ?? { $0.map(String.init).joined(separator: ",") }
        let promptIDs = try promptOptions.tokens(tokenizer: tokenizer, checkpoint: checkpoint, maxTokens: maxTokens,
                                                 context: checkpoint.config.maxPositionEmbeddings)
        let precision = precisionOptions.precision
        let policy = offloading.policySpec
        let (model, streamer) = try ramBudget.loadModel(checkpoint, precision: precision, policy: policy,
                                                        capacity: promptIDs.count + maxTokens, promptTokens: promptIDs.count)
        noteWhenRunAsStored(model, precision: precisionOptions)
        let simulator = try offloadingSimulator(model, policy: policy, realSlots: streamer?.slots)
        let session = Session(model: model, capacity: promptIDs.count + maxTokens,
                              observer: simulator.map { simulator in
                                  RoutingRecorder(model: model, lookahead: simulator.policy.lookahead) { simulator.process($0) }
                              })
        var generator = Generator(model: model, sampler: sampling.sampler)
        // Decode the growing suffix so multi-byte characters split across byte tokens print whole.
        let stopToken = generator.stopToken
        let promptText = decode(promptIDs)
        emit(promptOptions.tokenIds == nil ? promptOptions.text : promptText, newline: false)
        var produced: [Int] = []
        var printed = ""
        let startup = secondsSinceProcessStart()
        let prefillStart = DispatchTime.now()
        var decodeStart: DispatchTime?
        try generator.generate(prompt: promptIDs, maxTokens: maxTokens, session: session) { token in
            if decodeStart == nil { decodeStart = .now() }
            simulator?.finishForward()
            if token == stopToken { return }
            produced.append(token)
            let text = decode(promptIDs + produced)
            let continuation = String(text.dropFirst(promptText.count))
            if continuation.hasPrefix(printed), !continuation.hasSuffix("\u{FFFD}") {
                emit(String(continuation.dropFirst(printed.count)), newline: false)
                printed = continuation
            }
        }
        let end = DispatchTime.now().uptimeNanoseconds
        let decodeStarted = (decodeStart ?? .now()).uptimeNanoseconds
        let prefillSeconds = Double(decodeStarted - prefillStart.uptimeNanoseconds) / 1e9
        let decodeSeconds = Double(end - decodeStarted) / 1e9
        // decode steps: every produced token after the first (which the prefill's logits gave)
        let decodeSteps = max(0, produced.count + (produced.count < maxTokens ? 1 : 0) - 1)
        let decodeRate = decodeSeconds > 0 ? Double(decodeSteps) / decodeSeconds : 0
        emit("")
        if let simulator {
            // beside a run whose experts really were read (--ram-budget, --mmap-experts), the simulated line says whose speed it is
            note((streamer == nil && !ramBudget.mmapExperts ? "" : "for comparison, not this run: ") + offloadingSummaryLine(simulator.summary, numExperts: model.config.numExperts))
        }
        if let streamer {
            note(diskSummaryLine(streamer.finish(), numExperts: model.config.numExperts, decodeTokensPerSecond: decodeSteps > 0 ? decodeRate : nil))
        }
        if timing {
            note(String(format: "timing: prefill %d tokens in %.3f s · decode %d tokens in %.3f s (%.2f tokens/s)",
                        promptIDs.count, prefillSeconds, decodeSteps, decodeSeconds, decodeRate)
                 + (startup.map { String(format: " · start-up %.2f s", $0) } ?? "")
                 + (peakResidentBytes().map { " · peak RSS \(ByteSize.format($0)) (\($0) B)" } ?? ""))
        }
    }

    /// The offloading simulation the flags ask for, fed live from the routing; nil without offloading
    /// flags or with `resident`, and in a `--ram-budget` run unless a flag of the simulation's own
    /// (`--hardware`, `--cache-experts`, `--cache-bytes`) asks for it: that run measures its own speed, and
    /// a simulation of the default machine beside it would read as a second, different speed of the same run.
    /// - Throws: `ValidationError` for `optimal` (it needs the whole routing in advance) and bad flags.
    /// - Parameters:
    ///   - policy: `--policy` with its prefetch settings.
    ///   - realSlots: with `--ram-budget`, the real run's slots per layer, simulated too unless a cache size
    ///     is given.
    private func offloadingSimulator(_ model: MixtralModel, policy: PolicySpec, realSlots: LayerSlots?) throws -> OffloadingSimulator? {
        let sizeGiven = offloading.cacheExperts != nil || offloading.cacheBytes != nil
        guard offloading.requested, policy != .resident, realSlots == nil || offloading.hardwareFlag != nil || sizeGiven else { return nil }
        guard policy != .optimal else {
            throw ValidationError("--policy optimal needs the whole run's routing in advance, so generate cannot simulate it while streaming; use `mixtral-lab trace --policy optimal`")
        }
        let footprint = ModelFootprint(model: model)
        let cost = CostModel(hardware: try offloading.hardwareProfile(), footprint: footprint)
        let slots = try realSlots.flatMap { sizeGiven ? nil : $0.counts }
            ?? Array(repeating: offloading.slots(footprint: footprint), count: footprint.numLayers)
        return try OffloadingSimulator(policy: policy, slots: slots, cost: cost)
    }
}

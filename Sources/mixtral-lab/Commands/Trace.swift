import ArgumentParser
import Foundation
import FileChecks
import Checkpoints
import Charts
import Engine
import Offloading
import Tracing

/// `mixtral-lab trace`: run the model once, replay its routing through an expert cache policy on a
/// simulated machine, and write every hit, miss, prefetch and eviction to trace files.
struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate expert offloading on the model's real routing and write traces (JSONL, CSV, Perfetto) and a summary.",
        discussion: """
        The model always computes with every weight resident, so the generated text is the same whatever the \
        policy; the simulation decides what an offloading engine would have hit, fetched and evicted, and what \
        that would cost on --hardware. Writes trace.jsonl, trace.csv, trace.perfetto.json (open in \
        ui.perfetto.dev) and summary.json to --out; --sweep writes sweep.json instead (every policy at cache \
        sizes 1…num_experts on the same routing). --charts DIR draws transfers.png (the first decode steps' \
        timeline) and, with --sweep, hit-rate.png. Schema: docs/trace-format.md. With --ram-budget the run \
        really streams its experts from disk under --policy; the trace then carries the real reads (`real` in \
        trace.jsonl, `real_*` columns in trace.csv) next to the simulated ones, and real-summary.json the totals.
        """)

    static let toolVersion = "mixtral-lab trace, format \(TraceHeader.formatVersion)"

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var precisionOptions: PrecisionOptions
    @OptionGroup var offloading: OffloadingOptions
    @OptionGroup var ramBudget: RAMBudgetOptions
    @OptionGroup var promptOptions: PromptOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(parsing: .unconditional, help: "Most new tokens.") var maxTokens: Int = 32
    @Option(help: "Directory for the trace files (created if missing; must be empty unless --force).") var out: String
    @Flag(help: "Write into a non-empty --out, replacing the earlier run's files there (those listed in its .mixtral-lab-run; other files stay), and overwrite existing files in --charts.") var force = false
    @Flag(help: "Run every policy at cache sizes 1…num_experts on the same routing; write sweep.json.") var sweep = false
    @Option(help: ArgumentHelp("Also draw charts into this folder: transfers.png (the decode timeline), and with --sweep hit-rate.png.", valueName: "dir"))
    var charts: String?

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        // --sweep runs lru+prefetch among the other policies, with --prefetch and --lookahead.
        if !sweep { try offloading.checkPrefetchFlagsApply() }
    }

    func run() throws {
        let checkpoint = try modelOptions.checkpoint()
        try offloading.check(checkpoint.config)
        let tokenizer = try modelOptions.tokenizerIfPresent()
        let policy = offloading.policySpec
        let hardware = try offloading.hardwareProfile()
        let promptIDs = try promptOptions.tokens(tokenizer: tokenizer, checkpoint: checkpoint, maxTokens: maxTokens,
                                                 context: checkpoint.config.maxPositionEmbeddings)
        let precision = precisionOptions.precision
        let (model, streamer) = try ramBudget.loadModel(checkpoint, precision: precision, policy: policy,
                                                        capacity: promptIDs.count + maxTokens, promptTokens: promptIDs.count)
        noteWhenRunAsStored(model, precision: precisionOptions)
        let footprint = ModelFootprint(model: model)
        let cost = CostModel(hardware: hardware, footprint: footprint)
        if !sweep { try OffloadingSimulator.check(policy, runsOn: cost) }
        // --out holds one run's files: a folder with files in it is refused before the run; --force
        // replaces the earlier run's files (those its run manifest lists), other files stay.
        let directory = URL(fileURLWithPath: out)
        try createOutputFolder(directory, flag: "--out", force: force, requireEmpty: true)
        let chartDirectory = charts.map { URL(fileURLWithPath: $0) }
        let chartFiles = (sweep ? ["hit-rate.png", "transfers.png"] : ["transfers.png"]).compactMap { chartDirectory?.appendingPathComponent($0) }
        if let chartDirectory {
            try createOutputFolder(chartDirectory, flag: "--charts", force: force)
        }
        let lookahead = sweep ? offloading.lookahead : policy.lookahead
        var realSteps: [(layer: Int, position: Int, reads: RealReads)] = []
        streamer?.onStep = { layer, _, position, reads in realSteps.append((layer, position, reads)) }
        let started = DispatchTime.now()
        let run = try RecordedRun.record(model: model, prompt: promptIDs, maxTokens: maxTokens,
                                         sampler: sampling.sampler, lookahead: lookahead)
        let runSeconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        var real = streamer?.finish()
        real?.setDecode(tokens: run.decodeTiming.tokens, seconds: run.decodeTiming.seconds)
        let text: (Int) -> String = { id in tokenizer?.decode([id]) ?? "⟨\(id)⟩" }
        // the simulation gets the real run's slots unless a cache size is given
        let sizeGiven = offloading.cacheExperts != nil || offloading.cacheBytes != nil
        let slots = try streamer.flatMap { sizeGiven ? nil : $0.slots.counts }
            ?? Array(repeating: offloading.slots(footprint: footprint), count: footprint.numLayers)
        let capacities = slots.map { policy.capacity(cacheExperts: $0, numExperts: footprint.numExperts) }
        let header = TraceHeader(
            model: checkpoint.directory.lastPathComponent, precision: precisionOptions.running(model).description,
            policy: policy.description, cacheExperts: capacities.min() ?? 0, cacheBytes: footprint.cacheBytes(slots: capacities),
            hardware: hardware.name, prompt: promptOptions.tokenIds == nil ? promptOptions.text : "", promptTokens: promptIDs, seed: sampling.seed,
            toolVersion: Self.toolVersion, numLayers: footprint.numLayers, numExperts: footprint.numExperts,
            topK: footprint.topK, assumptions: cost.assumptions)

        if sweep {
            try refuseToOverwrite([directory.appendingPathComponent("sweep.json")], charts: chartFiles)
            let results = try writeSweep(run: run, cost: cost, directory: directory)
            if let real { emit(realRunLine(real, numExperts: footprint.numExperts, tokens: run.forwards.count, seconds: runSeconds)) }
            if let chartDirectory {
                try writeChart(hitRateChart(results, source: directory.appendingPathComponent("sweep.json").path,
                                            model: header.model, precision: header.precision),
                               file: "hit-rate.png", in: chartDirectory, force: force)
                // The timeline of --policy at --cache-experts on the same routing.
                let records = CollectingTraceSink()
                _ = try run.simulate(policy: policy, slots: slots, cost: cost, sinks: [records], tokenText: text)
                try writeChart(transferTimelineChart(header: header, layers: records.layers, source: checkpoint.directory.path),
                               file: "transfers.png", in: chartDirectory, force: force)
            }
            return
        }
        let files = ["trace.jsonl", "trace.csv", "trace.perfetto.json", "summary.json"].map { directory.appendingPathComponent($0) }
        try refuseToOverwrite(files, charts: chartFiles)
        let records = CollectingTraceSink()
        let sinks: [TraceSink] = [
            try JSONLTraceWriter(url: files[0], header: header, overwrite: force),
            try CSVTraceWriter(url: files[1], overwrite: force),
            try PerfettoTraceWriter(url: files[2], header: header, overwrite: force),
        ]
        // a real run's reads go next to the simulated records of the same routing
        let annotator = RealReadsAnnotator(sinks: sinks + (charts == nil ? [] : [records]))
        for step in realSteps { annotator.add(layer: step.layer, firstPosition: step.position, reads: step.reads) }
        let summary = try run.simulate(policy: policy, slots: slots, cost: cost, sinks: [annotator], tokenText: text)
        for sink in sinks { try sink.close() }
        try writeSnakeCaseJSON(summary, to: files[3])
        if let real { try writeSnakeCaseJSON(real, to: directory.appendingPathComponent("real-summary.json")) }

        emit("generated: " + (tokenizer?.decode(run.forwards.map(\.next.id), skipSpecialTokens: true) ?? run.forwards.map { "\($0.next.id)" }.joined(separator: ",")))
        emit("")
        printSummary(summary, footprint: footprint)
        emit("")
        if let real {
            emit(realRunLine(real, numExperts: footprint.numExperts, tokens: run.forwards.count, seconds: runSeconds))
            emit(predictedAgainstMeasured(summary, real))
            if hardware.measured == nil {
                emit("  (--hardware \(hardware.name) is not this machine: `mixtral-lab hardware probe --out FILE` measures it for --hardware FILE)")
            }
            emit("")
        }
        emit("wrote " + (files + (real == nil ? [] : [directory.appendingPathComponent("real-summary.json")])).map(\.path).joined(separator: ", "))
        if let chartDirectory {
            try writeChart(transferTimelineChart(header: header, layers: records.layers, source: files[0].path),
                           file: "transfers.png", in: chartDirectory, force: force)
        }
    }

    /// The real run's totals (`--ram-budget`): the measured decode speed (the one the simulation's
    /// estimate predicts), then the whole run's tokens/s, prefill included.
    private func realRunLine(_ real: DiskOffloadingSummary, numExperts: Int, tokens: Int, seconds: Double) -> String {
        diskSummaryLine(real, numExperts: numExperts, decodeTokensPerSecond: real.decodeTokens > 0 ? real.decodeTokensPerSecond : nil)
            + String(format: " · %d tokens in %.2f s (%.2f tokens/s, prefill included)", tokens, seconds, Double(tokens) / max(seconds, 1e-9))
    }

    /// The simulated decode speed on --hardware beside the one measured in this run.
    private func predictedAgainstMeasured(_ simulated: OffloadingSummary, _ real: DiskOffloadingSummary) -> String {
        guard real.decodeTokens > 0 else { return "decode tokens/s: no decode step (one token, from the prompt's forward call): nothing to predict or measure" }
        let ratio = simulated.tokensPerSecondEst > 0 ? real.decodeTokensPerSecond / simulated.tokensPerSecondEst : 0
        return String(format: "decode tokens/s: predicted %.2f (simulated on ", simulated.tokensPerSecondEst) + simulated.hardware
            + String(format: "), measured %.2f (measured / predicted %.2f); hits %d / %d, misses %d / %d (simulated / real)",
                     real.decodeTokensPerSecond, ratio, simulated.hits, real.hits, simulated.misses, real.misses)
    }

    /// Stops before any work when an output file exists and `--force` was not given, or is not a regular
    /// file (`outputFileRefusal`).
    private func refuseToOverwrite(_ files: [URL], charts: [URL]) throws {
        for file in files + charts {
            if let refusal = outputFileRefusal(file.path, overwrite: force) { throw ValidationError("\(file.path) \(refusal)") }
        }
    }

    /// Writes and prints the sweep; returns its summaries.
    private func writeSweep(run: RecordedRun, cost: CostModel, directory: URL) throws -> [OffloadingSummary] {
        let file = directory.appendingPathComponent("sweep.json")
        let numExperts = cost.footprint.numExperts
        var results = try run.sweep(policies: [.resident], cacheSizes: [numExperts], cost: cost)
        let others = PolicySpec.all(prefetch: offloading.prefetchSettings).filter { $0 != .resident }
        results += try run.sweep(policies: others, cacheSizes: Array(1...numExperts), cost: cost)
        try writeSnakeCaseJSON(results, to: file)
        emit(padColumn("policy", 13) + " " + padColumn("slots", 5, right: true) + " " + padColumn("hit rate", 9, right: true) + " "
             + padColumn("decode rate", 11, right: true) + " " + padColumn("bytes moved", 12, right: true) + " "
             + padColumn("stall ms", 10, right: true) + " " + padColumn("est. tok/s", 11, right: true))
        for r in results {
            emit(padColumn(r.policy, 13) + " " + padColumn("\(r.cacheExperts)", 5, right: true) + " "
                 + padColumn(String(format: "%.3f", r.hitRate), 9, right: true) + " "
                 + padColumn(r.decodeAccesses > 0 ? String(format: "%.3f", r.decodeHitRate) : "–", 11, right: true) + " "
                 + padColumn(ByteSize.format(r.bytesTransferred), 12, right: true) + " "
                 + padColumn(String(format: "%.3f", r.stallUs / 1000), 10, right: true) + " "
                 + padColumn(String(format: "%.2f", r.tokensPerSecondEst), 11, right: true))
        }
        emit("")
        emit("\(counted(run.forwards.count, "token")) (\(run.prompt.count)-token prompt), routing recorded once and replayed through every policy")
        emit("hit rate: every token's expert uses served from a slot; decode rate: the same over decoded tokens only. A used prefetch counts as a hit, so lru+prefetch can pass optimal (Belady's fewest misses of a demand cache, which prefetches nothing)")
        emit("assumptions:")
        for line in cost.assumptions { emit("  - " + line) }
        emit("")
        emit("wrote " + file.path)
        return results
    }

    private func printSummary(_ s: OffloadingSummary, footprint: ModelFootprint) {
        let rows: [(String, String)] = [
            ("policy", s.policy),
            ("cache", slotsText(s.cacheExperts, extraSlotLayers: s.extraSlotLayers, numExperts: footprint.numExperts)
                + ", \(ByteSize.format(s.cacheBytes)) over \(footprint.numLayers) layers"),
            ("hardware", s.hardware),
            ("accesses", "\(s.accesses) (hits \(s.hits), misses \(s.misses))"),
            ("hit rate", hitRateText(s.hitRate, decodeHitRate: s.decodeHitRate, decodeAccesses: s.decodeAccesses)),
            ("transient", "\(s.transientMisses) misses read through the transient buffer"),
            ("prefetched", "\(s.prefetched) (used \(s.prefetchHits), of them late \(s.prefetchesLate); wasted \(s.prefetchWasted), cancelled \(s.prefetchCancelled), not read \(s.prefetchesNotRead))"),
            ("evictions", "\(s.evictions)"),
            ("bytes moved", "\(ByteSize.format(s.bytesTransferred)) (\(s.bytesTransferred) B)"),
            ("stall", String(format: "%.1f µs (decode %.1f µs)", s.stallUs, s.decodeStallUs)),
            ("prefill", String(format: "%.1f µs", s.prefillUs)),
            ("decode", String(format: "%d tokens in %.1f µs → est. %.2f tokens/s", s.decodeTokens, s.decodeUs, s.tokensPerSecondEst)),
        ]
        for (name, value) in rows { emit(padColumn(name, 12) + " " + value) }
        emit("assumptions:")
        for line in s.assumptions { emit("  - " + line) }
    }
}

import Foundation
import Checkpoints
import Engine
import Offloading
import Charts
import Reports

/// Lesson 9's experiment: Mixtral-8x7B's full size beside llama.cpp. It always shows the committed
/// measurements of `tools/bench_full_size.py` (a JSON file in the repository, labelled with its machine,
/// date and command) and derives from them bytes read per token and the disk-bound prediction; with
/// `lesson run 9 --model FILE` (any model but the default one) it also runs that model live — under
/// `--ram-budget` when given — and reports the same figures for this machine.
struct FullSizeExperiment: Experiment {
    static let name = "full-size"
    static let summary = "Committed full-size measurements (mixtral-lab beside llama.cpp under memory budgets) and, with --model, a live run."
    /// Only its live run (`lesson run 9 --model FILE`) loads a model, at `--precision`.
    static let modelUse: ModelUse = [.loadsModel, .runPrecision, .offTheDefaultModelOnly]
    static let parameters = [
        ParameterSpec("measurements", .text, "the benchmark's JSON, relative to the repository", default: "docs/benchmarks/full-size.json"),
        ParameterSpec("prompt", .text, "live run: text to continue",
                      default: "The old lighthouse keeper climbed the spiral stairs each evening at dusk, counting the steps aloud."),
        ParameterSpec("max_tokens", .int, "live run: tokens sampled after the prompt (temperature 1)", default: 8),
        ParameterSpec("seed", .int, "live run: sampling seed", default: 7),
    ]
    struct Result: Codable {
        /// One engine's run at one budget: prefill and decode tokens/s, GB read per token and in all, peak RSS
        /// (GiB), hit rates, expert slots per layer, start-up, wall, and the prefill's time, read time and wait (s).
        struct Figures: Codable {
            let prefillTps: Double
            let decodeTps: Double
            let readPerTokenGB: Double
            let readGB: Double
            let peakRssGiB: Double
            let hitRate: Double
            let decodeHitRate: Double
            let slots: Int
            let startupS: Double
            let wallS: Double
            let prefillS: Double
            let prefillReadS: Double
            let prefillWaitS: Double

            enum CodingKeys: String, CodingKey {
                case prefillTps = "prefill_tps", decodeTps = "decode_tps", readPerTokenGB = "read_per_token_gb", readGB = "read_gb",
                     peakRssGiB = "peak_rss_gib", hitRate = "hit_rate", decodeHitRate = "decode_hit_rate", slots, startupS = "startup_s",
                     wallS = "wall_s", prefillS = "prefill_s", prefillReadS = "prefill_read_s", prefillWaitS = "prefill_wait_s"
            }
        }

        /// Both engines at one budget, their ratios (ours ÷ llama.cpp), where each one's bytes went (in words), and
        /// the disk-bound prediction for mixtral-lab: expert reads per decoded token (demand misses + prefetches),
        /// the read rate (GB/s), the predicted read time and bytes per token, its inverse, and its share of the
        /// measured time per token with what that share means.
        struct Budget: Codable {
            let budgetGiB: Double
            let ours: Figures?
            let llama: Figures?
            /// Ours ÷ llama.cpp in the budget's median runs (`medianRun`).
            let decodeRatio: Double
            let prefillRatio: Double
            /// Ours ÷ llama.cpp in every run at the budget, in the order they ran ("1.42×, 1.92× and 2.08×").
            let decodeRatios: String
            let prefillRatios: String
            let accounting: String
            let prefillSentence: String
            /// The engine's read, wait and compute times per decoded token, in words.
            let decodeSentence: String
            let llamaAccounting: String
            /// mixtral-lab with `--mmap-experts` (its kernels, the page cache as the only cache) against
            /// llama.cpp and against the expert cache, in words; empty when the benchmark did not run it.
            let mmapSentence: String
            let missesPerToken: Double
            let prefetchesPerToken: Double
            let readsPerToken: Double
            let readGbps: Double
            let predictedReadPerTokenGB: Double
            let predictedReadS: Double
            let predictedTps: Double
            let measuredReadShare: Double
            let shareSentence: String

            enum CodingKeys: String, CodingKey {
                case budgetGiB = "budget_gib", ours, llama, decodeRatio = "decode_ratio", prefillRatio = "prefill_ratio",
                     decodeRatios = "decode_ratios", prefillRatios = "prefill_ratios", accounting,
                     prefillSentence = "prefill_sentence", decodeSentence = "decode_sentence", llamaAccounting = "llama_accounting", mmapSentence = "mmap_sentence", missesPerToken = "misses_per_token",
                     prefetchesPerToken = "prefetches_per_token", readsPerToken = "reads_per_token", readGbps = "read_gbps",
                     predictedReadPerTokenGB = "predicted_read_per_token_gb", predictedReadS = "predicted_read_s",
                     predictedTps = "predicted_tps", measuredReadShare = "measured_read_share", shareSentence = "share_sentence"
            }
        }

        /// Where the measurements come from, in words (command, machine, date, load).
        let source: String
        let machine: String
        let date: String
        let command: String
        /// The file's size (GB), one expert's bytes, layers, experts per token and per layer, tokens decoded per run.
        let modelGB: Double
        let expertBytes: Int
        let layers: Int
        let topK: Int
        let experts: Int
        let decodeTokens: Int
        /// One token's experts when none is cached.
        let allMissBytes: Int
        /// The resident tensors and their cold read (s); the disk rate that gives (GB/s).
        let residentBytes: Int
        let residentReadS: Double
        let diskGbps: Double
        /// Markdown: every run.
        let table: String
        /// The spread between the runs of one budget, in words (the noise to read every ratio against).
        let noise: String
        /// The question the `--mmap-experts` runs answer (`Budget.mmapSentence`), or "" without them.
        let cacheOrKernels: String
        /// The smallest and the largest budget.
        let low: Budget?
        let high: Budget?
        /// mixtral-lab's fastest start-up over the runs (s).
        let startupS: Double
        /// Markdown about the live run, or how to make one.
        let live: String
        let chartFullSizeDecode: ChartFile

        enum CodingKeys: String, CodingKey {
            case source, machine, date, command, modelGB = "model_gb", expertBytes = "expert_bytes", layers, topK = "top_k", experts,
                 decodeTokens = "decode_tokens", allMissBytes = "all_miss_bytes", residentBytes = "resident_bytes",
                 residentReadS = "resident_read_s", diskGbps = "disk_gbps", table, noise, cacheOrKernels = "cache_or_kernels", low, high, startupS = "startup_s", live,
                 chartFullSizeDecode = "chart_full_size_decode"
        }
    }

    let measurementsPath: String
    let prompt: String
    let maxTokens: Int
    let seed: Int

    init(_ parameters: ExperimentParameters) throws {
        measurementsPath = parameters.text("measurements")
        prompt = parameters.text("prompt")
        maxTokens = parameters.int("max_tokens")
        seed = parameters.int("seed")
        guard maxTokens >= 2 else { throw ExperimentParameterError.invalid("max_tokens", reason: "must be at least 2") }
        guard seed >= 0 else { throw ExperimentParameterError.invalid("seed", reason: "must be ≥ 0") }
    }

    func run(in lab: LabContext) throws -> Result {
        let url = try ProjectFiles.locate(measurementsPath)
        let bench: FullSizeBenchmark
        do {
            bench = try JSONDecoder().decode(FullSizeBenchmark.self, from: Data(contentsOf: url))
        } catch {
            throw ExperimentParameterError.invalid("measurements", reason: "\(url.path) is not tools/bench_full_size.py's JSON: \(error)")
        }
        let liveText = Self.modelUse.inRun(onDefaultModel: DefaultModel.isDefault(lab.checkpoint.directory)).contains(.loadsModel)
            ? try live(lab, bench: bench) : Self.howToRunLive
        // every run: a budget run k times has k pairs of bars, in the order they ran
        let budgets = Set(bench.results.map(\.budget_gib)).sorted()
        let runs = budgets.flatMap { b in bench.pairs(at: b).enumerated().map { (budget: b, k: $0.offset, count: bench.pairs(at: b).count, pair: $0.element) } }
        let mmapSeries = bench.results.contains { $0.engine == FullSizeBenchmark.mmapEngine }
            ? [BarSeries(name: "mixtral-lab (--mmap-experts, page cache)", values: runs.map { $0.pair.mmap?.decode_tok_s ?? 0 })] : []
        let chart = GroupedBarChart(
            metadata: lab.metadata(title: "Decode speed of a 26 GB Mixtral-8x7B-shaped file, held to less memory",
                                   description: "tools/bench_full_size.py on \(bench.machine), \(bench.date): tokens/s sampled after the prompt, each engine in a memory cgroup of the budget, page cache dropped before each run; every run, a budget's runs in the order they ran."),
            categories: runs.map { $0.count > 1 ? String(format: "%g GiB, run %d", $0.budget, $0.k + 1) : String(format: "%g GiB", $0.budget) },
            series: [BarSeries(name: "llama.cpp (mmap, page cache)", values: runs.map { $0.pair.llama?.decode_tok_s ?? 0 }),
                     BarSeries(name: "mixtral-lab (--ram-budget, expert cache)", values: runs.map { $0.pair.ours?.decode_tok_s ?? 0 })] + mmapSeries,
            xLabel: "machine memory (cgroup limit)", yLabel: "decode tokens/s")
        return bench.result(live: liveText, chart: try lab.write(chart, file: "full-size-decode.png",
                                                                 caption: "Decode tokens/s of the engines per memory budget, every run"))
    }

    static let howToRunLive = """
        This report ran on the default model, so the figures above are the committed ones. To measure this \
        machine, make the file (`tools/make_full_size_model.py FILE`, 26 GB: 2 minutes on a quiet 2-core machine, 30 on a busy one) — or take a real \
        Mixtral-8x7B GGUF or an Ollama blob — and run `mixtral-lab lesson run 9 --model FILE --ram-budget 12GiB`.
        """

    /// What ran, in words: the model's precision spec, or with streamed experts (whose precision the model
    /// cannot tell) the attention's format and the experts' as read — "attention q4, experts q4_0 as stored",
    /// not the --precision asked for, which a quantized GGUF does not follow.
    static func weightsAsRun(_ model: MixtralModel) -> String {
        if let held = model.heldPrecision() { return "\(held)" }
        let attention = model.layers.first.map { $0.attention.q.formatName } ?? "?"
        guard let disk = model.layers.first?.expertProvider as? DiskExpertProvider else { return "attention \(attention)" }
        return "attention \(attention), experts \(disk.source.layout.formatNames) as stored"
    }

    /// Runs the lab's model on `prompt` and `maxTokens` sampled tokens; Markdown with its figures.
    private func live(_ lab: LabContext, bench: FullSizeBenchmark) throws -> String {
        let started = DispatchTime.now().uptimeNanoseconds
        let model = try lab.model(lab.basePrecision)
        let loaded = DispatchTime.now().uptimeNanoseconds
        let ids = lab.tokenizer.encode(prompt, addBOS: true)
        let session = Session(model: model, capacity: ids.count + maxTokens)
        lab.progress("prefill of \(counted(ids.count, "token")), then \(counted(maxTokens, "token")) sampled")
        var logits = try model.forward(ids, session: session)
        let prefilled = DispatchTime.now().uptimeNanoseconds
        var sampler = Sampler(temperature: 1, seed: UInt64(seed))
        for _ in 0..<maxTokens { logits = try model.forward([sampler.next(logits: logits[...])], session: session) }
        let decoded = DispatchTime.now().uptimeNanoseconds
        func seconds(_ a: UInt64, _ b: UInt64) -> Double { Double(b - a) / 1e9 }
        let decodeRate = Double(maxTokens) / seconds(prefilled, decoded)
        var lines = [
            "Measured just now on \(lab.checkpoint.directory.lastPathComponent) (\(Self.weightsAsRun(model))): loading took "
                + String(format: "%.1f s, prefill of %@ %@ tokens/s, decode %@ tokens/s over %@ sampled at temperature 1.",
                         seconds(started, loaded), counted(ids.count, "token"), FullSizeBenchmark.threeDigits(Double(ids.count) / seconds(loaded, prefilled)),
                         FullSizeBenchmark.threeDigits(decodeRate), counted(maxTokens, "token")),
        ]
        if let disk = model.layers.first?.expertProvider as? DiskExpertProvider {
            let s = disk.finish()
            let c = model.config
            // per decoded token: the demand misses and every decode step's prefetch read (a prefetch hit counts as a
            // hit, but was read)
            let prefetchReads = s.prefetched - s.prefillPrefetched - s.prefetchesNotRead
            let readsPerToken = Double(s.decodeMisses + prefetchReads) / Double(maxTokens)
            let readPerToken = readsPerToken * Double(disk.slotBytes)
            lines.append("The experts streamed under the budget: \(s.slotsPerLayer) of \(c.numExperts) per layer in RAM, decode hit rate "
                + String(format: "%.1f %%. ", s.decodeHitRate * 100)
                + "The prefill read \(formatBytes(Double(s.prefillBytesRead))) of experts; each decoded token read "
                + String(format: "%.1f experts (%@): %.1f demand misses and %.1f prefetches (%d of the run's %d prefetches were used). ",
                         readsPerToken, formatBytes(readPerToken), Double(s.decodeMisses) / Double(maxTokens),
                         Double(prefetchReads) / Double(maxTokens), s.prefetchHits, s.prefetched - s.prefetchesNotRead)
                + String(format: "The reads ran at %.0f MiB/s, which alone would allow %@ tokens/s against the %@ measured. ",
                         s.readBytesPerSecond / 1_048_576,
                         FullSizeBenchmark.threeDigits(s.readBytesPerSecond > 0 && readPerToken > 0 ? s.readBytesPerSecond / readPerToken : 0),
                         FullSizeBenchmark.threeDigits(decodeRate))
                + "The closing section of this report has the run's totals.")
        } else if model.layers.first?.expertProvider is MappedExperts {
            lines.append("The experts were computed straight from the mapped file (`--mmap-experts`): the page cache alone decided what "
                + "stayed in memory, and each expert's pages were read from the disk when a product first touched them.")
        } else {
            lines.append("Every expert was resident (no `--ram-budget`), so nothing was read from disk after loading.")
        }
        return lines.joined(separator: "\n\n")
    }
}

/// `tools/bench_full_size.py --json`: one run of both engines at each budget.
struct FullSizeBenchmark: Decodable {
    struct Run: Decodable {
        let engine: String
        let budget_gib: Double
        let command: String
        let status: Int
        let wall_s: Double
        let bytes_read: Int
        let peak_rss: Int
        let load: Double
        let prompt_tokens: Int?
        let prefill_tok_s: Double?
        let decode_tokens: Int?
        let decode_tok_s: Double?
        let slots_per_layer: Int?
        // the layers the rest of the budget gives one slot more, e.g. "0–30" (absent in older measurements)
        let extra_slot_layers: String?
        let hit_rate: Double?
        let decode_hit_rate: Double?
        let stall_s: Double?
        let startup_s: Double?
        // mixtral-lab's own count of its expert reads (absent from measurements made before they were recorded)
        let expert_bytes_read: Int?
        let prefill_bytes_read: Int?
        let demand_reads: Int?
        let prefetch_reads: Int?
        /// The prefill's share of `prefetch_reads` (absent before the prefill prefetched).
        let prefill_prefetch_reads: Int?
        /// The disk's speed measured just before the run (`disk_probe`: 512 MiB read with O_DIRECT), bytes/s;
        /// absent in runs before it was measured.
        let disk_probe_bytes_s: Double?
        let prefetch_used: Int?
        let prefill_s: Double?
        let prefill_read_s: Double?
        let prefill_wait_s: Double?
        /// The decode steps' expert reads (I/O thread time) and the layers' wait for reads, seconds.
        let decode_read_s: Double?
        let decode_wait_s: Double?
        let ram_budget_bytes: Int?
    }

    let model: String
    let machine: String
    let date: String
    let bench_command: String
    /// What the recorded commands say instead of the measuring machine's paths ("FILE": "the GGUF file …");
    /// absent in measurements made before.
    let placeholders: [String: String]?
    let file_bytes: Int
    let expert_bytes: Int
    let layers: Int
    let experts: Int
    let top_k: Int
    let threads: Int
    let decode_tokens: Int
    let resident_bytes: Int
    let resident_read_s: Double
    /// How the run differs from the plain command, when it does (printed with the source).
    let note: String?
    let results: [Run]

    /// Disk read bandwidth, bytes per second: the resident tensors read cold.
    var diskBytesPerSecond: Double { Double(resident_bytes) / resident_read_s }

    /// The lesson's figures from these measurements, with the live run's text and the chart.
    func result(live: String, chart: ChartFile) -> FullSizeExperiment.Result {
        let gib = Double(1 << 30)
        let words = Set(bench_command.split(whereSeparator: { $0 == " " || $0 == "/" }).map(String.init))
        let used = (placeholders ?? [:]).filter { words.contains($0.key) }.sorted { $0.key < $1.key }
        let legend = used.isEmpty ? "" : " (" + used.map { "\($0.key): \($0.value)" }.joined(separator: "; ") + ")"
        let source = "Measured by `\(bench_command)`\(legend) on \(machine), \(date) (\(threads) threads, \(decode_tokens) tokens sampled after the prompt; "
                + String(format: "load average %.1f–%.1f at the runs' starts; one run per row).",
                         results.map(\.load).min() ?? 0, results.map(\.load).max() ?? 0)
                + (note.map { " " + $0 } ?? "")
        var table = MarkdownTable(["machine memory", "engine", "prefill tok/s", "decode tok/s", "read from disk", "read per token", "peak RSS", "experts/layer", "hit rate (decode)", "disk just before"])
        for run in results {
            let ours = run.engine == "mixtral-lab"
            let tokens = (run.prompt_tokens ?? 0) + (run.decode_tokens ?? 0)
            table.rows.append([
                String(format: "%g GiB", run.budget_gib), run.engine,
                run.prefill_tok_s.map(Self.threeDigits) ?? "failed",
                run.decode_tok_s.map(Self.threeDigits) ?? "failed",
                String(format: "%.1f GB", Double(run.bytes_read) / 1e9),
                tokens > 0 ? String(format: "%.2f GB", Double(run.bytes_read) / Double(tokens) / 1e9) : "—",
                String(format: "%.2f GiB", Double(run.peak_rss) / gib)
                    + (run.ram_budget_bytes.map { budget in
                        let over = Double(run.peak_rss - budget) / 1_048_576
                        return String(format: over < 0 ? " (budget − %.0f MiB)" : " (budget + %.0f MiB)", abs(over))
                    } ?? ""),
                ours ? run.slots_per_layer.map { slots in
                    "\(slots) of \(experts)" + (run.extra_slot_layers.map { ", \(slots + 1) in layers \($0)" } ?? "")
                } ?? "—" : "page cache",
                ours ? run.hit_rate.map { String(format: "%.3f (%.3f)", $0, run.decode_hit_rate ?? 0) } ?? "—" : "—",
                run.disk_probe_bytes_s.map { String(format: "%.0f MB/s", $0 / 1e6) } ?? "—",
            ])
        }
        let budgets = Set(results.map(\.budget_gib)).sorted()
        return FullSizeExperiment.Result(
            source: source, machine: machine, date: date, command: bench_command, modelGB: Double(file_bytes) / 1e9,
            expertBytes: expert_bytes, layers: layers, topK: top_k, experts: experts, decodeTokens: decode_tokens,
            allMissBytes: layers * top_k * expert_bytes, residentBytes: resident_bytes, residentReadS: resident_read_s,
            diskGbps: diskBytesPerSecond / 1e9, table: table.description, noise: noise(budgets),
            cacheOrKernels: results.contains { $0.engine == Self.mmapEngine } ? "What does the expert cache itself add? The control runs tell part of it." : "",
            low: budgets.first.map(atBudget),
            high: budgets.last.map(atBudget), startupS: results.compactMap(\.startup_s).min() ?? 0, live: live,
            chartFullSizeDecode: chart)
    }

    /// The engine name of mixtral-lab's `--mmap-experts` runs (`bench_full_size.py --mmap-experts`).
    static let mmapEngine = "mixtral-lab mmap"

    /// The runs at `budget` paired in the order they ran: the k-th run of each engine at that budget (one
    /// round of the benchmark runs every engine once per budget).
    func pairs(at budget: Double) -> [(ours: Run?, llama: Run?, mmap: Run?)] {
        let runs = ["mixtral-lab", "llama.cpp", Self.mmapEngine].map { engine in results.filter { $0.budget_gib == budget && $0.engine == engine } }
        func kth(_ engine: Int, _ k: Int) -> Run? { k < runs[engine].count ? runs[engine][k] : nil }
        return (0..<max(runs[0].count, runs[1].count)).map { k in (kth(0, k), kth(1, k), kth(2, k)) }
    }

    /// For every budget run more than once, each engine's decode and prefill speeds from slowest to fastest
    /// and that spread in percent of the slowest, in words; or that every budget ran once.
    func noise(_ budgets: [Double]) -> String {
        var parts: [String] = []
        for budget in budgets where pairs(at: budget).count > 1 {
            for engine in ["mixtral-lab", "llama.cpp", Self.mmapEngine] {
                let runs = results.filter { $0.budget_gib == budget && $0.engine == engine }
                func range(_ values: [Double], _ what: String) -> String? {
                    guard let low = values.min(), let high = values.max(), low > 0 else { return nil }
                    return "\(what) \(Self.threeDigits(low))–\(Self.threeDigits(high)) tok/s (\(String(format: "%.0f", (high / low - 1) * 100)) % apart)"
                }
                let ranges = [range(runs.compactMap(\.decode_tok_s), "decode"), range(runs.compactMap(\.prefill_tok_s), "prefill")].compactMap { $0 }
                if !ranges.isEmpty { parts.append("\(engine) at \(String(format: "%g", budget)) GiB over \(runs.count) runs: " + ranges.joined(separator: ", ")) }
            }
        }
        return parts.isEmpty ? "Every budget ran once, so these rows show no spread to judge the noise by; a rerun minutes later can differ by tens of percent (the disk's speed changes)."
            : "The same command, rerun minutes apart, gave " + parts.joined(separator: "; ") + ". That spread is the noise — unless the source note above gives a spread a measured cause — and a difference smaller than it is not a result."
    }

    /// Ratios in the order they ran: "1.42×", "1.42× and 1.92×", "1.42×, 1.92× and 2.08×".
    static func ratioList(_ ratios: [Double]) -> String {
        let texts = ratios.map { String(format: "%.2f×", $0) }
        guard texts.count > 1 else { return texts.first ?? "—" }
        return texts.dropLast().joined(separator: ", ") + " and " + texts.last!
    }

    /// A speed with three significant digits, trailing zeros kept and never an exponent (0.0711, 1.60, 12.0,
    /// 1230): the runs' speeds span two orders of magnitude, and `1.6` beside `1.94` reads as a rougher figure.
    static func threeDigits(_ value: Double) -> String {
        guard value.isFinite, value != 0 else { return String(format: "%g", value) }
        let rounded = Double(String(format: "%.3g", value))!   // 9.996 → 10.0: the digits after rounding count
        return String(format: "%.*f", max(0, 2 - Int(log10(abs(rounded)).rounded(.down))), rounded)
    }

    /// The budget's representative run of `engine`: the one with the median decode speed (of an even
    /// count, the slower middle one), so that one slow or fast run does not speak for the budget.
    func medianRun(_ engine: String, at budget: Double) -> Run? {
        let runs = results.filter { $0.budget_gib == budget && $0.engine == engine }
            .sorted { ($0.decode_tok_s ?? 0) < ($1.decode_tok_s ?? 0) }
        return runs.isEmpty ? nil : runs[(runs.count - 1) / 2]
    }

    /// Both engines' figures at one budget, their ratios and the disk-bound prediction for mixtral-lab.
    private func atBudget(_ budget: Double) -> FullSizeExperiment.Result.Budget {
        let gib = Double(1 << 30)
        func figures(_ run: Run) -> FullSizeExperiment.Result.Figures {
            let tokens = Double((run.prompt_tokens ?? 0) + (run.decode_tokens ?? 0))
            return .init(prefillTps: run.prefill_tok_s ?? 0, decodeTps: run.decode_tok_s ?? 0,
                         readPerTokenGB: tokens > 0 ? Double(run.bytes_read) / tokens / 1e9 : 0,
                         readGB: Double(run.bytes_read) / 1e9, peakRssGiB: Double(run.peak_rss) / gib,
                         hitRate: run.hit_rate ?? 0, decodeHitRate: run.decode_hit_rate ?? 0,
                         slots: run.slots_per_layer ?? 0, startupS: run.startup_s ?? 0, wallS: run.wall_s,
                         prefillS: run.prefill_s ?? 0, prefillReadS: run.prefill_read_s ?? 0, prefillWaitS: run.prefill_wait_s ?? 0)
        }
        let ours = medianRun("mixtral-lab", at: budget), llama = medianRun("llama.cpp", at: budget)
        func ratio(_ a: Double?, _ b: Double?) -> Double { (a ?? 0) > 0 && (b ?? 0) > 0 ? a! / b! : 0 }
        let prefillSentence = ours.flatMap { run -> String? in
            guard let total = run.prefill_s, let read = run.prefill_read_s, let wait = run.prefill_wait_s else { return nil }
            return String(format: "At %g GiB its prefill took %.1f s: the I/O thread read experts for %.1f s of it, and the "
                          + "layers waited %.1f s for reads, so about %.1f s went to computing — and to the work that shares the two cores with it: the readers putting each chunk into the products' layout and the first writes into the slots' fresh memory, more of it the more slots the budget holds.",
                          budget, total, read, wait, total - wait)
        } ?? "This run predates the prefill's read and wait times."
        let decodeSentence = ours.flatMap { run -> String? in
            guard let read = run.decode_read_s, let wait = run.decode_wait_s, let n = run.decode_tokens, n > 0,
                  let rate = run.decode_tok_s, rate > 0 else { return nil }
            let perToken = 1 / rate, waited = wait / Double(n)
            return String(format: "The engine's own clocks, per decoded token at %g GiB (%.2f s each): the I/O thread read experts for %.2f s, the layers "
                          + "waited %.2f s for reads, and %.2f s went to everything else — attention, the experts' products, "
                          + "the output head and sampling — with the reads running alongside.",
                          budget, perToken, read / Double(n), waited, perToken - waited)
        } ?? "(The run at \(String(format: "%g", budget)) GiB predates the engine's clocks of its decode steps' reads.)"
        let llamaAccounting = llama.map { run in
            String(format: "llama.cpp read %.1f GB for the same tokens: %.1f times the %.1f GB file", Double(run.bytes_read) / 1e9,
                   Double(run.bytes_read) / Double(file_bytes), Double(file_bytes) / 1e9)
        } ?? "The llama.cpp run is missing."
        // per decoded token: the demand misses ((1 − decode hit rate) of top-k × layers; a prefetch hit is a
        // hit) and every prefetch read, used or not
        let missesPerToken = (1 - (ours?.decode_hit_rate ?? 0)) * Double(layers * top_k)
        let prefetchesPerToken = Double((ours?.prefetch_reads ?? 0) - (ours?.prefill_prefetch_reads ?? 0)) / Double(max(1, ours?.decode_tokens ?? 1))
        let readsPerToken = missesPerToken + prefetchesPerToken
        // the rate the engine's own expert reads ran at (the prefill's: every expert once, while the layers
        // computed), else the cold read of the resident tensors
        var readRate = diskBytesPerSecond
        if let bytes = ours?.prefill_bytes_read, let seconds = ours?.prefill_read_s, seconds > 0 { readRate = Double(bytes) / seconds }
        let predictedRead = readsPerToken * Double(expert_bytes) / readRate
        let share = (ours?.decode_tok_s ?? 0) > 0 ? predictedRead * ours!.decode_tok_s! : 0
        let shareSentence = share <= 0 ? "The run did not finish, so there is no measured time to compare."
            : share < 1 ? String(format: "Reading is predicted to take %.0f %% of the measured time per token; the rest is computing the layers and the reads that prefetching did not hide.", share * 100)
            : String(format: "Reading alone is predicted to take %.0f %% of the measured time per token: the decode steps' reads ran faster than the prefill's, whose rate the prediction takes (the prefill's compute took turns with them on the two cores), and prefetching overlaps them with the computing.", share * 100)
        let runs = pairs(at: budget)
        let mmap = medianRun(Self.mmapEngine, at: budget)
        let mmapSentence = mmap.map { run in
            let each = Self.ratioList(runs.map { ratio($0.mmap?.decode_tok_s, $0.llama?.decode_tok_s) })
            let gb = { (run: Run?) in run.map { String(format: "%.1f GB", Double($0.bytes_read) / 1e9) } ?? "—" }
            return String(format: "At %g GiB mixtral-lab with `--mmap-experts` — no expert cache, the page cache deciding, its kernels "
                          + "reading the file's own layout — decoded at ", budget) + each
                + " llama.cpp's speed and read \(gb(run)), against llama.cpp's \(gb(llama)) and the expert cache's \(gb(ours)). "
                + String(format: "The expert cache decoded %.2f times as fast as this control (median runs by decode speed: %.2f× against %.2f× llama.cpp's), but that factor "
                         + "is not the cache's alone: besides reading fewer bytes, the expert cache reads ahead while the layers compute where a page "
                         + "fault stops the layer, and its kernels read the interleaved layout, on which a decode product runs 1.6–1.9 times faster "
                         + "(README, the mapped-slot experiment).",
                         ratio(ours?.decode_tok_s, run.decode_tok_s), ratio(ours?.decode_tok_s, llama?.decode_tok_s), ratio(run.decode_tok_s, llama?.decode_tok_s))
        } ?? ""
        return .init(budgetGiB: budget, ours: ours.map(figures), llama: llama.map(figures),
                     decodeRatio: ratio(ours?.decode_tok_s, llama?.decode_tok_s), prefillRatio: ratio(ours?.prefill_tok_s, llama?.prefill_tok_s),
                     decodeRatios: Self.ratioList(runs.map { ratio($0.ours?.decode_tok_s, $0.llama?.decode_tok_s) }),
                     prefillRatios: Self.ratioList(runs.map { ratio($0.ours?.prefill_tok_s, $0.llama?.prefill_tok_s) }),
                     accounting: ours.map(byteAccounting) ?? "The mixtral-lab run is missing.", prefillSentence: prefillSentence, decodeSentence: decodeSentence,
                     llamaAccounting: llamaAccounting, mmapSentence: mmapSentence, missesPerToken: missesPerToken, prefetchesPerToken: prefetchesPerToken,
                     readsPerToken: readsPerToken, readGbps: readRate / 1e9,
                     predictedReadPerTokenGB: readsPerToken * Double(expert_bytes) / 1e9, predictedReadS: predictedRead,
                     predictedTps: predictedRead > 0 ? 1 / predictedRead : 0, measuredReadShare: share, shareSentence: shareSentence)
    }

    /// Where mixtral-lab's bytes read from disk (the kernel's count) went, in words: the resident tensors
    /// once, the prefill's expert reads, the decode steps' demand reads and the prefetches, each from the
    /// engine's own count, and the difference (what no count of the engine explains).
    private func byteAccounting(_ run: Run) -> String {
        guard let experts = run.expert_bytes_read, let prefill = run.prefill_bytes_read, let prefetches = run.prefetch_reads else {
            return "This run predates the engine's own count of its expert reads, so its bytes cannot be split up."
        }
        let gb = { (bytes: Int) in String(format: "%.1f GB", Double(bytes) / 1e9) }
        // the prefill's prefetches are in its bytes
        let decodePrefetches = prefetches - (run.prefill_prefetch_reads ?? 0)
        let prefetchBytes = decodePrefetches * expert_bytes
        let decodeDemand = experts - prefill - prefetchBytes
        let rest = run.bytes_read - resident_bytes - experts
        return "mixtral-lab read \(gb(run.bytes_read)): \(gb(resident_bytes)) of resident tensors, once at start; "
            + "\(gb(prefill)) of experts for the prefill (\(prefill / max(1, expert_bytes)) expert reads: every expert the "
            + "\(run.prompt_tokens ?? 0)-token prompt routed to, once per layer); \(gb(decodeDemand)) of demand reads in the "
            + "\(run.decode_tokens ?? 0) decode steps (\(decodeDemand / max(1, expert_bytes)) experts not in memory when needed); "
            + "\(gb(prefetchBytes)) of the decode steps' prefetches (\(decodePrefetches) reads; \(run.prefetch_used ?? 0) prefetches of the run used in time or later); "
            + "and \(gb(rest)) besides (\(String(format: "%.1f", Double(rest) / Double(max(1, run.bytes_read)) * 100)) %: "
            + "the binary and its libraries, the GGUF header and vocabulary, and what the reads brought in beyond the ranges "
            + "asked for: the kernel's readahead for buffered reads, whole 4 KiB blocks at the ends of direct ones)."
    }
}

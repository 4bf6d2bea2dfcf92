import ArgumentParser
import Foundation
import Checkpoints
import Engine
import Quantization
import Tensors
import Offloading

/// `mixtral-lab bench`: prefill and decode speed, and resident weight bytes, per precision — figures to
/// compare side by side with other engines in the same run (tools/bench_side_by_side.py), not a test.
/// With `--quantize SPEC`, it times quantizing the checkpoint's weights instead (tools/bench_quantize.py).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure prefill and decode tokens/s and resident weight bytes for each precision, or (--quantize) quantization speed.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var activationOptions: ActivationOptions
    @Option(help: "Precisions to measure: comma-separated (fp32,int8,q4); per-class specs separated by ; (\"q4;attn=int8,experts=nf4\").") var precisions: String = "fp32"
    @Option(parsing: .unconditional, help: ArgumentHelp("Prompt lengths in tokens (prefill), comma-separated, e.g. 8,64,512; decode follows the first.",
                               valueName: "n[,n…]")) var promptTokens: String = "8"
    @Option(parsing: .unconditional, help: "Greedy decode steps.") var decodeTokens: Int = 64
    @Option(parsing: .unconditional, help: "Timed repetitions; the best is reported.") var repeats: Int = 3
    @Option(parsing: .unconditional, help: "OpenBLAS threads (default: one per core for large models, one for small ones); the kernels of packed weights (int8, q4, nf4, bf16, f16) use every core.") var threads: Int?
    @Option(help: ArgumentHelp("Time quantizing the checkpoint's weights to this precision spec (e.g. q4) instead of running the model.",
                               valueName: "spec")) var quantize: String?
    @Option(help: "Output: table or json.") var format: OutputFormat = .table

    func validate() throws {
        guard decodeTokens >= 1, repeats >= 1, (threads ?? 1) >= 1 else {
            throw ValidationError("--decode-tokens, --repeats and --threads must be at least 1")
        }
        _ = try promptLengths()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if let threads, threads > 4 * cores {
            throw ValidationError("--threads \(threads): this machine has \(counted(cores, "core")); give 1…\(4 * cores) (more OpenBLAS threads than 4 per core only take turns on the same cores and slow the products down)")
        }
    }

    func run() throws { try activationOptions.bound { try runAtActivations() } }

    /// `run` with the products at `--activations`.
    private func runAtActivations() throws {
        let checkpoint = try modelOptions.checkpoint()
        if let quantize { return try runQuantize(checkpoint, spec: quantize) }
        let specs = try parsePrecisionList(precisions)
        let threads = self.threads ?? recommendedBLASThreads(checkpoint.config)
        setBLASThreads(threads)
        let config = checkpoint.config
        let lengths = try promptLengths()
        guard lengths.max()! + decodeTokens <= config.maxPositionEmbeddings else {
            throw ValidationError("--prompt-tokens + --decode-tokens exceed the model's context (\(config.maxPositionEmbeddings))")
        }
        // Fixed pseudo-random prompts of ordinary token ids (no tokenizer needed).
        let prompts = lengths.map { length in (0..<length).map { 3 + ($0 * 7919) % max(1, config.vocabSize - 3) } }
        var results: [[String: Any]] = []
        var runAsStored = false
        let loadBefore = loadAverage()
        for spec in specs {
            let model = try loadModel(checkpoint, precision: spec)
            // Weights the checkpoint stores quantized or at 16 bits run as stored: label the row by what runs.
            let held = model.heldPrecision() ?? spec
            runAsStored = runAsStored || held != spec
            var bestPrefill = [Double](repeating: 0, count: lengths.count), bestDecode = 0.0, worstDecode = Double.infinity
            for _ in 0..<repeats {
                for (i, prompt) in prompts.enumerated() {
                    let steps = i == 0 ? decodeTokens : 0   // decode follows the first prompt only
                    let session = Session(model: model, capacity: prompt.count + steps)
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    var logits = try model.forward(prompt, session: session)
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    bestPrefill[i] = max(bestPrefill[i], Double(prompt.count) / (Double(t1 - t0) / 1e9))
                    guard steps > 0 else { continue }
                    var sampler = Sampler()
                    for _ in 0..<steps {
                        logits = try model.forward([sampler.next(logits: logits[...])], session: session)
                    }
                    let t2 = DispatchTime.now().uptimeNanoseconds
                    bestDecode = max(bestDecode, Double(steps) / (Double(t2 - t1) / 1e9))
                    worstDecode = min(worstDecode, Double(steps) / (Double(t2 - t1) / 1e9))
                }
            }
            results.append([
                "precision": held.description, "requested_precision": spec.description, "prefill_tokens_per_second": bestPrefill[0],
                "prefill_tokens_per_second_by_prompt_tokens": Dictionary(uniqueKeysWithValues: zip(lengths.map(String.init), bestPrefill)),
"decode_tokens_per_second": bestDecode, "decode_tokens_per_second_worst": decodeTokens > 0 ? worstDecode : 0,
                "weight_bytes": model.weightBytes,
                "decode_weight_gb_per_second": Double(decodeWeightBytes(model)) * bestDecode / 1e9,
            ])
        }
        let loadAfter = loadAverage()
        switch format {
        case .json:
            let data = try JSONSerialization.data(withJSONObject: ["model": checkpoint.directory.path, "threads": threads,
                                                                   "prompt_tokens": lengths, "decode_tokens": decodeTokens,
                                                                   "activations": ActivationPrecision.current.rawValue,
                                                                   "load_average_before": loadBefore, "load_average_after": loadAfter,
                                                                   "results": results], options: [.sortedKeys])
            emit(String(decoding: data, as: UTF8.self))
        case .table:
            emit("model \(checkpoint.directory.path), \(counted(threads, "thread")), prompts of \(promptTokens) tokens, \(counted(decodeTokens, "decode step")), best of \(repeats), activations \(ActivationPrecision.current.rawValue)")
            emit(String(format: "load average %.1f before, %.1f after (1 min, %@): other processes slow every figure; decode's worst repeat is in parentheses",
                        loadBefore, loadAfter, counted(ProcessInfo.processInfo.activeProcessorCount, "core")))
            emit("precision          weights MiB" + lengths.map { length -> String in
                let title = "prefill \(length) tok/s"
                return String(repeating: " ", count: max(1, 18 - title.count)) + title
            }.joined()
                 + "   decode tok/s (worst)   weights read GB/s")
            for r in results {
                let prefill = r["prefill_tokens_per_second_by_prompt_tokens"] as! [String: Double]
                emit((r["precision"] as! String).padding(toLength: 18, withPad: " ", startingAt: 0)
                     + String(format: " %11.1f", Double(r["weight_bytes"] as! Int) / 1_048_576)
                     + lengths.map { String(format: " %17.1f", prefill[String($0)]!) }.joined()
                     + String(format: " %12.1f", r["decode_tokens_per_second"] as! Double)
                     + { String(repeating: " ", count: max(1, 10 - $0.count)) + $0 }(String(format: "(%.1f)", r["decode_tokens_per_second_worst"] as! Double))
                     + String(format: " %19.1f", r["decode_weight_gb_per_second"] as! Double))
            }
            if runAsStored {
                emit("(" + runAsStoredNote(flag: "--precisions") + ", and rows are labelled by what runs)")
            }
        }
    }

    /// `--prompt-tokens` as lengths ≥ 1, e.g. "8,64,512" → [8, 64, 512].
    /// - Throws: `ValidationError` naming the flag and the entry that is not a positive integer.
    private func promptLengths() throws -> [Int] {
        try promptTokens.split(separator: ",", omittingEmptySubsequences: false).map { entry in
            guard let length = Int(entry.trimmingCharacters(in: .whitespaces)), length >= 1 else {
                throw ValidationError("--prompt-tokens \(promptTokens): \"\(entry)\" is not a prompt length (expected positive integers, e.g. 8,64,512)")
            }
            return length
        }
    }

    /// Times `quantize(_:to:tensorName:)` on every 2-D weight of the checkpoint whose class `spec` does not keep
    /// at fp32 (for `q4`: attention, experts, embedding, head; the router stays fp32), one tensor at a time so
    /// only one fp32 copy is resident. Reading a tensor from the file is not timed; per tensor the best of
    /// `--repeats` is summed. Prints `{"seconds", "cpu_seconds", "weights", "tensors", "precision", "cores"}`
    /// (`--format json`) or one line; `cpu_seconds` is process CPU time (the quantizer uses every core).
    private func runQuantize(_ checkpoint: Checkpoint, spec text: String) throws {
        let spec: PrecisionSpec
        do { spec = try PrecisionSpec(parsing: text) } catch { throw ValidationError("--quantize \(text): \(error)") }
        var seconds = 0.0, cpuSeconds = 0.0, weights = 0, tensors = 0
        for name in checkpoint.tensorNames {
            guard let tensorClass = TensorClass(tensorName: name), let info = checkpoint.info(name), info.shape.count == 2
            else { continue }
            let precision = spec.precision(for: tensorClass)
            if precision == .fp32 { continue }
            let weight = try checkpoint.matrix(name, rows: info.shape[0], cols: info.shape[1])
            var best = Double.infinity, bestCPU = Double.infinity
            for _ in 0..<repeats {
                let wall0 = DispatchTime.now().uptimeNanoseconds, cpu0 = processCPUSeconds()
                _ = try Quantization.quantize(weight, to: precision, tensorName: name)
                let cpu1 = processCPUSeconds(), wall1 = DispatchTime.now().uptimeNanoseconds
                best = min(best, Double(wall1 - wall0) / 1e9)
                bestCPU = min(bestCPU, cpu1 - cpu0)
            }
            seconds += best
            cpuSeconds += bestCPU
            weights += info.elementCount
            tensors += 1
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        switch format {
        case .json:
            let data = try JSONSerialization.data(withJSONObject: ["precision": spec.description, "seconds": seconds,
                                                                   "cpu_seconds": cpuSeconds, "weights": weights,
                                                                   "tensors": tensors, "cores": cores], options: [.sortedKeys])
            emit(String(decoding: data, as: UTF8.self))
        case .table:
            emit(String(format: "quantize to %@: %d tensors, %.1f M weights in %.3f s (%.3f s CPU, %d cores, best of %d per tensor), %.0f M weights/s",
                        spec.description, tensors, Double(weights) / 1e6, seconds, cpuSeconds, cores, repeats,
                        Double(weights) / seconds / 1e6))
        }
    }

    /// The 1-minute load average (`getloadavg(3)`; 0 where it is not available).
    private func loadAverage() -> Double {
        var load = [0.0]
        return getloadavg(&load, 1) == 1 ? load[0] : 0
    }

    /// CPU seconds used by all threads of this process so far (`CLOCK_PROCESS_CPUTIME_ID`).
    private func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Weight bytes one decode step reads: everything except the idle experts, and one embedding row.
    private func decodeWeightBytes(_ model: MixtralModel) -> Int {
        let c = model.config
        let allExperts = model.layers.reduce(0) { $0 + $1.experts.reduce(0) { $0 + $1.byteCount } }
        let idle = allExperts / c.numExperts * (c.numExperts - c.numExpertsPerToken)
        return model.weightBytes - idle - (c.tieWordEmbeddings ? 0 : model.embedding.byteCount)
    }
}

/// `--format` for commands that print either a table or JSON.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

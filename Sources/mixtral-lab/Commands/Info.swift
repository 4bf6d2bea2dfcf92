import ArgumentParser
import Foundation
import Checkpoints
import Engine
import Quantization

/// `mixtral-lab info`: what a checkpoint is, read from its config and tensor headers only (the weights
/// stay mapped and untouched, so this is instant even for a multi-GB checkpoint).
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a checkpoint's config, parameter counts, bytes per tensor class and dtypes.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var precisionOptions: PrecisionOptions

    func run() throws { try run(printing: { emit($0) }) }

    /// Prints the description, handing each line of standard output to `out` (tests read it there).
    func run(printing out: (String) -> Void) throws {
        let directory = try modelOptions.directory()
        let checkpoint = try Checkpoint(directory: directory)
        let c = checkpoint.config
        out("model        \(directory.path)")
        let card = directory.appendingPathComponent("README.md")
        if FileManager.default.fileExists(atPath: card.path) { out("model card   \(card.path)") }
        if let gguf = checkpoint.gguf { describe(gguf, printing: out) }
        out("")
        let rows: [(String, String)] = [
            ("vocab_size", "\(c.vocabSize)"), ("hidden_size", "\(c.hiddenSize)"),
            ("intermediate_size", "\(c.intermediateSize)"), ("num_hidden_layers", "\(c.numHiddenLayers)"),
            ("num_attention_heads", "\(c.numAttentionHeads)"), ("num_key_value_heads", "\(c.numKeyValueHeads)"),
            ("head_dim", "\(c.headDim)"), ("num_local_experts", "\(c.numExperts)"),
            ("num_experts_per_tok", "\(c.numExpertsPerToken)"), ("rms_norm_eps", "\(c.rmsNormEps)"),
            ("rope_theta", "\(c.ropeTheta)"), ("max_position_embeddings", "\(c.maxPositionEmbeddings)"),
            ("sliding_window", c.slidingWindow.map(String.init) ?? "none"),
            ("tie_word_embeddings", "\(c.tieWordEmbeddings)"),
        ]
        for (key, value) in rows { out(key.padding(toLength: 26, withPad: " ", startingAt: 0) + value) }
        out("")
        out("parameters   \(grouped(c.parameterCount)) (\(String(format: "%.2f", Double(c.parameterCount) / 1e6)) M)")
        out("active/token \(grouped(c.activeParameterCount)) (top-\(c.numExpertsPerToken) of \(c.numExperts) experts"
            + (c.tieWordEmbeddings ? ")" : "; of the embedding only the token's own row, where Mixtral's \"13 B per token\" counts it all)"))
        out("")
        let spec = precisionOptions.precision
        // What runs: the spec, except classes whose weights the checkpoint stores in a form that runs as stored
        // (quantize's GGML blocks and NF4, a GGUF file's Q8_0/Q4_0/F16/BF16; `storedPrecision`).
        var storedPrecisions: [TensorClass: Precision] = [:]
        var byClass: [String: (count: Int, bytes: Int, dtypes: Set<String>, atPrecision: Double, elements: Int)] = [:]
        for name in checkpoint.tensorNames {
            guard let info = checkpoint.info(name) else { continue }
            let tensorClass = TensorClass(tensorName: name)?.rawValue ?? (name.contains("norm") ? "norm" : "other")
            var entry = byClass[tensorClass] ?? (0, 0, [], 0, 0)
            entry.bytes += info.byteCount
            // Norm weights and other vectors stay fp32; weight matrices take their class's precision,
            // except stored weights, which run as stored with their companions (absmax, quant_map, …).
            if let stored = checkpoint.storedPrecision(name) {
                entry.atPrecision += Double(info.byteCount)
                entry.elements += checkpoint.ggufWeight(name)?.shape.reduce(1, *) ?? storedElements(checkpoint, name, info)
                if let weightClass = TensorClass(tensorName: name) { storedPrecisions[weightClass] = stored }
                entry.count += 1
            } else if checkpoint.storedWeightName(ofCompanion: name) != nil {
                entry.atPrecision += Double(info.byteCount)   // part of its weight: not a tensor of its own here
            } else {
                entry.count += 1
                entry.elements += info.elementCount
                // what quantize stores for it at the spec, companions included (norms and vectors: fp32)
                if let weightClass = TensorClass(tensorName: name), info.shape.count == 2 {
                    entry.atPrecision += Double(QuantizedWeights.storedByteCount(rows: info.shape[0], cols: info.shape[1],
                                                                                 precision: spec.precision(for: weightClass)))
                } else {
                    entry.atPrecision += Double(4 * info.elementCount)
                }
            }
            entry.dtypes.insert(checkpoint.ggufWeight(name)?.type.name ?? info.dtype.rawValue)
            byClass[tensorClass] = entry
        }
        let held = PrecisionSpec(Dictionary(uniqueKeysWithValues: TensorClass.allCases.map { ($0, storedPrecisions[$0] ?? spec.precision(for: $0)) }))
        // "bytes as run": at `held` (named on the last line), which may be a long per-class spec.
        out("tensor class   tensors   bytes stored  dtypes        bytes as run  bits/weight")
        for tensorClass in ["embed", "attn", "router", "experts", "norm", "head", "other"] {
            guard let entry = byClass[tensorClass] else { continue }
            out(tensorClass.padding(toLength: 12, withPad: " ", startingAt: 0)
                 + String(format: "%10ld %14ld  %-9@ %17.0f %12.2f", entry.count, entry.bytes,
                          entry.dtypes.sorted().joined(separator: ",") as NSString, entry.atPrecision,
                          entry.atPrecision * 8 / Double(entry.elements)))
        }
        let total = byClass.values.reduce(0) { $0 + $1.bytes }
        let atPrecision = byClass.values.reduce(0) { $0 + $1.atPrecision }
        out("total       " + String(format: "%10ld %14ld  %-9@ %17.0f", byClass.values.reduce(0) { $0 + $1.count }, total, "" as NSString, atPrecision))
        out(String(format: "            %.1f MiB stored, %.1f MiB resident at %@ (scales included)", Double(total) / 1_048_576,
                    atPrecision / 1_048_576, held.description as NSString))
        if held != spec { out("            (" + runAsStoredNote(flag: "--precision") + ": \(spec) asked)") }
        if let record = try checkpoint.calibrationRecord() { out("calibration  experts \(record.summary)") }
    }

    /// Weights of a stored tensor of a safetensors checkpoint: its rows and columns from the config
    /// (`WeightNames.matrixShape`), since its own shape counts packed bytes.
    private func storedElements(_ checkpoint: Checkpoint, _ name: String, _ info: TensorInfo) -> Int {
        WeightNames.matrixShape(of: name, config: checkpoint.config).map { $0.rows * $0.cols } ?? info.elementCount
    }

    /// The container, its tensor types, and what loading does with each.
    private func describe(_ gguf: GGUFFile, printing out: (String) -> Void) {
        let architecture = gguf.metadata["general.architecture"]?.string ?? "?"
        out("format       GGUF version \(gguf.version), architecture \(architecture), alignment \(gguf.alignment), \(gguf.metadata.count) metadata keys")
        var counts: [GGMLType: Int] = [:]
        for tensor in gguf.tensors { counts[tensor.type, default: 0] += 1 }
        let types = counts.keys.sorted { $0.id < $1.id }
        out("GGUF tensors " + types.map { "\(counts[$0]!) \($0.name)" }.joined(separator: ", "))
        for type in types {
            let use: String
            if QuantizedWeights.ggufRunAsStored[type] != nil {
                use = type.blockSize > 1 ? "run on their packed blocks, whatever --precision says" : "run as stored (16-bit), whatever --precision says"
            } else if GGUFWeight.decodableTypes.contains(type) {
                use = type == .f32 ? "fp32; weight matrices take --precision (norms and router stay fp32)" : "decoded to fp32 at load, then stored at --precision"
            } else {
                // a model tensor of such a type is refused when the file is opened (`GGUFTensorSource`)
                use = "not read (no tensor of the model has this type)"
            }
            out("  \(type.name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(use)")
        }
    }

}

/// 1234567 → "1,234,567".
func grouped(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return out
}

import ArgumentParser
import Foundation
import Checkpoints
import Engine
import Offloading
import Quantization

/// `--ram-budget`, `--offload-store`: real offloading. With a budget, the non-expert weights are loaded,
/// and the experts are streamed from disk into as many slots per layer as the budget holds, with
/// `--policy` deciding which stay (`DiskExpertProvider`).
struct RAMBudgetOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Run within this much RAM for weights and caches, e.g. 512MiB, 6GiB: non-expert weights stay resident, experts are streamed from disk into the slots the rest holds (--policy decides which stay). compare and lesson run give each precision's model its own budget and keep them all.", valueName: "size"),
            transform: SizeArgument.parser(flag: "--ram-budget"))
    var ramBudget: SizeArgument?
    @Option(help: ArgumentHelp("With --ram-budget: folder for the expert stores written when the checkpoint's experts are not already at the run's precision, one subfolder per expert precision, created in it (default: under ~/.cache/mixtral-lab/expert-stores).", valueName: "dir"))
    var offloadStore: String?
    @Flag(help: "Benchmark baseline: compute the experts straight from the memory-mapped checkpoint (F32 at experts=fp32, or Q8_0/Q4_0 as stored), no budget (the page cache decides what stays in RAM).")
    var mmapExperts = false

    func validate() throws {
        if offloadStore != nil && ramBudget == nil { throw ValidationError("--offload-store needs --ram-budget") }
        var isFolder: ObjCBool = false
        if let offloadStore, FileManager.default.fileExists(atPath: offloadStore, isDirectory: &isFolder), !isFolder.boolValue {
            throw ValidationError("--offload-store \(offloadStore): is a file, not a folder")
        }
        // made when missing, as every output folder a flag names, but not its missing parents (`createOutputFolder`)
        if let offloadStore, !FileManager.default.fileExists(atPath: offloadStore) {
            let parent = URL(fileURLWithPath: offloadStore).standardizedFileURL.deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: parent) else {
                throw ValidationError("--offload-store \(offloadStore): \(parent): no such folder; create it first")
            }
        }
        if mmapExperts && ramBudget != nil { throw ValidationError("give --ram-budget or --mmap-experts, not both") }
    }

    /// The model, with its experts resident (no `--ram-budget`), computed from the mapped checkpoint
    /// (`--mmap-experts`), or streamed under the budget by the returned provider. Prints the budget's accounting and the experts' source on standard error.
    /// - Parameters:
    ///   - policy: decides which experts stay in the slots.
    ///   - capacity: positions of the session the model will run (for the KV cache's share of the budget).
    ///   - promptTokens: the largest forward call (the prompt), for the scratch buffers' share.
    /// - Throws: `ValidationError` for a budget too small (naming the minimum), a store for another model
    ///   that cannot be replaced, `optimal`; checkpoint errors.
    func loadModel(_ checkpoint: Checkpoint, precision: PrecisionSpec, policy: PolicySpec, capacity: Int,
                   promptTokens: Int) throws -> (MixtralModel, DiskExpertProvider?) {
        if mmapExperts {
            let source = try mappedExpertSource(checkpoint, precisions: [precision], flag: "--precision")
            let format = source.layout.w1.format
            let mapped = try MappedExperts(checkpoint: checkpoint, source: source)
            note("experts computed in place from the memory-mapped \(checkpoint.directory.lastPathComponent) (\(format == .fp32 ? "fp32" : "\(format.rawValue) as stored whatever --precision asks"); no budget)")
            return (try mixtral_lab.loadModel(checkpoint, precision: precision, experts: .streamed(mapped)), nil)
        }
        guard let ramBudget else { return (try mixtral_lab.loadModel(checkpoint, precision: precision), nil) }
        let budget = ramBudget.bytes
        let source = try expertSource(checkpoint, precision: precision)
        let provider = try DiskExpertProvider(source: source, policy: policy, topK: checkpoint.config.numExpertsPerToken)
        let model = try mixtral_lab.loadModel(checkpoint, precision: precision, experts: .streamed(provider))
        let c = model.config
        let accounting = try RAMBudget(budget: budget, residentBytes: ModelFootprint(model: model).residentBytes,
                                       sessionBytes: Session.memoryBytes(config: c, capacity: capacity, tokens: promptTokens),
                                       expertBytes: provider.slotBytes, numLayers: c.numHiddenLayers,
                                       numExperts: c.numExperts, topK: c.numExpertsPerToken, policy: policy)
        try provider.allocateSlots(accounting.slots)
        for line in accounting.lines + ["experts from \(source.description)", "page cache: \(provider.pageCache)"] {
            note(line)
        }
        return (model, provider)
    }

    /// With `--mmap-experts`: the experts computed from the memory-mapped checkpoint, which must be stored as
    /// F32, Q8_0 or Q4_0 tensors of one layout (`MappedExperts.formats`). Q8_0/Q4_0 experts run as stored at
    /// any precision; F32 ones only at experts=fp32, so every precision the command loads must have fp32
    /// experts. Commands call it before they run or write anything, and `loadModel` for each model.
    /// - Parameters:
    ///   - precisions: the precisions the command loads the model at, given by `flag` (`--precision`, or
    ///     compare's `--precisions` with fp32 first).
    ///   - choosing: in `lesson run`, the lesson's experiments that load it at precisions of their own
    ///     (`Lesson.experimentsChoosingPrecisions`; lesson 3 compares several).
    /// - Throws: `ValidationError` naming `--mmap-experts`, the checkpoint and the experts' stored type.
    func mappedExpertSource(_ checkpoint: Checkpoint, precisions: [PrecisionSpec], flag: String,
                            choosing: (lesson: Int, experiments: [String])? = nil) throws -> ExpertSource {
        // what the first expert tensor holds: a quantized checkpoint's precision (its tensors are U8 or
        // 16-bit storage), a GGUF type, else the safetensors dtype
        let first = WeightNames.expert(0, 0, "w1")
        let stored = checkpoint.storedPrecision(first)?.rawValue ?? checkpoint.ggufWeight(first)?.type.name
            ?? checkpoint.info(first)?.dtype.rawValue ?? "?"
        // at experts=fp32 an F32 tensor is read in place too; every other stored format is read whatever the precision
        guard let source = try ExpertSource.inPlace(checkpoint, precision: PrecisionSpec(uniform: .fp32)),
              MappedExperts.formats.contains(source.layout.w1.format) else {
            throw ValidationError("--mmap-experts: the experts of \(checkpoint.directory.path) are not all stored as F32, Q8_0 or Q4_0 tensors of one layout (layer 0's first is \(stored)); computing them from the mapped file needs that")
        }
        guard source.layout.w1.format == .fp32 else { return source }
        let needs = "computing F32 experts from the mapped file needs experts=fp32"
        if let other = precisions.map({ $0.precision(for: .experts) }).first(where: { $0 != .fp32 }) {
            throw ValidationError("--mmap-experts: \(flag) gives the experts \(other); \(needs)")
        }
        if let choosing, !choosing.experiments.isEmpty {
            throw ValidationError("--mmap-experts: the experts of \(checkpoint.directory.path) are F32, and lesson \(choosing.lesson)'s experiment \(choosing.experiments.joined(separator: ", ")) loads the model at precisions of its own; \(needs) (Q8_0 or Q4_0 experts run as stored at every precision)")
        }
        return source
    }

    /// For `lesson run` and `compare`, before anything is printed or written: refuses a `--ram-budget` that no
    /// model their blocks could load fits — the `RAMBudget` minimum with every weight at the fewest bits per
    /// weight any precision stores (`Precision.nominalBitsPerWeight`, norms included at that rate) and the
    /// session `labLoader` counts. A budget above it may still be too small for a block's own precision, which
    /// that block then reports.
    /// - Throws: `ValidationError` naming `--ram-budget` and the floor.
    func checkLabFloor(_ checkpoint: Checkpoint, policy: PolicySpec) throws {
        guard let ramBudget else { return }
        let c = checkpoint.config
        let fewest = Precision.allCases.min { $0.nominalBitsPerWeight < $1.nominalBitsPerWeight }!
        func bytes(_ parameters: Int) -> Int { Int((Double(parameters) * fewest.nominalBitsPerWeight / 8).rounded(.down)) }
        let expertParameters = c.numHiddenLayers * c.numExperts * c.parametersPerExpert
        let capacity = Self.labCapacity(c)
        do {
            _ = try RAMBudget(budget: ramBudget.bytes, residentBytes: bytes(c.parameterCount - expertParameters),
                              sessionBytes: Session.memoryBytes(config: c, capacity: capacity.positions, tokens: capacity.forwardTokens),
                              expertBytes: bytes(c.parametersPerExpert), numLayers: c.numHiddenLayers, numExperts: c.numExperts,
                              topK: c.numExpertsPerToken, policy: policy)
        } catch ExpertStoreError.budgetTooSmall(_, let minimum, _) {
            throw ValidationError("--ram-budget \(ramBudget.text) is below what any model of this lab needs: at least \(ByteSize.format(minimum)) even with every weight at \(fewest) (\(String(format: "%.2f", fewest.nominalBitsPerWeight)) bits per weight), a KV cache of \(capacity.positions) positions and scratch for \(capacity.forwardTokens)-token forward calls")
        }
    }

    /// The session `labLoader` budgets for: the context (at most 4096 positions), forward calls of at most 512 tokens.
    static func labCapacity(_ c: MixtralConfig) -> (positions: Int, forwardTokens: Int) {
        let positions = min(c.maxPositionEmbeddings, 4096)
        return (positions, min(positions, 512))
    }

    /// For commands that load models through a `LabContext` (compare, lesson run): a loader that streams
    /// each precision's experts under the budget — the budget holds for each model on its own, and a run
    /// comparing precisions keeps every model it loaded — or nil without `--ram-budget`. Sessions are
    /// counted at the default capacity (`max_position_embeddings`, at most 4096) with forward calls of up
    /// to 512 tokens. `streaming` receives each provider made, to report its totals at the end.
    func labLoader(_ checkpoint: Checkpoint, policy: PolicySpec,
                   streaming: @escaping (PrecisionSpec, DiskExpertProvider) -> Void) -> ((PrecisionSpec) throws -> MixtralModel)? {
        guard ramBudget != nil || mmapExperts else { return nil }
        let (capacity, forwardTokens) = Self.labCapacity(checkpoint.config)
        return { precision in
            let loaded: (model: MixtralModel, provider: DiskExpertProvider?)
            do {
                loaded = try loadModel(checkpoint, precision: precision, policy: policy, capacity: capacity, promptTokens: forwardTokens)
            } catch let error as ExpertStoreError {
                // the minimum is larger than generate's for the same model: say where the difference comes from
                guard case .budgetTooSmall = error else { throw error }
                throw ValidationError("\(error); compare and lesson run hold a KV cache of \(capacity) positions (the held-out text they score) and scratch for \(forwardTokens)-token forward calls, so they need more than generate or trace with the same model")
            }
            if let provider = loaded.provider { streaming(precision, provider) }
            return loaded.model
        }
    }

    /// The checkpoint itself when its experts are already stored at the run's precision (safetensors F32
    /// or what `quantize` writes at int8/q4/gptq4/bf16/f16, GGUF Q8_0/Q4_0/F16/BF16/F32: read in place,
    /// nothing written), else the expert store for the experts' precision (built, with a progress bar, when
    /// missing or made for another model or precision; a run finding another process building it waits for
    /// that build and uses its store).
    /// - Throws: `ValidationError` naming `--ram-budget` for gptq4/awq4 experts that would need a store
    ///   (calibrated at load, or stored awq4), before any store folder is made.
    private func expertSource(_ checkpoint: Checkpoint, precision spec: PrecisionSpec) throws -> ExpertSource {
        if let inPlace = try ExpertSource.inPlace(checkpoint, precision: spec) { return inPlace }
        let precision = try ExpertStore.heldExpertPrecision(checkpoint, spec: spec)
        let experts = precision.precision(for: .experts)
        if experts.needsCalibration {
            let stored = checkpoint.storedPrecision(WeightNames.expert(0, 0, "w1")) != nil
            let why = "experts=\(experts) is calibrated when the whole model loads, and streamed experts are never loaded whole"
            throw ValidationError(stored
                ? "--ram-budget: the experts of \(checkpoint.directory.path) are stored \(experts), with AWQ's per-input-channel scales, which cannot be streamed from disk; run it without --ram-budget, or quantize the float checkpoint with --precision experts=gptq4 or q4, whose experts --ram-budget reads in place"
                : experts == .gptq4
                ? "--ram-budget: \(why); write a gptq4 checkpoint first (mixtral-lab quantize --precision experts=gptq4 --output DIR), whose experts --ram-budget reads in place, or run without --ram-budget"
                : "--ram-budget: \(why), and AWQ's per-input-channel scales cannot be streamed from disk; run without --ram-budget, or use gptq4 experts from a checkpoint written by quantize, which --ram-budget reads in place")
        }
        let directory = try offloadStore.map { ExpertStore.directory(in: URL(fileURLWithPath: $0), precision: precision) }
            ?? ExpertStore.defaultDirectory(for: checkpoint, precision: precision)
        let progress = Progress(label: "writing the expert store \(directory.lastPathComponent)")
        defer { progress.finish() }
        return try ExpertStore.openOrBuild(directory, checkpoint: checkpoint, precision: precision,
                                           rebuilding: { note("rebuilding: \($0)") },
                                           waiting: { note($0) },
                                           progress: { progress.update($0, of: $1) })
    }
}

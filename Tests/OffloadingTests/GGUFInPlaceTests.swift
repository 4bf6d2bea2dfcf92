import Testing
import Foundation
import Checkpoints
import Engine
import Quantization
@testable import Offloading
import TestSupport

/// Experts read in place from a GGUF file (`ExpertSource.inPlace`): every type the engine runs as stored
/// (F32 at fp32, F16, BF16, Q8_0, Q4_0), stacked `ffn_*_exps` tensors and per-expert `ffn_*.E` tensors.
/// The files are the default model exported by `GGUFExport` (llama.cpp's layout, q/k rows permuted), and
/// rewritten per expert with `GGUFWriter`.
struct GGUFInPlaceTests {
    let prompt = [1, 17, 42, 5, 88, 23, 61, 9, 300, 7]
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("gguf-in-place") }

    enum Layout: String, CaseIterable { case stacked, perExpert }

    /// The default model exported at `precision` in `layout`, in a folder of its own.
    private func gguf(_ precision: GGUFExportPrecision, _ layout: Layout) throws -> URL {
        let folder = scratch.url.appendingPathComponent("\(precision.rawValue)-\(layout.rawValue)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stacked = folder.appendingPathComponent("model.gguf")
        _ = try GGUFExport.write(Checkpoint(directory: DefaultModel.locate()), precision: precision, to: stacked, overwrite: false)
        guard layout == .perExpert else { return stacked }
        let perExpert = folder.appendingPathComponent("model-per-expert.gguf")
        try Self.splitExperts(stacked, into: perExpert)
        try FileManager.default.removeItem(at: stacked)
        return perExpert
    }

    /// Rewrites a GGUF file with every stacked `blk.N.ffn_X_exps.weight` `[cols, rows, experts]` split
    /// into `blk.N.ffn_X.E.weight` `[cols, rows]` (the layout of older conversions and Ollama blobs).
    static func splitExperts(_ source: URL, into target: URL) throws {
        let file = try GGUFFile(url: source)
        var writer = GGUFWriter()
        for key in file.metadataKeys where key != "general.alignment" { writer.add(key, file.metadata[key]!) }
        for tensor in file.tensors {
            let bytes = Array(file.bytes(tensor))
            guard tensor.name.hasSuffix("_exps.weight") else {
                writer.addTensor(tensor.name, type: tensor.type, dimensions: tensor.dimensions, bytes: bytes)
                continue
            }
            let experts = tensor.dimensions[2], slice = bytes.count / experts
            let base = tensor.name.replacingOccurrences(of: "_exps.weight", with: "")
            for e in 0..<experts {
                writer.addTensor("\(base).\(e).weight", type: tensor.type, dimensions: Array(tensor.dimensions.prefix(2)),
                                 bytes: Array(bytes[(e * slice)..<((e + 1) * slice)]))
            }
        }
        _ = try writer.write(to: target)
    }

    @Test(arguments: GGUFExportPrecision.allCases, Layout.allCases)
    func inPlaceReadsGiveTheResidentLogits(precision: GGUFExportPrecision, layout: Layout) throws {
        let url = try gguf(precision, layout)
        let checkpoint = try Checkpoint(directory: url)
        let spec = PrecisionSpec(uniform: .fp32)
        let source = try #require(try ExpertSource.inPlace(checkpoint, precision: spec), "\(precision) \(layout)")
        #expect(source.files.map(\.path) == [url.path])
        let expected: ProjectionLayout.Format = [GGUFExportPrecision.fp32: .fp32, .f16: .f16, .bf16: .bf16, .int8: .q8_0, .q4: .q4_0][precision]!
        #expect(source.layout.projections.allSatisfy { $0.format == expected })
        // every read bypasses the page cache
        for file in source.files {
            #expect(file.readsDirect, "O_DIRECT refused on the test's file system: the direct path goes untested")
        }
        try expectInPlaceSourceMatchesTheResidentModel(source, checkpoint: checkpoint, precision: spec, prompt: prompt, label: "\(precision) \(layout)")
        // nothing but the GGUF file in its folder: no store was written
        #expect(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path) == [url.lastPathComponent])
    }

    /// `--mmap-experts` (`MappedExperts`) on Q8_0/Q4_0 GGUF experts, stacked and per expert: the kernels read
    /// the mapped file's blocks where they lie, and every logit is the resident model's, bit for bit; F16
    /// experts are refused.
    @Test(arguments: [GGUFExportPrecision.int8, .q4], Layout.allCases)
    func mappedExpertsGiveTheResidentLogits(precision: GGUFExportPrecision, layout: Layout) throws {
        let checkpoint = try Checkpoint(directory: gguf(precision, layout))
        let spec = PrecisionSpec(uniform: .fp32)
        let resident = try MixtralModel(checkpoint: checkpoint, precision: spec)
        let mapped = try MixtralModel(checkpoint: checkpoint, precision: spec, experts: .streamed(MappedExperts(checkpoint: checkpoint, precision: spec)))
        #expect(mapped.layers.allSatisfy { $0.experts.isEmpty })
        #expect(try greedyLogitBits(mapped, prompt: prompt) == greedyLogitBits(resident, prompt: prompt), "\(precision) \(layout)")
        let (q8Mapped, q8Resident) = try ActivationPrecision.$current.withValue(.q8) {
            (try greedyLogitBits(mapped, prompt: prompt), try greedyLogitBits(resident, prompt: prompt))
        }
        #expect(q8Mapped == q8Resident, "\(precision) \(layout) q8")
        let f16 = try Checkpoint(directory: gguf(.f16, layout))
        #expect(throws: ExpertStoreError.self) { try MappedExperts(checkpoint: f16, precision: spec) }
    }

    /// An F32 GGUF runs at any precision, its q/k weights (stored in llama.cpp's RoPE order) included: at q4
    /// and int8 every logit is the default model's at that precision (the F32 values are its BF16 ones).
    @Test func f32GGUFQuantizesItsAttentionToo() throws {
        let f32 = try Checkpoint(directory: gguf(.fp32, .stacked))
        let reference = try Checkpoint(directory: DefaultModel.locate())
        for precision in [Precision.q4, .int8] {
            let spec = PrecisionSpec(uniform: precision)
            #expect(try greedyLogitBits(MixtralModel(checkpoint: f32, precision: spec), prompt: prompt)
                    == greedyLogitBits(MixtralModel(checkpoint: reference, precision: spec), prompt: prompt), "\(precision)")
        }
    }

    @Test func convertedExpertsNeedAStoreNamedAfterTheirPrecision() throws {
        let f32 = try Checkpoint(directory: gguf(.fp32, .stacked))
        let q4 = PrecisionSpec(uniform: .q4)
        // F32 experts run at q4 are a conversion: no in-place source, a store in q4/
        #expect(try ExpertSource.inPlace(f32, precision: q4) == nil)
        #expect(try ExpertStore.heldExpertPrecision(f32, spec: q4) == q4)
        // Q4_0 experts run as stored whatever the spec: a store for them would be named q4, not fp32
        let q4File = try Checkpoint(directory: gguf(.q4, .perExpert))
        #expect(try ExpertStore.heldExpertPrecision(q4File, spec: PrecisionSpec(uniform: .fp32)) == q4)
        #expect(ExpertStore.directory(in: scratch.url, precision: try ExpertStore.heldExpertPrecision(q4File, spec: PrecisionSpec(uniform: .fp32))).lastPathComponent == "q4")
    }
}

import Foundation
import Testing
import Checkpoints
@testable import Engine
import Quantization
import Tensors
import TestSupport

/// `GGUFExport` against llama.cpp's own converter (`convert_hf_to_gguf.py` output committed by
/// `tools/make_gguf_fixtures.py`) and round trips through the loader.
@Suite struct GGUFExportTests {
    static let folder = fixturesURL.appendingPathComponent("gguf")
    static let tiny = folder.appendingPathComponent("tiny")

    /// Exports the tiny model at `precision` into a temporary folder and passes the file to `body`.
    func exported<T>(_ precision: GGUFExportPrecision, source: URL = tiny, _ body: (URL) throws -> T) throws -> T {
        try withTemporaryDirectory("gguf-export") { folder in
            let url = folder.appendingPathComponent("tiny.gguf")
            _ = try GGUFExport.write(Checkpoint(directory: source), precision: precision, to: url, overwrite: false)
            return try body(url)
        }
    }

    /// Keys that differ on purpose: the converter title-cases the folder name and adds a size label;
    /// the scores are the BPE's merge ranks instead of the converter's placeholder −1000 (see
    /// `GGUFExportVocabulary`).
    static let differingKeys: Set<String> = ["general.name", "general.size_label", "tokenizer.ggml.scores"]

    @Test(arguments: [(GGUFExportPrecision.fp32, "tiny-f32.gguf"), (.int8, "tiny-q8_0.gguf")])
    func sameMetadataTensorsAndBytesAsConvertHFToGGUF(precision: GGUFExportPrecision, converted: String) throws {
        let theirs = try GGUFFile(url: Self.folder.appendingPathComponent(converted))
        try exported(precision) { url in
            let ours = try GGUFFile(url: url)
            #expect(ours.metadataKeys.filter { !Self.differingKeys.contains($0) } == theirs.metadataKeys.filter { !Self.differingKeys.contains($0) })
            for key in theirs.metadataKeys where !Self.differingKeys.contains(key) {
                #expect(ours.metadata[key] == theirs.metadata[key], "\(key)")
            }
            #expect(ours.tensors.map(\.name) == theirs.tensors.map(\.name))
            for (a, b) in zip(ours.tensors, theirs.tensors) {
                #expect(a.type == b.type && a.dimensions == b.dimensions && a.offset == b.offset, "\(a.name)")
                #expect(Array(ours.bytes(a)) == Array(theirs.bytes(b)), "\(a.name)")
            }
        }
    }

    @Test func scoresFollowTheMergeRanks() throws {
        try exported(.fp32) { url in
            let file = try GGUFFile(url: url)
            let tokens = file.metadata["tokenizer.ggml.tokens"]!.array!.map { $0.string! }
            let scores = file.metadata["tokenizer.ggml.scores"]!.array!.map { Float($0.double!) }
            let types = file.metadata["tokenizer.ggml.token_type"]!.array!.map { $0.int! }
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.tiny.appendingPathComponent("tokenizer.json"))) as! [String: Any]
            let merges = (json["model"] as! [String: Any])["merges"] as! [Any]
            let first = merges.first.map { ($0 as? [String])?.joined() ?? ($0 as! String).replacingOccurrences(of: " ", with: "") }!
            #expect(scores[tokens.firstIndex(of: first)!] == 0)       // rank 0
            #expect(types[0] == 3 && types[1] == 3 && types[2] == 3)  // <unk>, <s>, </s>: CONTROL
            #expect(types[3] == 6 && scores[3] == 0)                  // <0x00>: BYTE
            let normal = scores.indices.filter { types[$0] == 1 }
            #expect(normal.allSatisfy { scores[$0] <= 0 })
            #expect(Set(normal.map { scores[$0] }).count > merges.count / 2)
        }
    }

    @Test func exportedVocabularyTokenizesAsTokenizerJSON() throws {
        let json = try Tokenizer(contentsOf: Self.tiny.appendingPathComponent("tokenizer.json"))
        let text = try String(contentsOf: DefaultModel.locate().appendingPathComponent("heldout.txt"), encoding: .utf8)
        let lines = text.split(separator: "\n").prefix(300).map(String.init) + ["", " two  spaces", "naïve — ünïcode ✓", "\n"]
        try exported(.q4) { url in
            let gguf = try Tokenizer(sentencePiece: SentencePieceVocabulary(gguf: GGUFFile(url: url)), source: url.path)
            #expect(gguf.bosTokenID == 1 && gguf.eosTokenID == 2)
            for line in lines {
                let ids = json.encode(line, addBOS: true)
                #expect(gguf.encode(line, addBOS: true) == ids, "\(line)")
                #expect(gguf.decode(ids, skipSpecialTokens: true) == json.decode(ids, skipSpecialTokens: true), "\(line)")
            }
        }
    }

    @Test(arguments: GGUFExportPrecision.allCases)
    func roundTripGivesTheSameLogitsAsTheSafetensorsAtThatPrecision(precision: GGUFExportPrecision) throws {
        let tokens = GGUFLoadingTests.tokens
        let source = try MixtralModel(checkpoint: Checkpoint(directory: Self.tiny), precision: PrecisionSpec(parsing: precision.rawValue))
        let expected = try source.forward(tokens, session: Session(model: source), allLogits: true)
        try exported(precision) { url in
            // Loaded at fp32: the quantized tensors are used as stored.
            let model = try MixtralModel(checkpoint: Checkpoint(directory: url), precision: PrecisionSpec(parsing: "fp32"))
            #expect(try model.forward(tokens, session: Session(model: model), allLogits: true) == expected)
        }
    }

    @Test func reExportingAGGUFReproducesIt() throws {
        try exported(.int8) { first in
            try exported(.int8, source: first) { second in
                let (a, b) = (try Data(contentsOf: first), try Data(contentsOf: second))
                #expect(a == b)
            }
        }
    }

    @Test func refusesToOverwriteWithoutForce() throws {
        try exported(.q4) { url in
            let checkpoint = try Checkpoint(directory: Self.tiny)
            #expect(throws: CheckpointWriteError.wouldOverwrite(path: url.path)) {
                try GGUFExport.write(checkpoint, precision: .q4, to: url, overwrite: false)
            }
            #expect(try GGUFExport.write(checkpoint, precision: .q4, to: url, overwrite: true).bytes == Data(contentsOf: url).count)
        }
    }

    /// Two exports to one new file (review 9, F32): the one that finishes second finds the first's file at
    /// the output, which appeared after its check, and refuses it (exit 2) instead of replacing it and
    /// reporting success; it leaves no partial file.
    @Test func aFileThatAppearsDuringTheExportIsNotReplacedWithoutForce() throws {
        try withTemporaryDirectory("gguf-export") { (folder: URL) throws in
            let url = folder.appendingPathComponent("race.gguf")
            let other = Data("the other run's export".utf8)
            #expect(throws: CheckpointWriteError.wouldOverwrite(path: url.path)) {
                try GGUFExport.write(Checkpoint(directory: Self.tiny), precision: .q4, to: url, overwrite: false) { done, _ in
                    if done == 1 { try? other.write(to: url) }
                }
            }
            #expect(try Data(contentsOf: url) == other)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["race.gguf"])
        }
    }

    @Test func aMissingFolderIsRefusedBeforeExporting() throws {
        try withTemporaryDirectory("gguf-export") { folder in
            let missing = folder.appendingPathComponent("missing/sub")
            #expect(throws: CheckpointWriteError.missingFolder(path: missing.path)) {
                try GGUFExport.write(Checkpoint(directory: Self.tiny), precision: .q4, to: missing.appendingPathComponent("out.gguf"), overwrite: false)
            }
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("missing").path))
        }
    }

    @Test func aFolderAtTheOutputIsRefusedBeforeExporting() throws {
        try withTemporaryDirectory("gguf-export") { folder in
            let output = folder.appendingPathComponent("model.gguf")
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: false)
            #expect(throws: CheckpointWriteError.isAFolder(path: output.path)) {
                try GGUFExport.write(Checkpoint(directory: Self.tiny), precision: .q4, to: output, overwrite: true) { _, _ in
                    Issue.record("exported before refusing the output")
                }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.gguf"])
        }
    }

    @Test func permuteRowsIsTheInverseOfTheLoadersUnpermute() throws {
        let m = Matrix(rows: 16, cols: 2, values: (0..<32).map(Float.init))
        let permuted = GGUFExport.permuteRows(m, heads: 2)
        // llama.cpp: head 0 rows [0..7] as [2, 4] → [4, 2]: stored rows 0, 4, 1, 5, 2, 6, 3, 7.
        #expect(stride(from: 0, to: 16, by: 1).map { Int(permuted.values[2 * $0] / 2) } == [0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15])
    }
}

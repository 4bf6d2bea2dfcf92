import Foundation
import Testing
@testable import Checkpoints
import TestSupport

/// The GGUF container: metadata of every value type and tensor infos as gguf-py reads them
/// (`tools/make_gguf_fixtures.py` → Fixtures/gguf/metadata-types.*), the writer, and the hardening.
@Suite struct GGUFReaderTests {
    static let fixture = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/gguf/metadata-types.gguf")

    /// A GGUFValue flattened as gguf-py's `ReaderField.contents()` flattens it (nested arrays concatenated).
    func flattened(_ value: GGUFValue) -> [Any] {
        switch value {
        case .array(_, let values): return values.flatMap(flattened)
        case .string(let s): return [s]
        case .bool(let b): return [b ? 1.0 : 0.0]
        default: return [value.double!]
        }
    }

    func jsonFlattened(_ value: Any) -> [Any] {
        if let array = value as? [Any] { return array.flatMap(jsonFlattened) }
        if let s = value as? String { return [s] }
        if let n = value as? NSNumber { return [n.doubleValue] }
        return [(value as! Bool) ? 1.0 : 0.0]
    }

    func same(_ a: [Any], _ b: [Any]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            switch (x, y) {
            case let (x as String, y as String): return x == y
            // Foundation's JSON parser on Linux may be off in the last bit of a 17-digit decimal.
            case let (x as Double, y as Double): return x == y || abs(x - y) <= 1e-15 * abs(y)
            default: return false
            }
        }
    }

    @Test func metadataOfEveryValueTypeMatchesGGUFPy() throws {
        let file = try GGUFFile(url: Self.fixture)
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture.deletingPathExtension().appendingPathExtension("json"))) as! [String: Any]
        let keys = expected["keys"] as! [[Any]]
        #expect(file.version == 3)
        #expect(file.metadataKeys == keys.map { $0[0] as! String })
        for entry in keys {
            let key = entry[0] as! String, types = entry[1] as! [String]
            let value = try #require(file.metadata[key])
            #expect(String(describing: value.type).uppercased() == types[0], "\(key)")
            #expect(same(flattened(value), jsonFlattened(entry[2])), "\(key): \(value)")
        }
        // Exact 64-bit values, nesting and element types, which the flattened comparison cannot show.
        #expect(file.metadata["t.uint64"] == .uint64(18_000_000_000_000_000_000))
        #expect(file.metadata["t.int64"] == .int64(-9_000_000_000_000_000_000))
        #expect(file.metadata["t.float32"] == .float32(0.1))
        #expect(file.metadata["t.array.nested"] == .array(elementType: .array, [.array(elementType: .int32, [.int32(1), .int32(2)]),
                                                                              .array(elementType: .int32, [.int32(3)])]))
        #expect(file.metadata["t.array.nested.strings"] == .array(elementType: .array, [.array(elementType: .string, [.string("x")]),
                                                                                      .array(elementType: .string, [.string("y"), .string("z")])]))
        #expect(file.metadata["t.array.uint64"] == .array(elementType: .uint64, [.uint64(0), .uint64(1 << 63)]))
        #expect(file.alignment == 64)
        #expect(file.dataOffset % 64 == 0)
    }

    @Test func tensorInfosAndValuesMatchGGUFPy() throws {
        let file = try GGUFFile(url: Self.fixture)
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture.deletingPathExtension().appendingPathExtension("json"))) as! [String: Any]
        let tensors = expected["tensors"] as! [[String: Any]]
        #expect(file.tensors.map(\.name) == tensors.map { $0["name"] as! String })
        for (info, entry) in zip(file.tensors, tensors) {
            #expect(info.type.name == entry["type"] as! String)
            #expect(info.dimensions == entry["dims"] as! [Int])
            #expect(info.offset % file.alignment == 0)
            let weight = GGUFWeight(wholeTensor: info, in: file)
            #expect(weight.shape == Array(info.dimensions.reversed()))
            #expect(try weight.floats() == (entry["values"] as! [Double]).map(Float.init), "\(info.name)")
        }
    }

    @Test func writerReproducesGGUFPyBytes() throws {
        let file = try GGUFFile(url: Self.fixture)
        var writer = GGUFWriter()
        for key in file.metadataKeys { writer.add(key, file.metadata[key]!) }
        for tensor in file.tensors {
            writer.addTensor(tensor.name, type: tensor.type, dimensions: tensor.dimensions, bytes: Array(file.bytes(tensor)))
        }
        try withTemporaryDirectory("gguf") { folder in
            let url = folder.appendingPathComponent("copy.gguf")
            try writer.write(to: url)
            #expect(try Data(contentsOf: url) == Data(contentsOf: Self.fixture))
        }
    }

    @Test func everyTruncationIsAnErrorNeverACrash() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.fixture))
        try withTemporaryDirectory("gguf") { folder in
            let url = folder.appendingPathComponent("truncated.gguf")
            for length in 0..<bytes.count {
                try Data(bytes[0..<length]).write(to: url)
                #expect(throws: CheckpointError.self, "truncated to \(length) bytes") { try GGUFFile(url: url) }
            }
            try Data(bytes).write(to: url)
            #expect(try GGUFFile(url: url).tensors.count == 6)
        }
    }

    // MARK: hardening, on hand-made files

    /// Little-endian bytes of a hand-made GGUF file.
    struct Bytes {
        var bytes: [UInt8] = []
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += s.utf8 }
        /// Magic, version, counts.
        init(version: UInt32 = 3, tensors: UInt64, keys: UInt64) {
            bytes += Array("GGUF".utf8)
            u32(version)
            u64(tensors)
            u64(keys)
        }
        /// A u32 metadata entry.
        mutating func keyU32(_ key: String, _ value: UInt32) { string(key); u32(GGUFValueType.uint32.rawValue); u32(value) }
        /// A tensor info.
        mutating func tensor(_ name: String, dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0) {
            string(name)
            u32(UInt32(dims.count))
            for d in dims { u64(d) }
            u32(type)
            u64(offset)
        }
        /// Padding to 32 and `count` data bytes.
        mutating func data(_ count: Int) { bytes += [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32 + count) }
    }

    /// The error opening `bytes` gives; fails the test when it opens.
    func error(_ bytes: Bytes) throws -> String {
        try withTemporaryDirectory("gguf") { folder in
            let url = folder.appendingPathComponent("hand-made.gguf")
            try Data(bytes.bytes).write(to: url)
            do {
                _ = try GGUFFile(url: url)
                Issue.record("opened without error")
                return ""
            } catch let error as CheckpointError {
                #expect(error.description.hasPrefix(url.path))
                return error.description
            }
        }
    }

    @Test func headerProblems() throws {
        var b = Bytes(tensors: 0, keys: 0)
        b.bytes[3] = UInt8(ascii: "X")
        #expect(try error(b).contains("magic"))
        #expect(try error(Bytes(version: 1, tensors: 0, keys: 0)).contains("version 1"))
        #expect(try error(Bytes(version: 0x0300_0000, tensors: 0, keys: 0)).contains("big-endian"))
        #expect(try error(Bytes(tensors: 1 << 60, keys: 0)).contains("tensor_count"))
        #expect(try error(Bytes(tensors: 0, keys: UInt64.max)).contains("metadata_kv_count"))
    }

    @Test func absurdStringsArraysAndTypes() throws {
        var longKey = Bytes(tensors: 0, keys: 1)
        longKey.u64(1 << 62)
        longKey.bytes += [UInt8](repeating: 0, count: 16)
        #expect(try error(longKey).contains("length 4611686018427387904"))

        var longArray = Bytes(tensors: 0, keys: 1)
        longArray.string("a")
        longArray.u32(GGUFValueType.array.rawValue)
        longArray.u32(GGUFValueType.uint64.rawValue)
        longArray.u64(1 << 61)
        #expect(try error(longArray).contains("array length"))

        var deep = Bytes(tensors: 0, keys: 1)
        deep.string("deep")
        deep.u32(GGUFValueType.array.rawValue)
        for _ in 0..<20 { deep.u32(GGUFValueType.array.rawValue); deep.u64(1) }
        #expect(try error(deep).contains("nested deeper"))

        var unknown = Bytes(tensors: 0, keys: 1)
        unknown.string("k")
        unknown.u32(13)
        #expect(try error(unknown).contains("unknown value type 13"))

        var twice = Bytes(tensors: 0, keys: 2)
        twice.keyU32("k", 1)
        twice.keyU32("k", 2)
        #expect(try error(twice).contains("appears twice"))
    }

    @Test func badAlignment() throws {
        for (value, message) in [(UInt32(0), "not a power of two"), (48, "not a power of two")] {
            var b = Bytes(tensors: 0, keys: 1)
            b.keyU32("general.alignment", value)
            #expect(try error(b).contains(message))
        }
        var wrongType = Bytes(tensors: 0, keys: 1)
        wrongType.string("general.alignment")
        wrongType.u32(GGUFValueType.uint64.rawValue)
        wrongType.u64(32)
        #expect(try error(wrongType).contains("expected uint32"))
    }

    @Test func badTensorInfos() throws {
        func tensor(_ dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0, data: Int = 128) -> Bytes {
            var b = Bytes(tensors: 1, keys: 0)
            b.tensor("t", dims: dims, type: type, offset: offset)
            b.data(data)
            return b
        }
        #expect(try error(tensor([1, 1, 1, 1, 1])).contains("5 dimensions"))
        #expect(try error(tensor([1 << 62, 8])).contains("overflow"))
        #expect(try error(tensor([1 << 61])).contains("overflows"))
        #expect(try error(tensor([1 << 40])).contains("truncated"))
        #expect(try error(tensor([32], offset: 1 << 40)).contains("truncated"))
        #expect(try error(tensor([32], offset: UInt64.max)).contains("out of range"))
        #expect(try error(tensor([32], offset: 4)).contains("not a multiple of the alignment"))
        #expect(try error(tensor([32], type: 4)).contains("unknown GGML type id 4"))
        #expect(try error(tensor([16], type: GGMLType.q8_0.id)).contains("not a whole number of Q8_0 blocks"))
        #expect(try error(tensor([UInt64.max])).contains("out of range"))

        var twice = Bytes(tensors: 2, keys: 0)
        twice.tensor("t", dims: [8])
        twice.tensor("t", dims: [8], offset: 32)
        twice.data(64)
        #expect(try error(twice).contains("appears twice"))
    }
}

@Suite struct GGUFTokenizerKeysTests {
    @Test func aFileWithoutTokenizerKeysNamesTheMissingKey() throws {
        let file = try GGUFFile(url: GGUFReaderTests.fixture)
        let error = #expect(throws: TokenizerError.self) { try SentencePieceVocabulary(gguf: file) }
        #expect(error?.description.contains("tokenizer.ggml.model") == true)
    }
}

@Suite struct GGUFDecodedTypesTests {
    @Test func kQuantTensorsDecodeAsGGUFPy() throws {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/gguf/k-quants.gguf")
        let file = try GGUFFile(url: url)
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: url.deletingPathExtension().appendingPathExtension("json"))) as! [String: Any]
        for entry in expected["tensors"] as! [[String: Any]] {
            let tensor = try #require(file.tensor(entry["name"] as! String))
            #expect(tensor.type.name == entry["type"] as! String)
            #expect(try GGUFWeight(wholeTensor: tensor, in: file).floats() == (entry["values"] as! [Double]).map(Float.init), "\(tensor.name)")
        }
    }

    @Test func anUnsupportedTypeIsAnErrorNamingTensorAndType() throws {
        var writer = GGUFWriter()
        writer.add("general.architecture", .string("test"))
        writer.addTensor("blk.0.attn_q.weight", type: .q2_K, dimensions: [256, 1], bytes: [UInt8](repeating: 0, count: GGMLType.q2_K.typeSize))
        try withTemporaryDirectory("gguf") { folder in
            let url = folder.appendingPathComponent("q2k.gguf")
            try writer.write(to: url)
            let file = try GGUFFile(url: url)
            let error = #expect(throws: CheckpointError.self) { try GGUFWeight(wholeTensor: file.tensors[0], in: file).floats() }
            #expect(error?.description.contains("blk.0.attn_q.weight: type Q2_K is not supported") == true)
        }
    }
}

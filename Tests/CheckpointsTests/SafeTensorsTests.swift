import Testing
import Foundation
@testable import Checkpoints
import TestSupport

/// Builds a safetensors file in `folder` from a header dictionary and a data buffer.
private func writeSafeTensors(in folder: URL, header: [String: Any], data: [UInt8], headerLengthOverride: UInt64? = nil,
                              padding: Int = 0) throws -> URL {
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    json.append(contentsOf: [UInt8](repeating: 0x20, count: padding))
    var length = headerLengthOverride ?? UInt64(json.count)
    var bytes = Data(bytes: &length, count: 8)
    bytes.append(json)
    bytes.append(contentsOf: data)
    let url = folder.appendingPathComponent("\(UUID().uuidString).safetensors")
    try bytes.write(to: url)
    return url
}

private func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

@Suite struct SafeTensorsTests {
    /// This test's folder, removed when the test ends.
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("safetensors") }

    @Test func readsF32F16BF16AndUnalignedData() throws {
        // a: F32 [2] at offset 0; b: BF16 [3] at 8; c: F16 [1] at 14; d: F32 [1] at 16 — header padding of 3
        // bytes makes the data start unaligned.
        let bf16: [UInt16] = [0x3F80, 0x0001, 0x7F80]       // 1.0, smallest subnormal, +inf
        let f16: UInt16 = 0x3C00                              // 1.0
        var data = floatBytes([1.5, -2])
        for b in bf16 { data += withUnsafeBytes(of: b.littleEndian) { Array($0) } }
        data += withUnsafeBytes(of: f16.littleEndian) { Array($0) }
        data += floatBytes([3.25])
        let url = try writeSafeTensors(in: scratch.url, header: [
            "a": ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]],
            "b": ["dtype": "BF16", "shape": [3], "data_offsets": [8, 14]],
            "c": ["dtype": "F16", "shape": [1], "data_offsets": [14, 16]],
            "d": ["dtype": "F32", "shape": [1, 1], "data_offsets": [16, 20]],
            "__metadata__": ["format": "pt"],
        ], data: data, padding: 3)
        let file = try SafeTensorsFile(url: url)
        #expect(try file.floats("a") == [1.5, -2])
        let b = try file.floats("b")
        #expect(b[0] == 1)
        #expect(abs(b[1] - 9.18e-41) < 1e-43 && b[1] > 0)
        #expect(b[2] == .infinity)
        #expect(try file.floats("c") == [1])
        #expect(try file.floats("d") == [3.25])
        #expect(file.metadata["format"] == "pt")
    }

    @Test func bfloat16EdgeBitPatterns() {
        #expect(bfloat16ToFloat(0x0001) == Float(bitPattern: 0x0001_0000))
        #expect(abs(bfloat16ToFloat(0x0001) - 9.18e-41) < 1e-43)
        #expect(bfloat16ToFloat(0x7F80) == .infinity)
        #expect(bfloat16ToFloat(0xFF80) == -.infinity)
        #expect(bfloat16ToFloat(0x7FC0).isNaN)
        #expect(bfloat16ToFloat(0x8000).sign == .minus && bfloat16ToFloat(0x8000) == 0)
    }

    @Test func truncatedFileSaysSo() throws {
        let url = try writeSafeTensors(in: scratch.url, header: ["a": ["dtype": "F32", "shape": [4], "data_offsets": [0, 16]]],
                                       data: floatBytes([1, 2]))
        #expect(throws: CheckpointError.self) { try SafeTensorsFile(url: url) }
        do { _ = try SafeTensorsFile(url: url) } catch { #expect("\(error)".contains("truncated")) }
    }

    @Test func headerLengthLargerThanFile() throws {
        let url = try writeSafeTensors(in: scratch.url, header: ["a": ["dtype": "F32", "shape": [1], "data_offsets": [0, 4]]],
                                       data: floatBytes([1]), headerLengthOverride: 10_000)
        do { _ = try SafeTensorsFile(url: url); Issue.record("expected an error") } catch let error as CheckpointError {
            guard case .truncated = error else { Issue.record("wrong error \(error)"); return }
        }
    }

    @Test func gitLFSPointerIsRecognised() throws {
        let url = scratch.url.appendingPathComponent("lfs.safetensors")
        try "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: CheckpointError.gitLFSPointer(path: url.path)) { try SafeTensorsFile(url: url) }
    }

    @Test func overlappingOffsetsAreRejected() throws {
        let url = try writeSafeTensors(in: scratch.url, header: [
            "a": ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]],
            "b": ["dtype": "F32", "shape": [2], "data_offsets": [4, 12]],
        ], data: floatBytes([1, 2, 3]))
        do { _ = try SafeTensorsFile(url: url); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("overlaps"))
        }
    }

    @Test func unknownDtypeAndShapeMismatch() throws {
        let unknown = try writeSafeTensors(in: scratch.url, header: ["a": ["dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]]],
                                           data: [0, 0, 0, 0])
        do { _ = try SafeTensorsFile(url: unknown); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("unsupported dtype F8_E4M3") && "\(error)".contains("tensor a"))
        }
        let mismatch = try writeSafeTensors(in: scratch.url, header: ["a": ["dtype": "F32", "shape": [3], "data_offsets": [0, 8]]],
                                            data: floatBytes([1, 2]))
        do { _ = try SafeTensorsFile(url: mismatch); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("shape [3]"))
        }
    }

    @Test func headerThatIsNotJSON() throws {
        var length: UInt64 = 5
        var bytes = Data(bytes: &length, count: 8)
        bytes.append(contentsOf: Array("nope!".utf8))
        let url = scratch.url.appendingPathComponent("bad.safetensors")
        try bytes.write(to: url)
        do { _ = try SafeTensorsFile(url: url); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("not a JSON object"))
        }
    }
}

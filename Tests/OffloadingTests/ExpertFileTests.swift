import Testing
import Foundation
import Synchronization
import Tensors
@testable import Offloading
import TestSupport

/// `ExpertFile.read`: direct (`O_DIRECT`, chunked, through bounce buffers) and buffered reads give the
/// file's bytes at any offset and length, up to the file's last byte; past it, `truncated`.
struct ExpertFileTests {
    let scratch: TemporaryDirectory
    let url: URL
    let bytes: [UInt8]

    init() throws {
        scratch = try TemporaryDirectory("expert-file")
        // 9 MiB + 123 bytes: more than two direct chunks, an end inside an aligned block
        var random = SplitMix64(seed: 11)
        bytes = (0..<(9 << 20) + 123).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        url = scratch.url.appendingPathComponent("experts.bin")
        try Data(bytes).write(to: url)
    }

    private func read(_ file: ExpertFile, count: Int, at offset: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try file.read(into: $0, at: offset) }
        return out
    }

    @Test(arguments: [1 << 20, 1, Int.max])
    func readsGiveTheFilesBytes(minimum: Int) throws {
        let file = try ExpertFile(path: url.path)
        file.directReadMinimumBytes = minimum
        if minimum != Int.max { #expect(file.readsDirect, "O_DIRECT refused on the test's file system") }
        let ranges = [(0, 4), (96, 1 << 20), (4095, (4 << 20) + 2), (32, (8 << 20) + 7), (bytes.count - (5 << 20) - 3, (5 << 20) + 3),
                      (bytes.count - 1, 1), (12_345, 1)]
        for (offset, count) in ranges {
            #expect(try read(file, count: count, at: offset) == Array(bytes[offset..<(offset + count)]), "\(count) bytes at \(offset)")
        }
        #expect(throws: ExpertStoreError.self) { try read(file, count: (2 << 20) + 1, at: bytes.count - (2 << 20)) }
        #expect(throws: ExpertStoreError.self) { try read(file, count: 8, at: bytes.count - 4) }
    }

    @Test func aBatchFillsEveryPiece() throws {
        let file = try ExpertFile(path: url.path)
        // large and small pieces, out of file order, one sharing an aligned block with the next
        let ranges = [(5 << 20, (3 << 20) + 5), (96, (2 << 20) + 1), (100, 7), ((2 << 20) + 97, 1 << 20)]
        let starts = ranges.indices.map { i in ranges[..<i].map(\.1).reduce(0, +) }
        var out = [UInt8](repeating: 0, count: ranges.map(\.1).reduce(0, +))
        try out.withUnsafeMutableBytes { raw in
            try file.read(ranges.indices.map { i in
                ExpertFile.Piece(UnsafeMutableRawBufferPointer(rebasing: raw[starts[i]..<(starts[i] + ranges[i].1)]), at: ranges[i].0)
            })
        }
        for (i, (offset, count)) in ranges.enumerated() {
            #expect(Array(out[starts[i]..<(starts[i] + count)]) == Array(bytes[offset..<(offset + count)]), "piece \(i): \(count) bytes at \(offset)")
        }
    }

    /// A piece with a placement: every byte goes through `place`, each call gets whole units (the last
    /// may end with the piece), and the chunks of a direct read together cover the piece once.
    @Test(arguments: [1, Int.max])
    func aPlacementGetsWholeUnitsOfEveryByte(minimum: Int) throws {
        let file = try ExpertFile(path: url.path)
        file.directReadMinimumBytes = minimum
        let unit = 64_512, offset = 4_096 + 32, count = 140 * unit + 700   // three direct chunks, a part unit at the end
        let calls = PlacementCalls()
        let placement = ExpertFile.Placement(unitBytes: unit) { source, destination in
            calls.append(source.count)
            for i in 0..<source.count { destination[i] = source[i] &+ 1 }
        }
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try file.read([ExpertFile.Piece($0, at: offset, placement: placement)]) }
        #expect(out == bytes[offset..<(offset + count)].map { $0 &+ 1 })
        let sizes = calls.sizes
        // the calls come from the reader threads in any order: one (the piece's end) is not whole units
        #expect(sizes.reduce(0, +) == count && sizes.filter { $0 % unit != 0 } == [minimum == Int.max ? count : count - 130 * unit], "\(sizes)")
        #expect(sizes.count == (minimum == Int.max ? 1 : 3), "\(sizes)")
    }
}

/// The sizes a placement was called with, from the reader threads.
private final class PlacementCalls: Sendable {
    private let list = Mutex<[Int]>([])
    func append(_ size: Int) { list.withLock { $0.append(size) } }
    var sizes: [Int] { list.withLock { $0 } }
}

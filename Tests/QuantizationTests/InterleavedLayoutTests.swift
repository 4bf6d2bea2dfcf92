import Foundation
import Testing
import Tensors
@testable import Quantization

// The in-RAM layout of Q8_0/Q4_0 weights (groups of 8 rows interleaved block by block, CKernels.h): byte
// positions as documented, the GGUF layout given back unchanged, and the fp32-activation products and row
// decoding unchanged by it, on row counts that 8 does not divide.

/// A GGUF-layout weight of `rows` rows of `blocks` blocks with every byte distinct enough to trace:
/// byte j of block (r, b) = a hash of (r, b, j).
private func tracedBlocks<Format: GGMLBlockFormat>(_: Format.Type, rows: Int, blocks: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    for r in 0..<rows {
        for b in 0..<blocks {
            bytes += (0..<Format.typeSize).map { j in UInt8(truncatingIfNeeded: (r &* 131 &+ b &* 31 &+ j &* 7) ^ (r >> 3)) }
        }
    }
    return bytes
}

private let rowCounts = [1, 7, 8, 9, 16, 23, 203]

@Test func interleavedBytesSitWhereTheLayoutSays() {
    func check<Format: GGMLBlockFormat>(_: Format.Type) {
        for rows in rowCounts {
            let blocks = 3, size = Format.typeSize, words = (size - 2) / 4
            let gguf = tracedBlocks(Format.self, rows: rows, blocks: blocks)
            let m = GGMLMatrix<Format>(rows: rows, cols: 32 * blocks, blocks: gguf)
            var misplaced = 0
            for r in 0..<rows {
                for b in 0..<blocks {
                    let source = (r * blocks + b) * size
                    let wholeRows = rows / 8 * 8
                    if r >= wholeRows {   // after the last whole group: as in GGUF
                        if Array(m.interleavedBytes[source..<(source + size)]) != Array(gguf[source..<(source + size)]) { misplaced += 1 }
                        continue
                    }
                    let groupBlock = ((r / 8) * blocks + b) * 8 * size, i = r % 8
                    if m.interleavedBytes[groupBlock + 2 * i] != gguf[source] || m.interleavedBytes[groupBlock + 2 * i + 1] != gguf[source + 1] { misplaced += 1 }
                    for k in 0..<words {
                        let at = groupBlock + 16 + 32 * k + 4 * i
                        if Array(m.interleavedBytes[at..<(at + 4)]) != Array(gguf[(source + 2 + 4 * k)..<(source + 6 + 4 * k)]) { misplaced += 1 }
                    }
                }
            }
            #expect(misplaced == 0, "\(Format.ggmlName) \(rows) rows: \(misplaced) pieces misplaced")
            #expect(m.blocks == gguf, "\(Format.ggmlName) \(rows) rows: the GGUF layout given back")
            #expect(m.byteCount == gguf.count)
        }
    }
    check(Q8_0.self)
    check(Q4_0.self)
}

/// Interleaving in place (what an expert cache slot does after a read) gives the bytes the initialiser
/// keeps.
@Test func interleavingInPlaceMatchesTheInitialiser() {
    for rows in rowCounts {
        let gguf = tracedBlocks(Q4_0.self, rows: rows, blocks: 5)
        var bytes = gguf
        bytes.withUnsafeMutableBytes { Q4_0Matrix.interleave($0, rows: rows, cols: 160) }
        #expect(bytes == Q4_0Matrix(rows: rows, cols: 160, blocks: gguf).interleavedBytes, "\(rows) rows")
    }
}

/// With fp32 activations the products are those of the GGUF layout's bytes (`referenceFP32Products`), bit
/// for bit (the layout changes where the bytes are, not the arithmetic); `decodeRows` of any range is
/// `dequantize` of those rows' GGUF blocks.
@Test func fp32ProductsAndDecodedRowsAreThoseOfTheGGUFLayout() throws {
    func check<Format: GGMLBlockFormat>(_: Format.Type) throws {
        for rows in [9, 203, 1029] {
            let cols = 96, blocksPerRow = cols / 32, rowBytes = blocksPerRow * Format.typeSize
            let m = try GGMLMatrix<Format>(quantizing: Matrix(rows: rows, cols: cols, values: randomWeights(rows * cols, seed: UInt64(rows))),
                                           tensorName: "w")
            let gguf = m.blocks
            let x = randomWeights(cols, seed: 5, scale: 1)
            let expected = referenceFP32Products(m, x, tokens: 1)
            #expect(m.apply(x).map(\.bitPattern) == expected.map(\.bitPattern), "\(Format.ggmlName) \(rows) rows")
            for range in [0..<rows, 3..<4, 5..<(rows - 1), (rows - 2)..<rows] {
                var out = [Float](repeating: .nan, count: range.count * cols)
                out.withUnsafeMutableBufferPointer { m.decodeRows(range, into: $0.baseAddress!) }
                let slice = Array(gguf[(range.lowerBound * rowBytes)..<(range.upperBound * rowBytes)])
                #expect(out.map(\.bitPattern) == Format.dequantize(slice).map(\.bitPattern), "\(Format.ggmlName) rows \(range)")
            }
        }
    }
    try check(Q8_0.self)
    try check(Q4_0.self)
}

/// Memory holding a copy of GGUF-layout bytes, standing in for a mapped file's pages (`BorrowedBlocks`).
private final class BlockMemory: Sendable {
    let address: UInt
    let count: Int

    init(_ bytes: [UInt8]) {
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        memory.copyBytes(from: bytes)
        address = UInt(bitPattern: memory.baseAddress!)
        count = bytes.count
    }

    deinit { UnsafeMutableRawPointer(bitPattern: address)!.deallocate() }

    var blocks: BorrowedBlocks { BorrowedBlocks(address: UnsafeRawPointer(bitPattern: address)!, byteCount: count, owner: self) }
}

/// A matrix over GGUF-layout bytes where they lie (an expert computed from a mapped file) gives the bits of
/// the same matrix in the interleaved layout, for every kernel this CPU runs, both activation precisions,
/// row counts 8 does not divide, 1–4 tokens (the x86 kernels' decode path) and more (their packed path);
/// its `blocks` and `decodeRows` are the bytes it was given.
@Test(arguments: IntegerKernel.allCases.filter(\.isAvailable))
func productsOnTheGGUFLayoutGiveTheInterleavedLayoutsBits(kernel: IntegerKernel) throws {
    func check<Format: GGMLBlockFormat>(_: Format.Type) throws {
        for (rows, cols, n) in [(9, 96, 1), (16, 64, 3), (23, 1056, 4), (203, 160, 5), (64, 96, 70), (1029, 64, 2)] {
            let interleaved = try GGMLMatrix<Format>(quantizing: Matrix(rows: rows, cols: cols, values: randomWeights(rows * cols, seed: UInt64(rows + cols))),
                                                     tensorName: "w")
            let memory = BlockMemory(interleaved.blocks)
            let mapped = GGMLMatrix<Format>(rows: rows, cols: cols, mapped: memory.blocks)
            #expect(mapped.blocks == interleaved.blocks && mapped.byteCount == interleaved.byteCount)
            #expect(mapped.dequantized().values.map(\.bitPattern) == interleaved.dequantized().values.map(\.bitPattern), "\(Format.ggmlName) [\(rows) × \(cols)] decoded")
            let x = randomWeights(n * cols, seed: UInt64(n), scale: 2)
            for rounded in [false, true] {
                func products(_ m: GGMLMatrix<Format>) -> [UInt32] {
                    var y = [Float](repeating: .nan, count: n * rows)
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { out in
                            if rounded { m.applyRounded(batch: n, xp.baseAddress!, into: out.baseAddress!, kernel: kernel) }
                            else { m.applyExact(batch: n, xp.baseAddress!, into: out.baseAddress!, kernel: kernel) }
                        }
                    }
                    return y.map(\.bitPattern)
                }
                let differing = zip(products(mapped), products(interleaved)).filter { $0 != $1 }.count
                #expect(differing == 0, "\(Format.ggmlName) \(kernel) [\(rows) × \(cols)] × \(n)\(rounded ? " q8" : ""): \(differing) of \(n * rows) differ")
            }
        }
    }
    try check(Q8_0.self)
    try check(Q4_0.self)
}

private extension GGMLMatrix {
    /// The array of a matrix made in RAM (interleaved storage).
    var interleavedBytes: [UInt8] {
        guard case .interleaved(let bytes) = storage else { preconditionFailure("a matrix made in RAM is interleaved") }
        return bytes
    }
}

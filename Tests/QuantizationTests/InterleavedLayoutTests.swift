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
                        if Array(m.interleaved[source..<(source + size)]) != Array(gguf[source..<(source + size)]) { misplaced += 1 }
                        continue
                    }
                    let groupBlock = ((r / 8) * blocks + b) * 8 * size, i = r % 8
                    if m.interleaved[groupBlock + 2 * i] != gguf[source] || m.interleaved[groupBlock + 2 * i + 1] != gguf[source + 1] { misplaced += 1 }
                    for k in 0..<words {
                        let at = groupBlock + 16 + 32 * k + 4 * i
                        if Array(m.interleaved[at..<(at + 4)]) != Array(gguf[(source + 2 + 4 * k)..<(source + 6 + 4 * k)]) { misplaced += 1 }
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
        #expect(bytes == Q4_0Matrix(rows: rows, cols: 160, blocks: gguf).interleaved, "\(rows) rows")
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

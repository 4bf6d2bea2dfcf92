import Tensors

/// The per-block absmax of an NF4 tensor: plain fp32, or double-quantized (`nf4-dq`).
public enum NF4Absmax: Sendable, Equatable {
    /// One fp32 absmax per block.
    case plain([Float])
    /// 8-bit codes + per-256 absmax2 + offset (`compress_statistics=True`).
    case doubleQuantized(DoubleQuantizedAbsmax)

    /// Number of NF4 blocks described.
    public var count: Int {
        switch self {
        case .plain(let absmax): return absmax.count
        case .doubleQuantized(let dq): return dq.codes.count
        }
    }

    /// Bytes held in memory.
    public var byteCount: Int {
        switch self {
        case .plain(let absmax): return 4 * absmax.count
        case .doubleQuantized(let dq): return dq.byteCount
        }
    }

    /// Absmax of blocks `blocks` as fp32, to `out[0..<blocks.count]`.
    func decode(_ blocks: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .plain(let absmax):
            absmax.withUnsafeBufferPointer { a in out.update(from: a.baseAddress! + blocks.lowerBound, count: blocks.count) }
        case .doubleQuantized(let dq):
            dq.decode(blocks, into: out)
        }
    }
}

/// A weight `[rows, cols]` in bitsandbytes NF4 (precision `nf4`, or `nf4-dq` with double-quantized
/// absmax). Layout as `NF4` describes: blocks over the flattened tensor, two codes per byte (first in
/// the high nibble). Products decode the codes on the fly; nothing is kept in fp32.
public struct NF4Matrix: LinearOperator {
    public let rows: Int
    public let cols: Int
    /// Weights per block (bitsandbytes `blocksize`).
    public let blocksize: Int
    /// `(rows · cols + 1) / 2` bytes of packed codes.
    public let packed: [UInt8]
    /// `ceil(rows · cols / blocksize)` block scales.
    public let absmax: NF4Absmax

    /// Quantizes `weight` as `quantize_4bit(weight, blocksize, quant_type="nf4",
    /// compress_statistics=doubleQuantization)`.
    /// - Throws: `QuantizeError.invalidBlocksize`, `.nonFiniteWeight`.
    public init(quantizing weight: Matrix, tensorName: String, blocksize: Int = 64,
                doubleQuantization: Bool = false) throws {
        guard NF4.validBlocksizes.contains(blocksize) else {
            throw QuantizeError.invalidBlocksize(tensor: tensorName, blocksize: blocksize)
        }
        try requireFinite(weight, tensorName: tensorName)
        let count = weight.rows * weight.cols
        let blocks = (count + blocksize - 1) / blocksize
        var packed = [UInt8](repeating: 0, count: (count + 1) / 2)
        var absmax = [Float](repeating: 0, count: blocks)
        weight.values.withUnsafeBufferPointer { x in
            packed.withUnsafeMutableBufferPointer { p in
                absmax.withUnsafeMutableBufferPointer { a in
                    let input = x.baseAddress!, output = p.baseAddress!, scales = a.baseAddress!
                    // blocks play the role of rows here: split them across cores
                    forEachRowRange(rows: blocks, cols: blocksize) { range in
                        NF4.quantizeBlocks(range, of: input, count: count, blocksize: blocksize,
                                           packed: output, absmax: scales)
                    }
                }
            }
        }
        self.init(rows: weight.rows, cols: weight.cols, blocksize: blocksize, packed: packed,
                  absmax: doubleQuantization ? .doubleQuantized(DoubleQuantizedAbsmax(quantizing: absmax)) : .plain(absmax))
    }

    /// Wraps stored NF4 data (e.g. a bitsandbytes checkpoint). Preconditions: sizes consistent with
    /// `[rows, cols]` and `blocksize`.
    public init(rows: Int, cols: Int, blocksize: Int, packed: [UInt8], absmax: NF4Absmax) {
        let count = rows * cols
        precondition(packed.count == (count + 1) / 2 && absmax.count == (count + blocksize - 1) / blocksize,
                     "NF4Matrix: \(packed.count) bytes, \(absmax.count) absmax do not hold [\(rows), \(cols)] in blocks of \(blocksize)")
        self.rows = rows
        self.cols = cols
        self.blocksize = blocksize
        self.packed = packed
        self.absmax = absmax
    }

    public var outFeatures: Int { rows }
    public var inFeatures: Int { cols }
    public var byteCount: Int { packed.count + absmax.byteCount }
    public var formatName: String {
        if case .doubleQuantized = absmax { return Precision.nf4dq.rawValue }
        return Precision.nf4.rawValue
    }

    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        forEachRowRange(rows: rows, cols: cols) { range in
            if cols % blocksize == 0 {
                dotAlignedRows(range, x, into: y)
            } else {
                // blocks cross rows: decode one row at a time, then dot
                var row = [Float](repeating: 0, count: cols)
                row.withUnsafeMutableBufferPointer { buffer in
                    for r in range {
                        decodeRows(r..<(r + 1), into: buffer.baseAddress!)
                        y[r] = dot(buffer.baseAddress!, x, cols)
                    }
                }
            }
        }
    }

    /// `y[r] = W[r, :] · x` when every row is a whole number of blocks. Hot loop of NF4 decode: each
    /// byte looks up its two codebook values at once (`NF4.pairTable`), 8 bytes per 16 weights.
    private func dotAlignedRows(_ range: Range<Int>, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let blocksPerRow = cols / blocksize
        var scales = [Float](repeating: 0, count: blocksPerRow)
        NF4.pairTable.withUnsafeBufferPointer { table in
            packed.withUnsafeBufferPointer { bytes in
                scales.withUnsafeMutableBufferPointer { s in
                    let t = table.baseAddress!
                    for r in range {
                        absmax.decode((r * blocksPerRow)..<((r + 1) * blocksPerRow), into: s.baseAddress!)
                        let rowBytes = bytes.baseAddress! + r * cols / 2
                        var acc = SIMD16<Float>(repeating: 0)
                        for k in 0..<blocksPerRow {
                            var blockSum = SIMD16<Float>(repeating: 0)
                            var j = k * blocksize
                            while j < (k + 1) * blocksize {
                                let p = rowBytes + j / 2
                                let w = SIMD16<Float>(
                                    lowHalf: SIMD8(lowHalf: SIMD4(lowHalf: t[Int(p[0])], highHalf: t[Int(p[1])]),
                                                   highHalf: SIMD4(lowHalf: t[Int(p[2])], highHalf: t[Int(p[3])])),
                                    highHalf: SIMD8(lowHalf: SIMD4(lowHalf: t[Int(p[4])], highHalf: t[Int(p[5])]),
                                                    highHalf: SIMD4(lowHalf: t[Int(p[6])], highHalf: t[Int(p[7])])))
                                blockSum += w * UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self)
                                j += 16
                            }
                            acc += blockSum * s[k]
                        }
                        y[r] = horizontalSum(acc)
                    }
                }
            }
        }
    }

    public func apply(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        if n == 1 { return apply(x, into: y) }
        applyBatchByTiles(rows: rows, cols: cols, n: n, x, into: y, decodeRows: decodeRows)
    }

    public func dequantized() -> Matrix { decodeAll(rows: rows, cols: cols, decodeRows: decodeRows) }

    /// Rows `range` decoded to fp32 `[range.count, cols]` at `out` (also an embedding-row lookup).
    public func decodeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let elements = (range.lowerBound * cols)..<(range.upperBound * cols)
        guard !elements.isEmpty else { return }
        let firstBlock = elements.lowerBound / blocksize
        let blocks = firstBlock..<((elements.upperBound - 1) / blocksize + 1)
        var scales = [Float](repeating: 0, count: blocks.count)
        scales.withUnsafeMutableBufferPointer { s in
            absmax.decode(blocks, into: s.baseAddress!)
            packed.withUnsafeBufferPointer { bytes in
                NF4.decodeElements(elements, packed: bytes.baseAddress!, blocksize: blocksize,
                                   absmax: s.baseAddress!, firstBlock: firstBlock, into: out)
            }
        }
    }
}

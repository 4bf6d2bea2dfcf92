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
    public init(quantizing weight: Matrix, tensorName: String, blocksize: Int = NF4.defaultBlocksize,
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

    /// `y[r] = W[r, :] · x` when every row is a whole number of blocks.
    private func dotAlignedRows(_ range: Range<Int>, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let blocksPerRow = cols / blocksize
        var scales = [Float](repeating: 0, count: blocksPerRow)
        packed.withUnsafeBufferPointer { bytes in
            scales.withUnsafeMutableBufferPointer { s in
                for r in range {
                    absmax.decode((r * blocksPerRow)..<((r + 1) * blocksPerRow), into: s.baseAddress!)
                    let lanes = NF4.dotRow(bytes.baseAddress! + r * cols / 2, blocks: blocksPerRow,
                                           blocksize: blocksize, absmax: s.baseAddress!, x)
                    y[r] = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
                }
            }
        }
    }

    public func apply(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        applyBatch(rows: rows, cols: cols, n: n, x, into: y, matvec: apply, decodeRows: decodeRows)
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

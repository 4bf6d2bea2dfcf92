import Tensors
import CKernels

/// Weights per block in GGML's Q8_0 and Q4_0 (`QK8_0 = QK4_0 = 32`, ggml-common.h).
public let ggmlBlockSize = 32

/// A GGML block format: each run of 32 weights along a row becomes one self-contained block of
/// `typeSize` bytes — a little-endian fp16 scale `d` followed by packed integer codes.
///
/// The block functions are ports of gguf-py `gguf/quants.py` (`Q8_0`, `Q4_0`), itself a bit-exact port
/// of `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref` in ggml's `ggml-quants.c`; the fixtures in
/// QuantizationTests check them byte for byte. Byte order assumes a little-endian host.
public protocol GGMLBlockFormat: Sendable {
    /// `.int8` for Q8_0, `.q4` for Q4_0.
    static var precision: Precision { get }
    /// GGML's name, `"Q8_0"` or `"Q4_0"`.
    static var ggmlName: String { get }
    /// Bytes per block: `sizeof(block_q8_0)` = 34, `sizeof(block_q4_0)` = 18.
    static var typeSize: Int { get }
    /// About the largest block absmax whose fp16 scale is finite (Q8_0 65504·127, Q4_0 65504·8).
    static var largestAbsmax: Float { get }
    /// Quantizes 32 values at `x` into one block at `block`. Values must be finite (not checked here);
    /// a scale too large for fp16 is stored as +Inf, as gguf-py does.
    static func quantizeBlock(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer)
    /// The offset subtracted from a stored code to give the weight over d: 8 for Q4_0, 0 for Q8_0.
    static var codeOffset: Float { get }
    /// The 32 stored codes of one block (without `codeOffset` taken off) as fp32, to `w`. Inlined into
    /// `decodeBlocksOneByOne`, where LLVM vectorises it.
    static func codes(_ block: UnsafeRawPointer, into w: UnsafeMutablePointer<Float>)
    /// Decodes `count` consecutive blocks at `blocks` (e.g. rows of a weight) to `32·count` values at `x`
    /// (`decodeBlocksOneByOne`).
    static func decodeBlocks(_ blocks: UnsafeRawPointer, count: Int, into x: UnsafeMutablePointer<Float>)
    /// `y[t · yStride + r] = Σ_b d_w · Σ_j w·x` for `rows` rows of `blocks` blocks at `weights` (in
    /// `layout`, `GGMLMatrix.Storage`) and `n` tokens of fp32 activations `x: [n, 32·blocks]`
    /// (the default and reference path): `ck_q8_0_products_f32` / `ck_q4_0_products_f32` in
    /// Sources/CKernels, through `kernel`. `xBlockSums: [n, blocks]`, each block's Σ x (`blockSums`), read
    /// only when `codeOffset` is not 0.
    static func fp32Products(_ kernel: IntegerKernel, _ layout: ck_layout, _ weights: UnsafeRawPointer, rows: Int, blocks: Int,
                             _ x: UnsafePointer<Float>, xBlockSums: UnsafePointer<Float>, tokens n: Int,
                             into y: UnsafeMutablePointer<Float>, yStride: Int)
    /// `y[t · yStride + r] = Σ_b d_w · d_x · Σ_j w·x` for `rows` rows of `blocks` blocks at `weights` (in
    /// `layout`, `GGMLMatrix.Storage`) and
    /// `n` tokens of rounded activations (`--activations q8`): `ck_q8_0_products` / `ck_q4_0_products`
    /// in Sources/CKernels, through `kernel`.
    static func roundedProducts(_ kernel: IntegerKernel, _ layout: ck_layout, _ weights: UnsafeRawPointer, rows: Int, blocks: Int,
                                _ x: RoundedActivations, tokens n: Int, into y: UnsafeMutablePointer<Float>, yStride: Int)
}

extension GGMLBlockFormat {
    /// `decodeBlocks`: each block's unscaled weights times its scale d.
    @inline(__always)
    static func decodeBlocksOneByOne(_ blocks: UnsafeRawPointer, count: Int, into x: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = blocks + b * typeSize
            let d = scale(block)
            let out = x + 32 * b
            codes(block, into: out)
            for j in 0..<32 { out[j] = (out[j] - codeOffset) * d }
        }
    }

    /// The block's fp16 scale d as fp32 (one `vcvtph2ps` with F16C, see Package.swift).
    @inline(__always)
    static func scale(_ block: UnsafeRawPointer) -> Float {
        Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
    }
}

/// The sum of each block of 32 values of `x: [32·blocks]` to `sums: [blocks]` (for `fp32Products`).
@inline(__always)
func blockSums(_ x: UnsafePointer<Float>, blocks: Int, into sums: UnsafeMutablePointer<Float>) {
    let raw = UnsafeRawPointer(x)
    for b in 0..<blocks {
        let offset = 128 * b
        let lanes = (raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                     + raw.loadUnaligned(fromByteOffset: offset + 32, as: SIMD8<Float>.self))
                  + (raw.loadUnaligned(fromByteOffset: offset + 64, as: SIMD8<Float>.self)
                     + raw.loadUnaligned(fromByteOffset: offset + 96, as: SIMD8<Float>.self))
        sums[b] = horizontalSum(lanes)
    }
}

extension GGMLBlockFormat {
    /// The bytes gguf-py's `quants.quantize(values, type)` returns for `values` (count a multiple of 32):
    /// `count/32` blocks of `typeSize` bytes. NaN/Inf are not checked (use the matrix initialiser).
    public static func quantize(_ values: [Float]) -> [UInt8] {
        precondition(values.count % ggmlBlockSize == 0, "\(ggmlName): \(values.count) values is not a multiple of 32")
        let blocks = values.count / ggmlBlockSize
        var bytes = [UInt8](repeating: 0, count: blocks * typeSize)
        values.withUnsafeBufferPointer { x in
            bytes.withUnsafeMutableBytes { out in
                for b in 0..<blocks {
                    quantizeBlock(x.baseAddress! + b * ggmlBlockSize, into: out.baseAddress! + b * typeSize)
                }
            }
        }
        return bytes
    }

    /// The values gguf-py's `quants.dequantize(bytes, type)` returns (`32 · bytes.count / typeSize`).
    public static func dequantize(_ bytes: [UInt8]) -> [Float] {
        precondition(bytes.count % typeSize == 0, "\(ggmlName): \(bytes.count) bytes is not a whole number of blocks")
        let blocks = bytes.count / typeSize
        var values = [Float](repeating: 0, count: blocks * ggmlBlockSize)
        bytes.withUnsafeBytes { input in
            values.withUnsafeMutableBufferPointer { decodeBlocks(input.baseAddress!, count: blocks, into: $0.baseAddress!) }
        }
        return values
    }
}

/// Bit pattern of the largest magnitude among 32 values. Magnitudes are compared as bit patterns, which
/// order like the values for non-negative floats (NaN above Inf) and let the maximum vectorise.
@inline(__always)
func largestMagnitudeBits(_ x: UnsafePointer<Float>) -> UInt32 {
    var largest: UInt32 = 0
    for j in 0..<32 { largest = max(largest, x[j].bitPattern & 0x7FFF_FFFF) }
    return largest
}

/// The signed value of largest magnitude among 32 values, the first one on ties (numpy
/// `x[abs(x).argmax()]`). The largest positive and the largest negative magnitude are found with
/// vectorisable maxima; only when they are equal (ties, all-zero blocks) is the first one searched for.
@inline(__always)
func largestMagnitudeValue(_ x: UnsafePointer<Float>) -> Float {
    var positive: UInt32 = 0, negative: UInt32 = 0
    for j in 0..<32 {
        let bits = x[j].bitPattern
        let isPositive = (bits >> 31) &- 1                 // all ones when the sign bit is clear
        positive = max(positive, bits & isPositive)
        negative = max(negative, bits & 0x7FFF_FFFF & ~isPositive)
    }
    if positive > negative { return Float(bitPattern: positive) }
    if negative > positive { return -Float(bitPattern: negative) }
    var j = 0
    while x[j].bitPattern & 0x7FFF_FFFF != positive { j += 1 }
    return x[j]
}

/// ⌊t⌋ for 0 ≤ t < 2²², exactly, without a trapping conversion: adding 2²³ rounds t to the nearest
/// integer r in the low mantissa bits; one is taken off when r > t (the sign bit of t − r).
@inline(__always)
func floorOfSmallFloat(_ t: Float) -> UInt32 {
    let nearest = (t + 0x1p23).bitPattern &- 0x4B00_0000
    return nearest &- ((t - Float(Int32(bitPattern: nearest))).bitPattern &>> 31)
}

/// Weights stored as GGML Q8_0 blocks (precision `int8`).
public typealias Q8_0Matrix = GGMLMatrix<Q8_0>
/// Weights stored as GGML Q4_0 blocks (precision `q4`).
public typealias Q4_0Matrix = GGMLMatrix<Q4_0>

/// GGUF-layout blocks a matrix reads but does not own: pages of a mapped file (`--mmap-experts`,
/// `MappedExperts`), valid as long as `owner` lives — the matrix keeps it.
public struct BorrowedBlocks: Sendable {
    /// Address of the first block (an integer, so that it crosses threads).
    public let address: UInt
    public let byteCount: Int
    public let owner: any AnyObject & Sendable

    public init(address: UnsafeRawPointer, byteCount: Int, owner: any AnyObject & Sendable) {
        self.address = UInt(bitPattern: address)
        self.byteCount = byteCount
        self.owner = owner
    }
}

/// A weight `[rows, cols]` stored as GGML blocks: the bytes of a GGUF tensor of that type, held in RAM
/// in the interleaved layout (`Storage.interleaved`): groups of 8 rows interleaved block by block, so that
/// the integer kernels read one stream per group of rows (the layout is described in
/// Sources/CKernels/include/CKernels.h) — or, for experts computed straight from a mapped GGUF file, in
/// the file's own layout (`Storage.mapped`), which the kernels read as it is (`ck_layout`). Files — GGUF
/// exports, expert stores — get the GGUF layout (`blocks`). Products decode blocks on the fly; nothing is
/// kept in fp32.
public struct GGMLMatrix<Format: GGMLBlockFormat>: LinearOperator {
    public let rows: Int
    public let cols: Int
    public let storage: Storage

    /// Where the `rows · cols/32` blocks of `Format.typeSize` bytes are.
    public enum Storage: Sendable {
        /// An array in the interleaved layout: per group of 8 rows and block column, 8 · typeSize bytes
        /// (the 8 fp16 scales, then code word k of row i at 16 + 32k + 4i); the `rows % 8` rows after the
        /// last whole group as in GGUF.
        case interleaved([UInt8])
        /// Memory in the GGUF layout (row after row of blocks) that the matrix does not own.
        case mapped(BorrowedBlocks)
    }

    /// The blocks in the GGUF layout (row after row: `rows · cols/32` blocks of `Format.typeSize` bytes),
    /// rebuilt from the storage on every access: for writing files, not for products.
    public var blocks: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            copyGGUFRows(0..<rows, into: UnsafeMutableRawPointer(out.baseAddress!))
            initialized = byteCount
        }
    }

    /// Quantizes `weight` block by block (rows split across cores for large tensors).
    /// - Throws: `QuantizeError.rowLengthNotMultipleOfBlock` when `cols % 32 != 0`,
    ///   `.nonFiniteWeight` for NaN/Inf, `.overflow` when a block's fp16 scale would be Inf.
    public init(quantizing weight: Matrix, tensorName: String) throws {
        guard weight.cols % ggmlBlockSize == 0 else {
            throw QuantizeError.rowLengthNotMultipleOfBlock(tensor: tensorName, format: Format.ggmlName,
                                                            cols: weight.cols, blockSize: ggmlBlockSize)
        }
        let rows = weight.rows, cols = weight.cols
        let rowBytes = cols / ggmlBlockSize * Format.typeSize
        // `quantizeBlock` writes every byte of its block, so the storage is not zeroed first (a serial
        // pass over it, and its page faults, would take about a fifth of the time of quantizing)
        var bytes = [UInt8](unsafeUninitializedCapacity: rows * rowBytes) { out, initialized in
            weight.values.withUnsafeBufferPointer { w in
                guard let input = w.baseAddress, let output = out.baseAddress else { return }
                forEachRowRange(rows: rows, cols: cols) { range in
                    for r in range {
                        for b in 0..<(cols / ggmlBlockSize) {
                            Format.quantizeBlock(input + r * cols + b * ggmlBlockSize,
                                                 into: UnsafeMutableRawPointer(output) + r * rowBytes + b * Format.typeSize)
                        }
                    }
                }
            }
            initialized = rows * rowBytes
        }
        // NaN/Inf weights and overflowing scales both leave a scale with an all-ones fp16 exponent, so
        // one scan over the scales (not over the weights) finds either; only then are the weights searched.
        if let block = Self.firstNonFiniteScale(bytes) {
            try requireFinite(weight, tensorName: tensorName)
            let start = block * ggmlBlockSize
            let largest = (start..<(start + ggmlBlockSize)).max { abs(weight.values[$0]) < abs(weight.values[$1]) }!
            throw QuantizeError.overflow(tensor: tensorName, format: Format.ggmlName, row: largest / cols,
                                         column: largest % cols, value: weight.values[largest],
                                         limit: Format.largestAbsmax)
        }
        bytes.withUnsafeMutableBytes { Self.interleave($0, rows: rows, cols: cols) }
        self.init(rows: rows, cols: cols, interleaved: bytes)
    }

    /// Wraps blocks in the GGUF layout (e.g. a GGUF tensor's data), interleaving them — in place when the
    /// caller hands over its only reference (a temporary), else in a copy. Preconditions:
    /// `cols % 32 == 0`, `blocks.count == rows · cols/32 · typeSize`.
    public init(rows: Int, cols: Int, blocks: consuming [UInt8]) {
        blocks.withUnsafeMutableBytes { Self.interleave($0, rows: rows, cols: cols) }
        self.init(rows: rows, cols: cols, interleaved: blocks)
    }

    /// Wraps blocks already in the interleaved layout (`interleave`), without copying. Preconditions as
    /// `init(rows:cols:blocks:)`.
    public init(rows: Int, cols: Int, interleaved: [UInt8]) {
        self.init(rows: rows, cols: cols, storage: .interleaved(interleaved), byteCount: interleaved.count)
    }

    /// Wraps blocks in the GGUF layout that stay where they are (`mapped`, without copying or
    /// rearranging). Preconditions as `init(rows:cols:blocks:)`.
    public init(rows: Int, cols: Int, mapped: BorrowedBlocks) {
        self.init(rows: rows, cols: cols, storage: .mapped(mapped), byteCount: mapped.byteCount)
    }

    private init(rows: Int, cols: Int, storage: Storage, byteCount: Int) {
        precondition(cols % ggmlBlockSize == 0 && byteCount == rows * cols / ggmlBlockSize * Format.typeSize,
                     "\(Format.ggmlName): \(byteCount) bytes do not hold [\(rows), \(cols)]")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// Calls `body` with the address of the blocks and their layout.
    private func withBlocks<R>(_ body: (UnsafeRawPointer, ck_layout) throws -> R) rethrows -> R {
        switch storage {
        case .interleaved(let bytes): return try bytes.withUnsafeBytes { try body($0.baseAddress!, CK_LAYOUT_INTERLEAVED) }
        case .mapped(let region): return try withExtendedLifetime(region.owner) { try body(UnsafeRawPointer(bitPattern: region.address)!, CK_LAYOUT_GGUF) }
        }
    }

    /// Puts the blocks of a weight `[rows, cols]` at `bytes`, in the GGUF layout, into the interleaved
    /// layout, in place (`ck_interleave_rows`): one pass over the bytes, 8 rows at a time through a
    /// buffer of 8 rows. Used when a matrix is made, and by expert cache slots after a read from disk.
    /// Precondition: `bytes.count == rows · cols/32 · typeSize`, `cols % 32 == 0`.
    public static func interleave(_ bytes: UnsafeMutableRawBufferPointer, rows: Int, cols: Int) {
        let blocksPerRow = cols / ggmlBlockSize
        precondition(cols % ggmlBlockSize == 0 && bytes.count == rows * blocksPerRow * Format.typeSize,
                     "\(Format.ggmlName): \(bytes.count) bytes do not hold [\(rows), \(cols)]")
        guard rows >= 8 else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8 * blocksPerRow * Format.typeSize) { scratch in
            ck_interleave_rows(Int32(Format.typeSize), bytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                               Int32(rows), Int32(blocksPerRow), scratch.baseAddress!)
        }
    }

    /// `interleave(_:rows:cols:)` from `source` to `destination` (`ck_interleave_rows_from`): the rows of
    /// `source` in the GGUF layout, `destination` the same bytes in the interleaved layout, one pass (an
    /// expert slot's fill places each chunk read from disk so). Precondition: both hold `rows · cols/32 ·
    /// typeSize` bytes, `cols % 32 == 0`, and do not overlap.
    public static func interleave(from source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, rows: Int, cols: Int) {
        let blocksPerRow = cols / ggmlBlockSize
        precondition(cols % ggmlBlockSize == 0 && source.count == rows * blocksPerRow * Format.typeSize && destination.count == source.count,
                     "\(Format.ggmlName): \(source.count) → \(destination.count) bytes do not hold [\(rows), \(cols)]")
        guard rows > 0 else { return }
        ck_interleave_rows_from(Int32(Format.typeSize), source.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                destination.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(rows), Int32(blocksPerRow))
    }

    /// Rows `range` in the GGUF layout (`range.count · cols/32 · typeSize` bytes) to `out`.
    func copyGGUFRows(_ range: Range<Int>, into out: UnsafeMutableRawPointer) {
        let rowBytes = cols / ggmlBlockSize * Format.typeSize
        withBlocks { base, layout in
            if layout == CK_LAYOUT_GGUF { return out.copyMemory(from: base + range.lowerBound * rowBytes, byteCount: range.count * rowBytes) }
            ck_gguf_rows(Int32(Format.typeSize), base.assumingMemoryBound(to: UInt8.self), Int32(rows),
                         Int32(cols / ggmlBlockSize), Int32(range.lowerBound), Int32(range.count),
                         out.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Index of the first block whose fp16 scale is ±Inf or NaN.
    private static func firstNonFiniteScale(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBytes { raw in
            (0..<(raw.count / Format.typeSize)).first { block in
                raw.loadUnaligned(fromByteOffset: block * Format.typeSize, as: UInt16.self) & 0x7C00 == 0x7C00
            }
        }
    }

    public var outFeatures: Int { rows }
    public var inFeatures: Int { cols }
    public var byteCount: Int { rows * cols / ggmlBlockSize * Format.typeSize }
    public var formatName: String { Format.precision.rawValue }

    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        if ActivationPrecision.current == .q8 { return applyRounded(batch: 1, x, into: y) }
        applyExact(batch: 1, x, into: y)
    }

    public func apply(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        if ActivationPrecision.current == .q8 { return applyRounded(batch: n, x, into: y) }
        if n <= perTokenBatchLimit { return applyExact(batch: n, x, into: y) }
        applyByTiles(rows: rows, cols: cols, n: n, x, into: y, decodeRows: decodeRows)
    }

    /// `Y[n, rows] = X[n, cols] · Wᵀ` with the exact fp32 activations (`ActivationPrecision.fp32`, the
    /// reference): each thread takes ranges of rows (multiples of 8, the layout's row groups) for all n
    /// tokens, and `Format.fp32Products` reads each group once for the n tokens. Every kernel and row range
    /// gives the same bits per token, whatever n (Sources/CKernels/products_f32_activations.c).
    /// - Parameters:
    ///   - x: `[n, cols]` row-major; y: `[n, rows]` row-major, overwritten.
    ///   - kernel: `.scalar` for the plain C loops, else the CPU's vector path (default: the fastest).
    public func applyExact(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                           kernel: IntegerKernel = .best) {
        let blocksPerRow = cols / ggmlBlockSize
        let rowBytes = blocksPerRow * Format.typeSize
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n * blocksPerRow) { sums in
            let xBlockSums = sums.baseAddress!
            if Format.codeOffset != 0 {
                for t in 0..<n { blockSums(x + t * cols, blocks: blocksPerRow, into: xBlockSums + t * blocksPerRow) }
            }
            withBlocks { base, layout in
                forEachRowRange(rows: rows, cols: n * cols, rowMultiple: 8) { range in
                    Format.fp32Products(kernel, layout, base + range.lowerBound * rowBytes, rows: range.count,
                                        blocks: blocksPerRow, x, xBlockSums: xBlockSums, tokens: n,
                                        into: y + range.lowerBound, yStride: rows)
                }
            }
        }
    }

    /// `Y[n, rows] = X[n, cols] · Wᵀ` with X rounded to 8 bits per block of 32 and integer block
    /// products (`ActivationPrecision.q8`), for every batch size: the activations are rounded once, then
    /// each thread takes ranges of rows (multiples of 8, the kernels' row groups) for all n tokens
    /// (`Format.roundedProducts`, which unpacks each group of weight blocks once for up to 64 tokens).
    /// Every kernel gives the same bits (Sources/CKernels/products_scalar.c states the arithmetic).
    /// - Parameters:
    ///   - x: `[n, cols]` row-major; y: `[n, rows]` row-major, overwritten.
    ///   - kernel: the integer kernel (default: the fastest this CPU runs; tests pick each).
    public func applyRounded(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                             kernel: IntegerKernel = .best) {
        let blocksPerRow = cols / ggmlBlockSize
        let rowBytes = blocksPerRow * Format.typeSize
        RoundedActivations.with(x, tokens: n, cols: cols) { rounded in
            withBlocks { base, layout in
                // the work is n times a matrix–vector product's, hence `cols: n · cols` for the threshold
                forEachRowRange(rows: rows, cols: n * cols, rowMultiple: 8) { range in
                    Format.roundedProducts(kernel, layout, base + range.lowerBound * rowBytes, rows: range.count,
                                           blocks: blocksPerRow, rounded, tokens: n, into: y + range.lowerBound,
                                           yStride: rows)
                }
            }
        }
    }

    public func dequantized() -> Matrix { decodeAll(rows: rows, cols: cols, decodeRows: decodeRows) }

    /// Rows `range` decoded to fp32 `[range.count, cols]` at `out` (also an embedding-row lookup).
    public func decodeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let blocksPerRow = cols / ggmlBlockSize, rowBytes = blocksPerRow * Format.typeSize
        withUnsafeTemporaryAllocation(byteCount: min(8, range.count) * rowBytes, alignment: 64) { buffer in
            for start in stride(from: range.lowerBound, to: range.upperBound, by: 8) {
                let group = start..<min(start + 8, range.upperBound)
                copyGGUFRows(group, into: buffer.baseAddress!)
                Format.decodeBlocks(buffer.baseAddress!, count: group.count * blocksPerRow,
                                    into: out + (start - range.lowerBound) * cols)
            }
        }
    }
}

import Foundation
import Tensors
import Checkpoints
import Quantization
#if canImport(Glibc)
import Glibc
#endif

extension Checkpoint {
    /// The weight `name` `[rows, cols]` as the model holds it: as stored when the checkpoint stores it
    /// quantized or at a 16-bit storage precision (`storedWeight`), otherwise converted to fp32 and
    /// quantized to `precision`. Quantization runs over row chunks of about four million weights (every
    /// format here quantizes rows or whole 64-weight blocks independently, so the bytes are those of
    /// quantizing the whole tensor at once), so a large tensor is never held in fp32 next to its
    /// quantized form. The tensor's mapped file pages are released as each chunk is converted (and the
    /// whole tensor's afterwards), so loading never holds a large tensor's pages either.
    ///
    /// - Throws: `CheckpointError.missingTensor`, `.badTensor` (shape mismatch, NaN/Inf weight, malformed
    ///   quantized tensor); `QuantizeError` (scale overflow) with the row counted over the whole tensor.
    public func loadWeight(_ name: String, rows: Int, cols: Int, precision: Precision) throws -> any LinearOperator {
        adviseWillNeed(name)
        defer { releaseMappedPages(name) }
        if let stored = try storedWeight(name, rows: rows, cols: cols) { return stored }
        if precision == .fp32 { return try matrix(name, rows: rows, cols: cols) }
        // a GGUF q/k weight is stored in llama.cpp's RoPE order: `matrix` puts its rows back (one attention
        // weight held in fp32 once), then it is quantized whole — the bytes chunk-by-chunk quantizing gives
        if ggufWeight(name)?.permutedHeads != nil { return try quantize(matrix(name, rows: rows, cols: cols), to: precision, tensorName: name) }
        let (info, raw) = try rawBytes(name)
        guard info.shape == [rows, cols] else {
            throw CheckpointError.badTensor(path: directory.path, tensor: name,
                                            reason: "shape \(info.shape) does not match the config's \([rows, cols])")
        }
        // Chunks are whole rows and, for NF4, whole blocks of the flattened tensor (quantize uses
        // bitsandbytes' default blocksize, 64). HQQ takes the whole tensor: its optimizer's early stop
        // and its 8-bit scales and zero-points depend on all of it.
        let nf4Blocksize = 64
        let rowStep = nf4Blocksize / gcd(cols, nf4Blocksize)
        let chunkRows = precision.hqqSettings != nil ? rows : max(rowStep, (4 << 20) / max(cols, 1) / rowStep * rowStep)
        let chunkPrecision = precision == .nf4dq ? Precision.nf4 : precision
        var parts: [any LinearOperator] = []
        for start in stride(from: 0, to: rows, by: chunkRows) {
            let count = min(chunkRows, rows - start)
            let chunk = Matrix(rows: count, cols: cols, values: try finiteRows(info, raw, start..<(start + count), cols: cols))
            let rowBytes = cols * info.dtype.byteSize
            Self.releasePages(UnsafeRawBufferPointer(rebasing: raw[(start * rowBytes)..<((start + count) * rowBytes)]))
            do {
                parts.append(try quantize(chunk, to: chunkPrecision, tensorName: name))
            } catch QuantizeError.overflow(let tensor, let format, let row, let column, let value, let limit) {
                throw QuantizeError.overflow(tensor: tensor, format: format, row: start + row, column: column, value: value, limit: limit)
            }
        }
        return joinRows(parts, rows: rows, cols: cols, precision: precision)
    }

    /// Rows `range` of a float tensor `[rows, cols]` converted to fp32 (F32 copied, BF16/F16 widened
    /// exactly), after checking each is finite.
    private func finiteRows(_ info: TensorInfo, _ raw: UnsafeRawBufferPointer, _ range: Range<Int>, cols: Int) throws -> [Float] {
        let first = range.lowerBound * cols, count = range.count * cols
        let values: [Float]
        switch info.dtype {
        case .f32:
            values = (first..<(first + count)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        case .bf16:
            values = (first..<(first + count)).map { bfloat16ToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
        case .f16:
            values = (first..<(first + count)).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
        case .u8:
            throw CheckpointError.badTensor(path: directory.path, tensor: info.name, reason: "is packed U8 data, not a float tensor")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let index = first + bad
            throw CheckpointError.badTensor(path: directory.path, tensor: info.name,
                                            reason: "element [\(index / cols), \(index % cols)] is \(values[bad]); the weights are corrupt")
        }
        return values
    }

    /// Drops the resident pages of the tensor's memory mapping (`madvise(MADV_DONTNEED)` on the pages it
    /// spans; the mapping is read-only, so a later read faults them back in from the file). Keeps a
    /// loaded model's resident set to the weights it copied.
    public func releaseMappedPages(_ name: String) {
        guard let raw = mappedBytes(name) else { return }
        Self.releasePages(raw)
    }

    /// The tensor's bytes in the file mapping as stored (a GGUF q/k weight's rows in llama.cpp's order),
    /// or nil for a missing name.
    private func mappedBytes(_ name: String) -> UnsafeRawBufferPointer? {
        if let weight = ggufWeight(name) { return weight.storedBytes }
        return try? rawBytes(name).1
    }

    /// `adviseWillNeed` for every tensor but the experts: what a model streaming its experts loads.
    public func adviseWillNeedAllButExperts() {
        for name in tensorNames where !name.contains(".block_sparse_moe.experts.") { adviseWillNeed(name) }
    }

    /// Asks the kernel to start reading the tensor's pages now (`madvise(MADV_WILLNEED)` on its part of the
    /// file mapping; the reads run in the background): copying it then waits for large reads already under
    /// way instead of a page fault and a small readahead every 128 KiB. Does nothing for a missing name.
    public func adviseWillNeed(_ name: String) {
        guard let raw = mappedBytes(name), let base = raw.baseAddress, raw.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = Int(bitPattern: base) / page * page
        let end = (Int(bitPattern: base) + raw.count + page - 1) / page * page
        madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_WILLNEED)
    }

    /// `madvise(MADV_DONTNEED)` on the pages `raw` (part of a read-only file mapping) touches.
    private static func releasePages(_ raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = Int(bitPattern: base) / page * page
        let end = (Int(bitPattern: base) + raw.count + page - 1) / page * page
        madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED)
    }
}

/// Greatest common divisor of two positive integers.
private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

/// Row chunks of one weight, each quantized to `precision` (`nf4` for `nf4-dq`), joined into the weight
/// `[rows, cols]`; `nf4-dq` double-quantizes the joined absmax, as quantizing the whole tensor does. HQQ
/// weights come as one chunk.
private func joinRows(_ parts: [any LinearOperator], rows: Int, cols: Int, precision: Precision) -> any LinearOperator {
    switch precision {
    case .fp32:
        return Matrix(rows: rows, cols: cols, values: parts.flatMap { ($0 as! Matrix).values })
    case .bf16:
        return BF16Matrix(rows: rows, cols: cols, storage: parts.flatMap { ($0 as! BF16Matrix).storage })
    case .f16:
        return F16Matrix(rows: rows, cols: cols, storage: parts.flatMap { ($0 as! F16Matrix).storage })
    case .int8:
        return Q8_0Matrix(rows: rows, cols: cols, blocks: parts.flatMap { ($0 as! Q8_0Matrix).blocks })
    case .q4:
        return Q4_0Matrix(rows: rows, cols: cols, blocks: parts.flatMap { ($0 as! Q4_0Matrix).blocks })
    case .gptq4, .awq4:
        preconditionFailure("joinRows: \(precision) is quantized after calibration, never chunk by chunk")
    case .nf4, .nf4dq:
        let nf4 = parts.map { $0 as! NF4Matrix }
        let absmax: [Float] = nf4.flatMap { part -> [Float] in
            guard case .plain(let values) = part.absmax else { preconditionFailure("joinRows: chunks are plain NF4") }
            return values
        }
        return NF4Matrix(rows: rows, cols: cols, blocksize: nf4[0].blocksize, packed: nf4.flatMap(\.packed),
                         absmax: precision == .nf4dq ? .doubleQuantized(DoubleQuantizedAbsmax(quantizing: absmax)) : .plain(absmax))
    case .hqq4, .hqq3, .hqq2, .hqq4HalfMetadata, .hqq3HalfMetadata, .hqq2HalfMetadata:
        precondition(parts.count == 1, "joinRows: HQQ weights are quantized whole")
        return parts[0]
    }
}

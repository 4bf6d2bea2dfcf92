import Engine
import Tensors
import Quantization

/// Preallocated memory for one expert at one layout: the arrays of its three projections, allocated
/// once, filled in place by positioned reads and wrapped as the usual operators (`Matrix`,
/// `GGMLMatrix`, `NF4Matrix`, …) without copying.
///
/// Swift arrays are copy-on-write: the operators share the slot's arrays, so `fill` first drops them
/// (`weights = nil`) and the arrays are written in place, uniquely referenced. Callers must not keep the
/// `weights` of a slot across a refill (a kept copy would make the refill copy the array instead).
// @unchecked Sendable: filled only inside a `ReadJob` (on `ReadQueue`'s thread and the direct readers), which the forward pass waits for before touching it again.
final class ExpertSlot: @unchecked Sendable {
    let layout: ExpertLayout
    private let projections: [ProjectionSlot]
    /// The expert held (nil: empty), and its weights wrapped over the slot's arrays.
    private(set) var expert: Int?
    private(set) var weights: ExpertWeights?

    init(layout: ExpertLayout) {
        self.layout = layout
        projections = layout.projections.map(ProjectionSlot.init)
    }

    /// Forgets the held expert and drops the operators over the arrays (before a refill, possibly on
    /// another thread).
    func empty() {
        weights = nil
        expert = nil
    }

    /// Reads `expert` into the slot: projection p from `locations[p]`, all of it as one batch per file
    /// (`ExpertFile.start(_:)`), Q8_0/Q4_0 blocks put into the interleaved layout as each chunk arrives
    /// (`ProjectionSlot.placement`). `queued` is called once every chunk is queued on the direct readers,
    /// before the reads have finished (the provider then queues its next read behind them). The slot must
    /// be empty.
    /// - Returns: bytes read.
    /// - Throws: `ExpertStoreError.io` / `.truncated` from the reads.
    func fill(expert: Int, from locations: [ExpertSource.Location], files: [ExpertFile], queued: () -> Void = {}) throws -> Int {
        precondition(weights == nil, "ExpertSlot: refilled while its weights are held")
        var bytes = 0
        try projections[0].withSegments { w1 in
            try projections[1].withSegments { w2 in
                try projections[2].withSegments { w3 in
                    // each projection's segments lie one after another from its location
                    var pieces: [Int: [ExpertFile.Piece]] = [:]
                    for (p, (segments, location)) in zip([w1, w2, w3], locations).enumerated() {
                        var at = location.offset
                        for segment in segments {
                            pieces[location.file, default: []].append(ExpertFile.Piece(segment, at: at, placement: projections[p].placement))
                            at += segment.count
                        }
                        bytes += at - location.offset
                    }
                    // every started batch is waited for, even after an error: its chunks write into this slot
                    var batches: [ExpertFile.Batch] = [], failure: Error?
                    for (file, list) in pieces.sorted(by: { $0.key < $1.key }) {
                        do { batches.append(try files[file].start(list)) } catch { failure = error; break }
                    }
                    queued()
                    for batch in batches {
                        do { try batch.wait() } catch { failure = failure ?? error }
                    }
                    if let failure { throw failure }
                }
            }
        }
        let operators = projections.map { $0.makeOperator() }
        weights = ExpertWeights(w1: operators[0], w2: operators[1], w3: operators[2])
        self.expert = expert
        return bytes
    }

    /// Base addresses of the slot's arrays (tests check a refill writes in place).
    var storageAddresses: [UnsafeRawPointer?] { projections.flatMap(\.storageAddresses) }

    /// Where one of the slot's arrays lies: its address (an integer, so that it crosses threads) and bytes.
    struct StorageRange: Sendable {
        var address: UInt
        var count: Int
    }

    /// The slot's non-empty arrays (their memory never moves: `fill` writes in place).
    var storageRanges: [StorageRange] { projections.flatMap(\.storageRanges) }
}

/// The arrays of one projection; only those its format uses are non-empty.
private final class ProjectionSlot {
    let layout: ProjectionLayout
    private var values: [Float] = []     // fp32 weights
    private var halves: [UInt16] = []    // bf16 / f16 weights
    private var packed: [UInt8] = []     // GGML blocks or NF4 codes
    private var codes: [UInt8] = []      // nf4-dq absmax codes
    private var scales: [Float] = []     // NF4 absmax or nf4-dq absmax2
    private var offset: Float = 0        // nf4-dq absmax offset
    private var zeroHalves: [UInt16] = [] // HQQ fp16 zero-points (its fp16 scales are in `halves`)
    private var zeroCodes: [UInt8] = []   // HQQ 8-bit zero-points (its 8-bit scales are in `codes`)
    private var zeroRange: [Float] = []   // HQQ 8-bit zero-points' scale and zero-point (the scales' are in `scales`)

    init(layout: ProjectionLayout) {
        self.layout = layout
        let sizes = layout.segmentBytes
        switch layout.format {
        case .fp32: values = unfilled(layout.weights)
        case .bf16, .f16: halves = unfilled(layout.weights)
        case .q8_0, .q4_0: packed = unfilled(sizes[0])
        case .nf4:
            packed = unfilled(sizes[0])
            scales = unfilled(sizes[1] / 4)
        case .nf4dq:
            packed = unfilled(sizes[0])
            codes = unfilled(sizes[1])
            scales = unfilled(sizes[2] / 4)
        case .hqq:
            packed = unfilled(sizes[0])
            if sizes.count == 3 {
                halves = unfilled(sizes[1] / 2)
                zeroHalves = unfilled(sizes[2] / 2)
            } else {
                codes = unfilled(sizes[1])
                scales = unfilled(sizes[2] / 4)
                zeroCodes = unfilled(sizes[3])
                zeroRange = unfilled(sizes[4] / 4)
            }
        }
    }

    /// Calls `body` with the memory of each segment, in layout order (the order they lie in a file).
    func withSegments(_ body: ([UnsafeMutableRawBufferPointer]) throws -> Void) throws {
        switch layout.format {
        case .fp32: try values.withUnsafeMutableBytes { try body([$0]) }
        case .bf16, .f16: try halves.withUnsafeMutableBytes { try body([$0]) }
        case .q8_0, .q4_0: try packed.withUnsafeMutableBytes { try body([$0]) }
        case .nf4:
            try packed.withUnsafeMutableBytes { p in try scales.withUnsafeMutableBytes { s in try body([p, s]) } }
        case .nf4dq:
            try packed.withUnsafeMutableBytes { p in
                try codes.withUnsafeMutableBytes { c in
                    try scales.withUnsafeMutableBytes { s in
                        try withUnsafeMutableBytes(of: &offset) { o in try body([p, c, s, o]) }
                    }
                }
            }
        case .hqq:
            if layout.hqq?.scaleGroupSize == nil {
                try packed.withUnsafeMutableBytes { p in
                    try halves.withUnsafeMutableBytes { h in try zeroHalves.withUnsafeMutableBytes { z in try body([p, h, z]) } }
                }
            } else {
                try packed.withUnsafeMutableBytes { p in
                    try codes.withUnsafeMutableBytes { c in
                        try scales.withUnsafeMutableBytes { s in
                            try zeroCodes.withUnsafeMutableBytes { zc in
                                try zeroRange.withUnsafeMutableBytes { zr in try body([p, c, s, zc, zr]) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// How Q8_0/Q4_0 blocks, read in the GGUF layout, go into the layout the matrices hold in RAM: each
    /// chunk of whole 8-row groups interleaved from the read buffer into the array (`GGMLMatrix.interleave
    /// (from:into:rows:cols:)`, one pass, on the reader thread); nil for other formats (copied as read).
    var placement: ExpertFile.Placement? {
        let cols = layout.cols
        switch layout.format {
        case .q8_0:
            let rowBytes = cols / ggmlBlockSize * Q8_0.typeSize
            return ExpertFile.Placement(unitBytes: 8 * rowBytes) { source, destination in
                Q8_0Matrix.interleave(from: source, into: destination, rows: source.count / rowBytes, cols: cols)
            }
        case .q4_0:
            let rowBytes = cols / ggmlBlockSize * Q4_0.typeSize
            return ExpertFile.Placement(unitBytes: 8 * rowBytes) { source, destination in
                Q4_0Matrix.interleave(from: source, into: destination, rows: source.count / rowBytes, cols: cols)
            }
        default: return nil
        }
    }

    /// The projection as an operator sharing the slot's arrays.
    func makeOperator() -> any LinearOperator {
        let rows = layout.rows, cols = layout.cols
        switch layout.format {
        case .fp32: return Matrix(rows: rows, cols: cols, values: values)
        case .bf16: return BF16Matrix(rows: rows, cols: cols, storage: halves)
        case .f16: return F16Matrix(rows: rows, cols: cols, storage: halves)
        case .q8_0: return Q8_0Matrix(rows: rows, cols: cols, interleaved: packed)
        case .q4_0: return Q4_0Matrix(rows: rows, cols: cols, interleaved: packed)
        case .nf4: return NF4Matrix(rows: rows, cols: cols, blocksize: layout.blocksize, packed: packed, absmax: .plain(scales))
        case .nf4dq:
            return NF4Matrix(rows: rows, cols: cols, blocksize: layout.blocksize, packed: packed,
                             absmax: .doubleQuantized(DoubleQuantizedAbsmax(codes: codes, absmax2: scales, offset: offset)))
        case .hqq:
            let settings = layout.hqq!.settings
            let parameters: HQQGroupParameters
            if settings.scaleGroupSize == nil {
                parameters = .half(scales: halves, zeros: zeroHalves)
            } else {
                let half = scales.count / 2
                parameters = .quantized(scales: HQQByteQuantized(codes: codes, scales: Array(scales[..<half]), zeros: Array(scales[half...])),
                                        zeros: HQQByteQuantized(codes: zeroCodes, scales: [zeroRange[0]], zeros: [zeroRange[1]]))
            }
            return HQQMatrix(rows: rows, cols: cols, settings: settings, packed: packed, parameters: parameters)
        }
    }

    var storageRanges: [ExpertSlot.StorageRange] {
        func range(_ bytes: UnsafeRawBufferPointer) -> ExpertSlot.StorageRange? {
            bytes.baseAddress.map { ExpertSlot.StorageRange(address: UInt(bitPattern: $0), count: bytes.count) }
        }
        return [values.withUnsafeBytes(range), halves.withUnsafeBytes(range), packed.withUnsafeBytes(range), codes.withUnsafeBytes(range),
                scales.withUnsafeBytes(range), zeroHalves.withUnsafeBytes(range), zeroCodes.withUnsafeBytes(range),
                zeroRange.withUnsafeBytes(range)].compactMap { $0 }.filter { $0.count > 0 }
    }

    var storageAddresses: [UnsafeRawPointer?] {
        [values.withUnsafeBytes(\.baseAddress), halves.withUnsafeBytes(\.baseAddress), packed.withUnsafeBytes(\.baseAddress),
         codes.withUnsafeBytes(\.baseAddress), scales.withUnsafeBytes(\.baseAddress), zeroHalves.withUnsafeBytes(\.baseAddress),
         zeroCodes.withUnsafeBytes(\.baseAddress), zeroRange.withUnsafeBytes(\.baseAddress)]
    }
}

/// An array of `count` numbers whose memory is reserved but not written: a slot is always filled by a
/// read before its operator is made (`ExpertSlot.fill`), so zeroing it first would only cost start-up time
/// — writing gigabytes of slots touches every page (measured on Mixtral-8x7B's shape at 6 GiB: 7.9 s of a
/// 14 s start-up on a busy 2-core machine). A large allocation is fresh anonymous memory (glibc maps it),
/// whose pages the kernel provides on the first write: `SlotPrefault` takes those faults on a thread of
/// its own after start-up, ahead of the first reads into the slots.
private func unfilled<T: BitwiseCopyable>(_ count: Int) -> [T] {
    [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}

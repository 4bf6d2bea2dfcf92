import Foundation
import Engine
import Tensors
import Quantization
#if canImport(Glibc)
import Glibc
#endif

/// Measures this machine for the offloading cost model (`mixtral-lab hardware probe`): the disk's read
/// bandwidth and per-read latency as the engine reads experts (positioned reads of a probe file whose
/// pages are dropped from the page cache first), memory read bandwidth, and the engine's own decode
/// kernels per precision. The result is a `HardwareProfile` with the measured fields filled.
public struct HardwareProbe: Sendable {
    /// Folder the probe file is written in (a fresh subfolder, removed afterwards).
    public var directory: URL
    /// Size of the probe file, bytes (more: steadier disk figures, longer writing).
    public var fileBytes: Int
    /// Bytes of one bandwidth read: about one expert projection (the engine reads one per projection array;
    /// the `bench` preset's fp32 w1 is 14.7 MB, its q4 w1 2.1 MB).
    public var readBytes: Int
    /// OpenBLAS threads for the fp32 kernels: the engine uses one per core for models whose matrices have
    /// ≥ 2²⁰ weights, else 1 (`recommendedBLASThreads`). The packed kernels always use every core
    /// (`KernelThreads`).
    public let threads: Int
    /// Shape of the matrices the kernels are timed on (default: the `bench` preset's expert w1
    /// `[3584, 1024]`), as many as make ≥ 64 MiB at the precision (2 to 16), so that for matrices of that
    /// size the weights come from memory, not a cache.
    public var kernelShape: (rows: Int, cols: Int)

    public init(directory: URL, fileBytes: Int = 256 << 20, readBytes: Int = 8 << 20,
                kernelShape: (rows: Int, cols: Int) = (3584, 1024), threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.directory = directory
        self.threads = threads
        self.fileBytes = fileBytes
        self.readBytes = readBytes
        self.kernelShape = kernelShape
    }

    /// What the disk part measured.
    public struct DiskResult: Sendable {
        /// Bytes per second of large positioned reads at shuffled offsets, page cache dropped: the slope of
        /// read time against read size between `readBytes / 8` and `readBytes` (median of 5 passes each).
        public var bandwidth: Double
        /// Fixed cost of one such read, µs: the line's intercept, at least the median 4 KiB read's time.
        public var latencyUs: Double
        /// File system type of the probe folder ("ext4", "tmpfs" …) from /proc/mounts, when found.
        public var fileSystem: String?
    }

    /// Writes the probe file, drops its pages, times the reads, removes the file.
    /// - Throws: `OffloadingError.invalidSetting` naming `--dir` when the folder cannot take the file.
    public func measureDisk() throws -> DiskResult {
        let folder = directory.appendingPathComponent("mixtral-lab-probe-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false) } catch {
            throw OffloadingError.invalidSetting(flag: "--dir", reason: "cannot create a folder in \(directory.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("probe.bin").path
        let chunk = 4 << 20
        let reads = max(1, fileBytes / readBytes)
        let size = max(reads * readBytes, chunk)
        // write a pattern the file system cannot store sparsely, then flush it so its pages can be dropped
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        guard fd >= 0 else { throw OffloadingError.invalidSetting(flag: "--dir", reason: "cannot write \(path): \(String(cString: strerror(errno)))") }
        var pattern = [UInt8](repeating: 0, count: chunk)
        var random = SplitMix64(seed: 1)
        for i in pattern.indices { pattern[i] = UInt8(truncatingIfNeeded: random.next()) }
        var written = 0
        while written < size {
            let n = pattern.withUnsafeBytes { write(fd, $0.baseAddress!, min(chunk, size - written)) }
            guard n > 0 else {
                close(fd)
                throw OffloadingError.invalidSetting(flag: "--dir", reason: "writing \(path) failed: \(String(cString: strerror(errno)))")
            }
            written += n
        }
        fsync(fd)
        close(fd)

        let file = try ExpertFile(path: path)
        file.dropsPagesAfterRead = true
        // Seconds per read of `pieceBytes`, read as the engine reads an expert: three adjacent pieces as one
        // batch (its projections, stored together), the groups in a shuffled order, pages dropped before
        // each pass; the median of 5 passes (a run meets the disk's typical speed, not its best: on a
        // virtual machine the host's own cache makes some passes much faster than others).
        func secondsPerRead(_ pieceBytes: Int) throws -> Double {
            let pieces = size / pieceBytes, group = min(3, pieces)
            var buffer = [UInt8](repeating: 0, count: group * pieceBytes)
            var order = Array(0..<(pieces / group))
            var passes: [Double] = []
            for _ in 0..<5 {
                file.dropPageCache()
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(random.next() % UInt64(i + 1))) }
                let start = DispatchTime.now().uptimeNanoseconds
                for first in order {
                    // one batch, as `ExpertSlot.fill` reads an expert's projections
                    try buffer.withUnsafeMutableBytes { raw in
                        try file.read((0..<group).map { k in
                            ExpertFile.Piece(UnsafeMutableRawBufferPointer(rebasing: raw[(k * pieceBytes)..<((k + 1) * pieceBytes)]),
                                             at: (first * group + k) * pieceBytes)
                        })
                    }
                }
                passes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(order.count * group))
            }
            return passes.sorted()[passes.count / 2]
        }
        // A small read's latency: 4 KiB at random page-aligned offsets, the median of 64.
        file.dropPageCache()
        var small = [UInt8](repeating: 0, count: 4096)
        var times: [Double] = []
        for _ in 0..<64 {
            let offset = Int(random.next() % UInt64(size / 4096)) * 4096
            let t0 = DispatchTime.now().uptimeNanoseconds
            try small.withUnsafeMutableBytes { try file.read(into: $0, at: offset) }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e3)
        }
        times.sort()
        let smallReadUs = times[times.count / 2]
        // The cost model's line, time of one read = latency + bytes / bandwidth, through two read sizes
        // (readBytes / 8 and readBytes): its slope is the bandwidth the engine's large reads get, its intercept
        // the fixed cost of one such read (request set-up, dropping its pages), which is more than a 4 KiB
        // read's. Where noise makes the line meaningless (slope ≤ 0), the large reads' own rate is used.
        let smallBytes = max(4096, readBytes / 8)
        let tSmall = try secondsPerRead(smallBytes), tLarge = try secondsPerRead(readBytes)
        var bandwidth = Double(readBytes) / tLarge
        var latencyUs = smallReadUs
        if tLarge > tSmall, readBytes > smallBytes {
            let slope = Double(readBytes - smallBytes) / (tLarge - tSmall)
            bandwidth = slope
            latencyUs = max(smallReadUs, (tSmall - Double(smallBytes) / slope) * 1e6)
        }
        return DiskResult(bandwidth: bandwidth, latencyUs: latencyUs,
                          fileSystem: Self.fileSystem(of: directory.path))
    }

    /// Memory read bandwidth, bytes/s, read as the decode kernels read weights: a 256 MiB array (larger
    /// than any last-level cache here) whose pages are all written before timing, summed in 64-byte SIMD
    /// loads into four independent accumulators by every core at once (`KernelThreads`, the kernels' own
    /// threads, one contiguous part each). The best of 5 passes after an untimed one, each timed as
    /// `measureDecode` times the kernels: the smaller of its wall time and the process's CPU time divided by
    /// the threads, so that other processes' turns on a busy machine do not count as memory time.
    public func measureMemoryBandwidth() -> Double {
        let count = 64 << 20   // floats: 256 MiB
        let values = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { values.deallocate() }
        values.initialize(repeating: 1, count: count)   // every page faulted in before timing
        let parts = KernelThreads.shared.workers + 1
        func pass() {
            KernelThreads.shared.run(chunks: parts) { part in
                let lower = count / parts * part, upper = part == parts - 1 ? count : count / parts * (part + 1)
                var sums = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
                var i = lower
                while i + 64 <= upper {
                    let at = UnsafeRawPointer(values + i)
                    sums.0 += at.loadUnaligned(as: SIMD16<Float>.self)
                    sums.1 += at.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                    sums.2 += at.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
                    sums.3 += at.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
                    i += 64
                }
                var rest: Float = 0
                while i < upper { rest += values[i]; i += 1 }
                blackHole((sums.0 + sums.1 + sums.2 + sums.3).sum() + rest)
            }
        }
        pass()
        var best = 0.0
        for _ in 0..<5 {
            let seconds = Self.ownSeconds(threads: parts, pass)
            best = max(best, Double(count * 4) / seconds)
        }
        return best
    }

    /// The time `body` took as if this process had `threads` cores to itself: the smaller of its wall
    /// time and the process's CPU time over it divided by `threads`. On a quiet machine the two agree; on
    /// a busy one the wall time also counts other processes' turns, which would make a figure depend on
    /// the load of the moment.
    static func ownSeconds(threads: Int, _ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = processCPUSeconds()
        body()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return min(wall, (processCPUSeconds() - cpuStart) / Double(threads))
    }

    /// Weights per second of the decode kernels (matrix–vector, one token) at `precision` on `kernelShape`
    /// matrices of random weights, as if this process had its cores to itself: the best of 3 passes of
    /// ≥ 0.2 s, each timed as `ownSeconds` over the threads the kernel runs on.
    /// - Throws: quantization errors (none expected for these shapes).
    public func measureDecode(_ precision: Precision) throws -> Double {
        setBLASThreads(threads)
        let (rows, cols) = kernelShape
        let bytesPerMatrix = Double(rows * cols) * precision.nominalBitsPerWeight / 8
        let count = min(16, max(2, Int((Double(64 << 20) / bytesPerMatrix).rounded(.up))))
        // fp32 runs on OpenBLAS with `threads` threads; the packed kernels split a product over every core
        // from 2^18 weights and 2 rows per core on (`forEachRowRange` in Tensors/KernelThreads.swift)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let kernelThreads = precision == .fp32 ? threads : (rows * cols >= 1 << 18 && rows >= 2 * cores ? cores : 1)
        var random = SplitMix64(seed: 7)
        var matrices: [any LinearOperator] = []
        for m in 0..<count {
            var values = [Float](repeating: 0, count: rows * cols)
            for i in values.indices { values[i] = Float(Int64(bitPattern: random.next() >> 40) - (1 << 23)) / Float(1 << 26) }
            matrices.append(try quantize(Matrix(rows: rows, cols: cols, values: values), to: precision, tensorName: "probe.\(m)"))
        }
        let x = [Float](repeating: 0.01, count: cols)
        var y = [Float](repeating: 0, count: rows)
        var best = 0.0
        for _ in 0..<3 {
            var applied = 0
            let seconds = Self.ownSeconds(threads: kernelThreads) {
                let start = DispatchTime.now().uptimeNanoseconds
                repeat {
                    for matrix in matrices { x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { matrix.apply(xp.baseAddress!, into: $0.baseAddress!) } } }
                    applied += matrices.count
                } while DispatchTime.now().uptimeNanoseconds - start < 200_000_000
            }
            best = max(best, Double(applied * rows * cols) / seconds)
        }
        return best
    }

    /// CPU time of this process so far (every thread), seconds.
    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Peak compute for a prefill, FLOP/s: fp32 matrix–matrix products (OpenBLAS sgemm, `threads`
    /// threads) on 64 tokens; the best of 3 passes, each timed as `ownSeconds`.
    public func measurePrefillFlops() -> Double {
        setBLASThreads(threads)
        let (rows, cols) = kernelShape, tokens = 64
        let matrix = Matrix(rows: rows, cols: cols, values: [Float](repeating: 0.001, count: rows * cols))
        let x = [Float](repeating: 0.01, count: tokens * cols)
        var y = [Float](repeating: 0, count: tokens * rows)
        var best = 0.0
        for _ in 0..<3 {
            let seconds = Self.ownSeconds(threads: threads) {
                for _ in 0..<4 {
                    x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { matrix.apply(batch: tokens, xp.baseAddress!, into: $0.baseAddress!) } }
                }
            }
            best = max(best, 4 * 2 * Double(rows * cols * tokens) / seconds)
        }
        return best
    }

    /// Measures everything and returns the profile, named `name`.
    /// - Parameters:
    ///   - precisions: the precisions whose decode kernels are timed.
    ///   - progress: called with a line before each part.
    public func run(name: String, precisions: [Precision],
                    progress: (String) -> Void = { _ in }) throws -> HardwareProfile {
        progress("disk: writing a \(ByteSize.format(fileBytes)) probe file in \(directory.path), reading it back in \(ByteSize.format(readBytes)) reads")
        let disk = try measureDisk()
        progress("memory: reading 256 MiB")
        let memory = measureMemoryBandwidth()
        var rates: [String: Double] = [:]
        for precision in precisions {
            progress("decode kernels: \(precision.rawValue)")
            rates[precision.rawValue] = try measureDecode(precision)
        }
        progress("prefill: fp32 matrix–matrix")
        let flops = measurePrefillFlops()
        var diskSpace = statvfs()
        let slowBytes = statvfs(directory.path, &diskSpace) == 0 ? Int(diskSpace.f_bavail) * Int(diskSpace.f_frsize) : 0
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
        let date = ISO8601DateFormatter().string(from: Date())
        let cpu = Self.cpuName() ?? "unknown CPU"
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let measured = "mixtral-lab hardware probe, \(date), \(cpu), \(counted(cores, "core")), load average \(load) (1 min), "
            + "disk \(directory.path)" + (disk.fileSystem.map { " (\($0))" } ?? "")
            + ", kernels on [\(kernelShape.rows), \(kernelShape.cols)] matrices, reads of \(ByteSize.format(readBytes))"
        return HardwareProfile(name: name, fastMemoryBytes: Int(ProcessInfo.processInfo.physicalMemory), slowMemoryBytes: slowBytes,
                               computeFlops: flops, memoryBandwidth: memory, linkBandwidth: disk.bandwidth, linkLatencyUs: disk.latencyUs,
                               fastTier: "RAM", slowTier: disk.fileSystem == "tmpfs" ? "tmpfs (RAM)" : "disk",
                               decodeWeightsPerSecond: rates, threads: threads, measured: measured)
    }

    /// The file system type of the mount holding `path` (the longest mount point that prefixes it).
    public static func fileSystem(of path: String) -> String? {
        guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return nil }
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var best: (point: String, type: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = String(fields[1])
            let inside = resolved == point || resolved.hasPrefix(point == "/" ? "/" : point + "/")
            if inside, point.count >= (best?.point.count ?? -1) { best = (point, String(fields[2])) }
        }
        return best?.type
    }

    /// "model name" of the first processor in /proc/cpuinfo.
    static func cpuName() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return nil }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
}

/// Keeps a computed value alive so the optimiser cannot drop the loop that made it.
@inline(never)
func blackHole(_ value: Float) {
    if value.isNaN && value.sign == .minus && value.exponent == 12345 { print(value) }
}

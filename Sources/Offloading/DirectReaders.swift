import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The process's direct-read threads: one first-in first-out queue of chunks (`ExpertFile`'s pieces cut
/// into `ExpertFile.directChunkBytes`), read by `ExpertFile.directReaders` threads that live as long as
/// the process, each through an aligned bounce buffer of its own.
///
/// One queue for every file and every caller, so that the disk never waits between two reads: the chunks
/// of the next read are queued while the last chunks of the one before are still being read, and they
/// are taken in the order queued, so a read queued first still finishes first. Reading the same 24
/// random 99 MiB ranges of the full-size file (page cache dropped before each run, the two ways
/// alternating, 2026-12-07 22:31–22:35 UTC, load 3.2–4.3 with a build running), four threads × 4 MiB
/// chunks read 1.3–1.6× faster from one queue than when each range's threads ended before the next range
/// began, in four pairs of five (1.05× in the fifth; 0.95–1.82 against 0.68–1.39 GB/s), with less CPU
/// time (0.32–0.44 s against 0.50–0.61 s).
// @unchecked Sendable: the queue and `started` are behind `condition`; each bounce buffer is its thread's own.
final class DirectReaders: @unchecked Sendable {
    /// One chunk: `read` is given an aligned bounce buffer of at least `count` bytes (nil: there was no
    /// memory for one) to read the chunk into and deliver its bytes from.
    struct Chunk {
        var count: Int
        var read: @Sendable (_ bounce: UnsafeMutableRawPointer?) -> Void
    }

    static let shared = DirectReaders(threads: ExpertFile.directReaders)

    private let condition = NSCondition()
    private var chunks: [Chunk] = []
    private var next = 0
    private let threads: Int
    private var started = false

    private init(threads: Int) {
        self.threads = threads
    }

    /// Appends `batch` to the queue (in order) and returns at once; the threads start at the first call.
    func enqueue(_ batch: [Chunk]) {
        condition.lock()
        if !started {
            started = true
            for _ in 0..<threads { Thread.detachNewThread { [self] in run() } }
        }
        if next > 0 && next == chunks.count {
            // the queue ran empty: drop what has been taken, so the array does not grow with the run
            chunks.removeAll(keepingCapacity: true)
            next = 0
        }
        chunks.append(contentsOf: batch)
        condition.broadcast()
        condition.unlock()
    }

    /// One reader thread: takes chunks in order, forever (the threads end with the process).
    private func run() {
        var bounce: Bounce?
        while true {
            condition.lock()
            while next == chunks.count { condition.wait() }
            let chunk = chunks[next]
            next += 1
            condition.unlock()
            if chunk.count > bounce?.bytes ?? 0 {
                bounce?.release()
                bounce = Bounce(bytes: chunk.count)
            }
            chunk.read(bounce?.address)
        }
    }
}

/// A reader's bounce buffer, on huge pages where the system gives them: whole 2 MiB pages, 2 MiB aligned,
/// `madvise(MADV_HUGEPAGE)` (this machine's transparent huge pages are `madvise` only).
///
/// Why: a direct read's request carries one segment per run of physically adjacent pages, and this disk
/// takes at most 254 segments per request (`/sys/block/vda/queue/max_segments`), so a 4 MiB chunk into
/// scattered 4 KiB pages is cut into at least five requests. Whether a buffer's pages are adjacent is
/// otherwise the allocator's luck: with the buffers of `posix_memalign` (4 KiB pages), reads that kept four
/// chunks under way took 10 ms per 4 MiB chunk instead of 3–4 (median, `strace -T`, one full-size run
/// each), and a 16 GiB decode ran at 0.31–0.66 tokens/s in 17 runs of five variants of these threads,
/// against 0.60–0.84 for the build before in the 20 runs alternating with them (2026-12-07 22:45–23:36 UTC,
/// load 0.1–7.4, a build running at times); on huge pages 0.81–0.92 in four runs against 0.79–0.82.
private struct Bounce {
    let address: UnsafeMutableRawPointer
    let bytes: Int
    private let mapping: UnsafeMutableRawPointer
    private let mappingBytes: Int

    static let hugePage = 2 << 20

    /// Maps `bytes` (rounded up to huge pages); nil when there is no memory.
    init?(bytes: Int) {
        let rounded = (bytes + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        // one huge page more, so that a 2 MiB aligned start lies inside
        mappingBytes = rounded + Self.hugePage
        guard let mapped = mmap(nil, mappingBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), mapped != MAP_FAILED else {
            return nil
        }
        mapping = mapped
        let aligned = (Int(bitPattern: mapped) + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        address = UnsafeMutableRawPointer(bitPattern: aligned)!
        self.bytes = rounded
        _ = madvise(address, rounded, hugePageAdvice)
    }

    func release() {
        munmap(mapping, mappingBytes)
    }
}

/// `MADV_HUGEPAGE` (Linux `asm-generic/mman-common.h`); elsewhere an advice the kernel refuses, harmlessly.
#if os(Linux)
private let hugePageAdvice: Int32 = 14
#else
private let hugePageAdvice: Int32 = -1
#endif

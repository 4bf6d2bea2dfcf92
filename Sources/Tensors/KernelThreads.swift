import Foundation
import Synchronization

/// The threads that share one packed matrix–vector product with the calling thread: one per extra core.
///
/// Why not `DispatchQueue.concurrentPerform`: a decode step of the `bench` preset runs about 80 products
/// of 10–300 µs each, and libdispatch wakes its workers for every call while the caller waits for them in
/// `sched_yield`; on two cores that cost about a third of the cores' time (q4 decode reached 1.55× its
/// one-core speed). These threads instead keep polling for the next job for `pollingTime` after each
/// one, so the next product starts on all cores within a microsecond, and sleep on a semaphore when no
/// job comes — the scheme of ggml's CPU thread pool (`ggml-cpu.c`, `ggml_graph_compute_poll_for_work`).
///
/// A job is split into chunks that threads claim one at a time (an atomic counter), so a core that
/// another process holds up does not hold up the product: the caller takes its chunks.
// @unchecked Sendable: `job` is written only while `generation` is odd and `readers` is 0 (atomics); a Mutex would cost the polling's µs.
public final class KernelThreads: @unchecked Sendable {
    /// One thread per core besides the caller's (none on a single core).
    public static let shared = KernelThreads(workers: ProcessInfo.processInfo.activeProcessorCount - 1)

    /// How long an idle worker keeps polling before it sleeps (µs): longer than the gap between two
    /// products of a decode step (attention, norms, routing: some µs), short enough that the workers
    /// leave the cores to OpenBLAS during a prefill.
    static let pollingTime: UInt64 = 200

    /// Even: `job` is published under this number. Odd: no job; the caller may replace `job`.
    private let generation = Atomic<Int>(1)
    /// Workers that may be reading `job` (they count themselves in before checking `generation`).
    private let readers = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let chunksDone = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    /// Serialises callers; a caller that finds it taken (another product running, or a nested call)
    /// runs its chunks itself.
    private let callerLock = NSLock()
    /// Written only while `generation` is odd and no worker is counted in `readers`.
    private var job: (chunks: Int, body: (Int) -> Void)?

    public let workers: Int

    /// Starts `workers` threads, which live as long as the process (sleeping when idle).
    public init(workers: Int) {
        self.workers = max(0, workers)
        for _ in 0..<self.workers {
            let thread = Thread { self.work() }
            thread.name = "mixtral-lab kernel"
            thread.start()
        }
    }

    /// Calls `body(chunk)` once for every chunk in `0..<chunks`, on this thread and the workers, and
    /// returns when all have returned. `body` must be safe to call concurrently for different chunks.
    public func run(chunks: Int, _ body: (Int) -> Void) {
        guard workers > 0, chunks > 1, callerLock.try() else {
            for chunk in 0..<chunks { body(chunk) }
            return
        }
        defer { callerLock.unlock() }
        // `body` is stored for the workers only until every worker that may have copied it has let go
        // (`readers` back to 0), which `withoutActuallyEscaping` checks when it returns.
        withoutActuallyEscaping(body) { body in
            job = (chunks, body)
            nextChunk.store(0, ordering: .relaxed)
            chunksDone.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)   // odd → even: published
            for _ in 0..<min(sleepers.load(ordering: .sequentiallyConsistent), workers) { wake.signal() }
            runChunks(chunks, body)
            while chunksDone.load(ordering: .acquiring) < chunks {}
            generation.add(1, ordering: .sequentiallyConsistent)   // even → odd: withdrawn
            while readers.load(ordering: .sequentiallyConsistent) > 0 {}
            job = nil
        }
    }

    /// Claims chunks until none is left.
    private func runChunks(_ chunks: Int, _ body: (Int) -> Void) {
        while true {
            let chunk = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            guard chunk < chunks else { return }
            body(chunk)
            chunksDone.add(1, ordering: .releasing)
        }
    }

    /// A worker's life: wait for a job it has not seen, help with its chunks, repeat.
    private func work() {
        var seen = generation.load(ordering: .acquiring)
        while true {
            seen = waitForJob(after: seen)
            readers.add(1, ordering: .sequentiallyConsistent)
            help(with: seen)
            readers.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Runs chunks of the job published as `published`, if it still is; otherwise the caller may already
    /// be replacing `job`, which is left alone. Not inlined, so that the worker's copy of the closure is
    /// released before it leaves `readers`.
    @inline(never)
    private func help(with published: Int) {
        guard generation.load(ordering: .sequentiallyConsistent) == published, let job else { return }
        runChunks(job.chunks, job.body)
    }

    /// Polls for a published generation other than `seen` for `pollingTime`, then sleeps until one
    /// comes. Returns it.
    private func waitForJob(after seen: Int) -> Int {
        let deadline = DispatchTime.now().uptimeNanoseconds + Self.pollingTime * 1000
        var polls = 0
        while true {
            let current = generation.load(ordering: .acquiring)
            if current != seen, current % 2 == 0 { return current }
            polls += 1
            if polls % 1024 == 0, DispatchTime.now().uptimeNanoseconds > deadline { break }
        }
        sleepers.add(1, ordering: .sequentiallyConsistent)
        defer { sleepers.subtract(1, ordering: .sequentiallyConsistent) }
        while true {
            let current = generation.load(ordering: .sequentiallyConsistent)
            if current != seen, current % 2 == 0 { return current }
            wake.wait()
        }
    }
}

/// Calls `body` on contiguous row ranges covering `0..<rows`, concurrently on all cores
/// (`KernelThreads`) when the matrix has at least `parallelWeightThreshold` weights (each range writes
/// disjoint rows of the output). Every range but the last starts and ends on a multiple of `rowMultiple`
/// (the integer kernels work on groups of 8 rows).
public func forEachRowRange(rows: Int, cols: Int, rowMultiple: Int = 1, _ body: (Range<Int>) -> Void) {
    let threads = KernelThreads.shared.workers + 1
    guard rows * cols >= parallelWeightThreshold, threads > 1, rows >= 2 * threads else { return body(0..<rows) }
    // several chunks per thread, so that a core held up by another process hands its share to the others
    let wanted = max(1, min(4 * threads, rows / 8))
    let rowsPerChunk = ((rows + wanted - 1) / wanted + rowMultiple - 1) / rowMultiple * rowMultiple
    let chunks = (rows + rowsPerChunk - 1) / rowsPerChunk
    KernelThreads.shared.run(chunks: chunks) { chunk in
        let start = chunk * rowsPerChunk
        let end = min(rows, start + rowsPerChunk)
        if start < end { body(start..<end) }
    }
}

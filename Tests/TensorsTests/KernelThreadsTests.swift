import Foundation
import Synchronization
import Testing
@testable import Tensors

/// `KernelThreads`: every chunk runs exactly once, on more than one thread when there are cores to
/// spare, also for back-to-back jobs, concurrent callers, nested calls and jobs after the workers slept.
@Suite struct KernelThreadsTests {
    /// Runs `chunks` chunks and returns how often each ran.
    private func counts(_ threads: KernelThreads, chunks: Int, work: (Int) -> Void = { _ in }) -> [Int] {
        let lock = NSLock()   // a pthread mutex, which ThreadSanitizer sees (it does not see Mutex's futex)
        var runs = [Int](repeating: 0, count: chunks)
        threads.run(chunks: chunks) { chunk in
            work(chunk)
            lock.withLock { runs[chunk] += 1 }
        }
        return lock.withLock { runs }
    }

    @Test func everyChunkRunsOnceInManyBackToBackJobs() {
        let threads = KernelThreads(workers: 3)
        for job in 0..<2000 {
            let chunks = 1 + job % 17
            #expect(counts(threads, chunks: chunks) == Array(repeating: 1, count: chunks))
        }
    }

    @Test func workersTakeChunks() {
        let threads = KernelThreads(workers: 1)
        let caller = Thread.current
        let elsewhere = Atomic<Int>(0)
        for _ in 0..<50 {
            _ = counts(threads, chunks: 8) { _ in
                if Thread.current != caller { elsewhere.add(1, ordering: .relaxed) }
                usleep(200)   // long enough for the worker to claim some
            }
        }
        #expect(elsewhere.load(ordering: .relaxed) > 0)
    }

    @Test func concurrentCallersAndNestedCallsEachRunEveryChunk() {
        let threads = KernelThreads(workers: 2)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<200 {
                let outer = counts(threads, chunks: 6) { _ in
                    let inner = counts(threads, chunks: 3)
                    if inner != [1, 1, 1] { failures.add(1, ordering: .relaxed) }
                }
                if outer != Array(repeating: 1, count: 6) { failures.add(1, ordering: .relaxed) }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    @Test func jobsAfterTheWorkersSleptRun() {
        let threads = KernelThreads(workers: 2)
        for _ in 0..<5 {
            usleep(UInt32(KernelThreads.pollingTime) * 3)   // past the polling time: workers sleep
            #expect(counts(threads, chunks: 9) { _ in usleep(100) } == Array(repeating: 1, count: 9))
        }
    }
}

import Foundation

/// One expert read queued on the provider's I/O thread: it runs unless cancelled before it starts, and
/// anyone may wait for it to finish (any number of times). Its results are read after `wait()`.
// @unchecked Sendable: `cancelled`/`done` behind `lock`; results written before `finished` is signalled, read after `wait()`.
final class ReadJob: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var done = false
    private let finished = DispatchSemaphore(value: 0)
    /// Bytes read and the time the read took: from its own start (below) to its end (0 when cancelled
    /// before it started).
    private(set) var bytes = 0
    private(set) var seconds = 0.0
    /// When the read started (`DispatchTime` uptime, ns; 0 until then): when it was started on the I/O
    /// thread or when the read queued before it ended, whichever is later (`ReadQueue`: its chunks wait
    /// behind that one's until then). Written before `isFinished` turns true, so a waiter reads it after
    /// `wait()`.
    private(set) var startedAt: UInt64 = 0
    /// When it had run or been skipped (uptime, ns), likewise.
    private(set) var finishedAt: UInt64 = 0
    private(set) var error: Error?
    /// Whether it was cancelled before it started (nothing read).
    private(set) var skipped = false

    /// Runs `read` (returning the bytes read) unless the job was cancelled; then signals waiters.
    /// `ownStart(start, end)` gives the read's own start from when it was started and when it ended.
    func run(_ read: () throws -> Int, ownStart: (UInt64, UInt64) -> UInt64) {
        lock.lock()
        let skip = cancelled
        lock.unlock()
        skipped = skip
        if !skip {
            let start = DispatchTime.now().uptimeNanoseconds
            do { bytes = try read() } catch { self.error = error }
            let end = DispatchTime.now().uptimeNanoseconds
            startedAt = ownStart(start, end)
            seconds = Double(end - startedAt) / 1e9
        }
        lock.lock()
        finishedAt = DispatchTime.now().uptimeNanoseconds
        done = true
        lock.unlock()
        finished.signal()
    }

    /// Keeps the read from starting if it has not yet (a running read completes).
    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }

    /// Whether the job has run or been skipped (does not block).
    var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return done
    }

    /// Blocks until the job has run or been skipped.
    func wait() {
        finished.wait()
        finished.signal()
    }
}

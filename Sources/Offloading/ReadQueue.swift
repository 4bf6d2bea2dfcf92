import Foundation

/// The provider's I/O: expert reads started in the order they are added, at most `depth` under way, each
/// one's chunks queued on the direct readers (`DirectReaders`) behind the previous one's — so the disk
/// reads the next expert while the last chunks of one are still arriving, and the first added still
/// finishes first. A read waiting to start can still be cancelled (`ReadJob.cancel`).
///
/// Why two: with one read at a time the four reader threads finished each expert and sat idle until the
/// I/O thread started the next one; with two, the next one's chunks are already queued. (More would only
/// start reads that then cannot be cancelled any more: a prefetched expert evicted before its read
/// starts is never read.) The same 99 MiB ranges read 1.3–1.6× faster that way in a test of the reads
/// alone (`DirectReaders`); in the engine, a 16 GiB prefill on the full-size file read its 23.6 GiB of
/// experts in 11.4–11.8 s against 12.4 s with one read at a time, and waited 1.2–1.3 s for them against
/// 1.7 (two runs each, alternating, 2026-12-07 23:33–23:36 UTC, load 3–6; decode the same).
/// The reads' own times (`ReadJob.seconds`) add up to the time the disk was busy.
// @unchecked Sendable: `lastEnd` is behind `lock`; the rest are Dispatch objects.
final class ReadQueue: @unchecked Sendable {
    static let depth = 2
    private let order = DispatchQueue(label: "mixtral-lab.expert-reads")
    private let running = DispatchQueue(label: "mixtral-lab.expert-reads.running", attributes: .concurrent)
    private let underWay = DispatchSemaphore(value: depth)
    private let lock = NSLock()
    /// When the latest read that finished ended (uptime, ns).
    private var lastEnd: UInt64 = 0

    /// Adds `job`, whose `read` calls `queued` once its chunks are queued on the readers (its buffered
    /// pieces, if any, already read) and returns the bytes read when they have all arrived.
    func add(_ job: ReadJob, _ read: @escaping @Sendable (_ queued: () -> Void) throws -> Int) {
        order.async { [self] in
            underWay.wait()
            let queued = DispatchSemaphore(value: 0)
            running.async { [self] in
                job.run({ try read { queued.signal() } }, ownStart: ownStart)
                // skipped, failed before queueing, or buffered: the next read may start now
                queued.signal()
                underWay.signal()
            }
            queued.wait()
        }
    }

    /// A read started at `start` and ended at `end` (uptime, ns) started its own reading when it was started
    /// or when the latest read before it ended, whichever is later; so the reads' times add up to the time
    /// the disk was busy with them, not counting twice the time two were under way together.
    private func ownStart(_ start: UInt64, _ end: UInt64) -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        let own = min(end, max(start, lastEnd))
        lastEnd = max(lastEnd, end)
        return own
    }
}

import Testing
import Foundation
@testable import Offloading

/// `ReadQueue`: reads start in the order added, the next one while the one before is still reading (its
/// chunks queued), a read cancelled before it starts is skipped, and the reads' own times do not count
/// twice the time two were under way together.
struct ReadQueueTests {
    @Test func theNextReadStartsWhileTheOneBeforeIsReading() throws {
        let queue = ReadQueue()
        let first = ReadJob(), second = ReadJob()
        let secondStarted = DispatchSemaphore(value: 0)
        let order = Order()
        queue.add(first) { queued in
            order.append(1)
            queued()
            // still reading: the second read must start now (one read at a time would wait here forever)
            let started = secondStarted.wait(timeout: .now() + 10) == .success
            order.append(started ? 3 : -1)
            return 10
        }
        queue.add(second) { queued in
            order.append(2)
            secondStarted.signal()
            queued()
            Thread.sleep(forTimeInterval: 0.05)
            return 20
        }
        first.wait()
        second.wait()
        #expect(order.values == [1, 2, 3])
        #expect(first.bytes == 10 && second.bytes == 20)
        #expect(!first.skipped && !second.skipped)
    }

    @Test func ownTimesDoNotCountTheOverlapTwice() throws {
        let queue = ReadQueue()
        let jobs = (0..<4).map { _ in ReadJob() }
        let wallStart = DispatchTime.now().uptimeNanoseconds
        for job in jobs {
            // each read's chunks "arrive" 40 ms after it is queued behind the one before: as on the readers,
            // the second read is under way while the first is still reading
            queue.add(job) { queued in
                queued()
                Thread.sleep(forTimeInterval: 0.04)
                return 1
            }
        }
        for job in jobs { job.wait() }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
        let total = jobs.map(\.seconds).reduce(0, +)
        // (reads measured from their start to their end would add up to about twice the wall time here)
        #expect(total <= wall + 1e-3, "reads' own times \(total) s exceed the \(wall) s they took together")
        #expect(jobs.allSatisfy { $0.seconds >= 0 && $0.seconds <= wall + 1e-3 })
    }

    @Test func aReadCancelledBeforeItStartsIsSkipped() throws {
        let queue = ReadQueue()
        let release = DispatchSemaphore(value: 0)
        let blockers = (0..<ReadQueue.depth).map { _ in ReadJob() }
        for job in blockers {
            queue.add(job) { queued in
                queued()
                release.wait()
                return 1
            }
        }
        // both places taken: this one cannot start until a blocker ends
        let cancelled = ReadJob()
        let ran = Order()
        queue.add(cancelled) { _ in
            ran.append(1)
            return 1
        }
        cancelled.cancel()
        for _ in blockers { release.signal() }
        cancelled.wait()
        #expect(cancelled.skipped)
        #expect(ran.values.isEmpty)
        #expect(cancelled.bytes == 0)
    }
}

/// Values appended from several threads.
private final class Order: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Int] = []
    func append(_ value: Int) {
        lock.lock()
        list.append(value)
        lock.unlock()
    }
    var values: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}

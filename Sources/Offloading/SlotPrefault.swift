import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Faults in the memory of a provider's expert slots on a background thread, in the order the first
/// reads will fill them, so that the reads find it mapped.
///
/// A slot's arrays are reserved but never written before their first read (`ExpertSlot`): the kernel
/// provides each 4 KiB page at the first write, and in a virtual machine whose host takes back the memory
/// the guest frees (virtio-balloon free page reporting) the host must provide it too. Without this, those
/// faults happen on the reader threads, between one chunk's `pread` and the next, while the disk waits;
/// `madvise(MADV_POPULATE_WRITE)` (Linux 5.14) takes them in one call per array, on a thread of its own, and
/// leaves the arrays' contents alone — a slot already filled by a read keeps its bytes. It maps nothing
/// beyond the slots the budget counts, so the peak RSS is the same, reached earlier. Where the call is
/// unknown (older kernels, other systems) nothing is done: the reads fault the pages in as before.
///
/// Measured on the 26 GB full-size file at a 16 GiB budget (prefill of 31 tokens, memory cgroup of 16 GiB,
/// page cache dropped, five alternating pairs, 2026-12-07 14:18–14:45 UTC while other sessions built, load
/// 3.6–11.8): with it the I/O thread read the prefill's 25.4 GB of experts in 14.2–36.5 s, without it in
/// 23.6–50.7 s (20–40 % less time with it in every pair), and the layers waited 0.4–3.3 s for reads against 3.9–7.3 s;
/// both took 4.14 million minor faults (15.8 GB of 4 KiB pages). Huge pages (`MADV_HUGEPAGE`; this machine's THP mode is `madvise`) made
/// first writes slower, not faster, in a test of 1 GiB mappings on the same machine: 0.57–0.84 s of CPU per
/// GiB against 0.23–0.26 s with 4 KiB pages.
// @unchecked Sendable: `cancelled` is behind `lock`; the counts are written by the thread and read after `wait()`.
final class SlotPrefault: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private let finished = DispatchSemaphore(value: 0)
    /// Arrays faulted in and the calls the kernel refused (both read after `wait()`).
    private(set) var arraysFaulted = 0
    private(set) var refused = 0

    /// Starts faulting in the arrays of `slots`, in order. Their addresses are taken here, on the caller's
    /// thread (before any read into them); the thread only holds the slots, so that their arrays outlive it.
    init(slots: [ExpertSlot]) {
        let ranges = slots.flatMap(\.storageRanges)
        Thread.detachNewThread { [self] in
            for range in ranges {
                if isCancelled { break }
                if Self.populate(range) { arraysFaulted += 1 } else { refused += 1 }
            }
            withExtendedLifetime(slots) {}
            finished.signal()
        }
    }

    /// Stops after the array under way.
    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }

    /// Blocks until the thread has ended.
    func wait() {
        finished.wait()
        finished.signal()
    }

    private var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// `madvise(MADV_POPULATE_WRITE)` over the whole pages inside `range` (the pages at its ends, shared
    /// with other allocations, are left to the first write).
    /// - Returns: whether the kernel did it.
    private static func populate(_ range: ExpertSlot.StorageRange) -> Bool {
        guard let advice = populateWriteAdvice else { return false }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(range.address) + page - 1) / page * page, end = (Int(range.address) + range.count) / page * page
        guard end > start else { return true }
        return madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, advice) == 0
    }
}

/// `MADV_POPULATE_WRITE` (Linux `asm-generic/mman-common.h`, since 5.14), which Glibc's Swift module does
/// not export; nil where there is none.
#if os(Linux)
private let populateWriteAdvice: Int32? = 23
#else
private let populateWriteAdvice: Int32? = nil
#endif

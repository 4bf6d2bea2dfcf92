import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import Offloading

/// `SlotPrefault`: the slots' arrays are mapped once it has run (what the reads' bits are is checked by
/// every streamed-logits test, which all run with it).
struct SlotPrefaultTests {
    @Test func everyWholePageOfTheSlotsIsMappedAfterThePrefault() throws {
        // 1024 × 1024 Q4_0: 576 KiB per projection, a fresh mapping of its own
        let projection = ProjectionLayout(format: .q4_0, rows: 1024, cols: 1024)
        let slots = (0..<3).map { _ in ExpertSlot(layout: ExpertLayout(w1: projection, w2: projection, w3: projection)) }
        let prefault = SlotPrefault(slots: slots)
        prefault.wait()
        #expect(prefault.refused == 0, "madvise(MADV_POPULATE_WRITE) refused (a kernel before Linux 5.14?)")
        #expect(prefault.arraysFaulted == 9)
        // the slots must outlive the check: released after their last use, their arrays would be unmapped
        // (and the prefault thread may already have dropped its reference)
        try withExtendedLifetime(slots) {
            for range in slots.flatMap(\.storageRanges) {
                let (resident, pages) = try residentPages(range)
                #expect(pages > 100 && resident == pages, "\(resident) of \(pages) pages mapped")
            }
        }
    }

    /// Whole pages inside `range` that are in memory (`mincore`), and how many whole pages it has.
    private func residentPages(_ range: ExpertSlot.StorageRange) throws -> (Int, Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(range.address) + page - 1) / page * page, end = (Int(range.address) + range.count) / page * page
        let pages = (end - start) / page
        var vector = [UInt8](repeating: 0, count: pages)
        try #require(mincore(UnsafeMutableRawPointer(bitPattern: start), end - start, &vector) == 0)
        return (vector.filter { $0 & 1 != 0 }.count, pages)
    }
}

/// Last-use order of experts: a counter bumped on every access, so "least recently used" is the smallest
/// stamp. Shared by the policies that break ties or evict by recency.
struct RecencyTracker {
    private var clock = 0
    private var lastUse: [Int: Int] = [:]

    mutating func touch(_ expert: Int) {
        clock += 1
        lastUse[expert] = clock
    }

    /// The least recently used of `candidates` (never-used ones first, then the lower index).
    func leastRecent(_ candidates: [Int]) -> Int {
        candidates.min { (lastUse[$0] ?? 0, $0) < (lastUse[$1] ?? 0, $1) }!
    }

    func stamp(_ expert: Int) -> Int { lastUse[expert] ?? 0 }
}

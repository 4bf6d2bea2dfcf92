/// `optimal`: Belady's MIN rule (Belady 1966, "A study of replacement algorithms for a virtual-storage
/// computer") on the recorded routing: evict the resident expert whose next use is farthest in the future,
/// and do not store the incoming expert at all when its own next use is at least as far as every
/// candidate's. On a given access sequence no policy with the same number of slots needs fewer transfers,
/// so its misses are the floor for that cache size.
public final class OptimalPolicy: CachePolicy {
    /// For each expert, the steps at which this layer uses it, ascending.
    private let usesByExpert: [Int: [Int]]

    /// - Parameter future: the layer's distinct experts per step, `[steps][experts]`, the whole run.
    public init(future: [[Int]]) {
        var uses: [Int: [Int]] = [:]
        for (step, experts) in future.enumerated() {
            for e in Set(experts) { uses[e, default: []].append(step) }
        }
        usesByExpert = uses
    }

    public func accessed(_ expert: Int, step: Int) {}

    public func victim(for incoming: Int, among candidates: [Int], step: Int) -> Int? {
        let farthest = candidates.max { (nextUse($0, after: step), -$0) < (nextUse($1, after: step), -$1) }!
        return nextUse(incoming, after: step) >= nextUse(farthest, after: step) ? nil : farthest
    }

    /// The first step after `step` that uses `expert`, or `Int.max` if none.
    func nextUse(_ expert: Int, after step: Int) -> Int {
        guard let steps = usesByExpert[expert] else { return Int.max }
        var low = 0, high = steps.count
        while low < high {
            let mid = (low + high) / 2
            if steps[mid] <= step { low = mid + 1 } else { high = mid }
        }
        return low < steps.count ? steps[low] : Int.max
    }
}

/// `resident`: every expert lives in the fast tier from the start (the baseline with no offloading).
/// The simulator gives it one slot per expert, so it never evicts.
public final class ResidentPolicy: CachePolicy {
    public init() {}
    public func initialResidents(numExperts: Int) -> [Int] { Array(0..<numExperts) }
    public func accessed(_ expert: Int, step: Int) {}
    /// Never asked (the cache holds every expert); answers the lowest index.
    public func victim(for incoming: Int, among candidates: [Int], step: Int) -> Int? { candidates.min() }
}

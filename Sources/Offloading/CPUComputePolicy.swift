/// `cpu-compute`: the baseline that copies nothing. The slots hold a fixed set of experts from the start —
/// experts 0 … slots − 1 of every layer, chosen without looking at the routing, as llama.cpp's partial
/// offload places tensors by name (`--n-cpu-moe`) — and are never replaced: a miss is never stored
/// (`victim` is nil), so it is used where it lives. The simulator charges such a miss the host CPU's
/// compute from host RAM (`CostModel.hostExpertUs`) instead of a copy; the real engine, which computes on
/// the CPU anyway, reads it through the transient buffer.
public final class CPUComputePolicy: CachePolicy {
    public init() {}

    public func initialResidents(numExperts: Int) -> [Int] { Array(0..<numExperts) }

    public func accessed(_ expert: Int, step: Int) {}

    public func victim(for incoming: Int, among candidates: [Int], step: Int) -> Int? { nil }
}

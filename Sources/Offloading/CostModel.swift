/// The simulated clock's formulas: how long compute and transfers take on a hardware profile.
///
/// - Compute of a block = max(bytes of weights read / memory bandwidth, FLOPs / peak FLOP/s) — a roofline
///   with the weights read once per forward call (activations, KV-cache reads and attention scores are
///   left out: small next to the weights at the batch sizes of interactive generation).
/// - A transfer = bytes / link bandwidth + link latency; transfers share one link and run one at a time.
public struct CostModel: Sendable {
    public let hardware: HardwareProfile
    public let footprint: ModelFootprint

    public init(hardware: HardwareProfile, footprint: ModelFootprint) {
        self.hardware = hardware
        self.footprint = footprint
    }

    /// µs to compute over `bytes` of weights doing `flops` operations.
    public func computeUs(bytes: Int, flops: Double) -> Double {
        max(Double(bytes) / hardware.memoryBandwidth, flops / hardware.computeFlops) * 1e6
    }

    /// µs for layer `layer`'s attention and router over `tokens` tokens.
    public func attentionUs(layer: Int, tokens: Int) -> Double {
        computeUs(bytes: footprint.layerResidentBytes[layer], flops: 2 * Double(tokens * footprint.layerResidentParameters))
    }

    /// µs for the experts of one layer: `experts` distinct experts read once, `rows` token–expert pairs
    /// computed (`tokens · topK`).
    public func expertsUs(layer: Int, experts: [Int], rows: Int) -> Double {
        let bytes = experts.reduce(0) { $0 + footprint.expertBytes[layer][$1] }
        return computeUs(bytes: bytes, flops: 2 * Double(rows * footprint.expertParameters))
    }

    /// µs for the final norm and LM head on one row (generation computes logits for the last position only).
    public var headUs: Double {
        computeUs(bytes: footprint.headBytes, flops: 2 * Double(footprint.headParameters))
    }

    /// µs to move `bytes` over the link.
    public func transferUs(bytes: Int) -> Double {
        Double(bytes) / hardware.linkBandwidth * 1e6 + hardware.linkLatencyUs
    }

    /// The clock's rules and the hardware's numbers in plain words, printed with every summary.
    public var assumptions: [String] {
        hardware.assumptions + [
            "compute per block = max(weight bytes / memory bandwidth, FLOPs / peak FLOP/s); KV-cache reads and attention scores not counted",
            "transfer = expert bytes / link bandwidth + latency; one link, transfers one at a time",
            "a layer's experts start when all its experts have arrived (demand misses stall); prefetches overlap compute",
            "non-expert weights always resident; expert sizes are the model's real byte sizes at its precision",
            "tokens/s counts decode steps only (prefill reported separately); batch size 1",
        ]
    }
}

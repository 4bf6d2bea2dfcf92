import Quantization

/// The simulated clock's formulas: how long compute and expert reads take on a hardware profile.
///
/// - Compute of a block of weights: with a measured decode speed for the block's precision
///   (`HardwareProfile.decodeWeightsPerSecond`, from `hardware probe`), weights / that speed for one
///   token; for more tokens at once (a prefill), max(that, FLOPs / peak FLOP/s). Without one, a roofline:
///   max(weight bytes / memory bandwidth, FLOPs / peak FLOP/s), the weights read once per forward call.
/// - A read of one expert = bytes / link bandwidth + one link latency per positioned read; the engine
///   reads each projection's arrays with one read each (`ExpertSlot`: 3 reads, 6 for nf4, 12 for nf4-dq).
///   Reads share one link (the engine's one I/O thread) and run one at a time.
public struct CostModel: Sendable {
    public let hardware: HardwareProfile
    public let footprint: ModelFootprint

    public init(hardware: HardwareProfile, footprint: ModelFootprint) {
        self.hardware = hardware
        self.footprint = footprint
    }

    /// µs to compute over `weights` weights held in `bytes` bytes at `precision` for `tokens` tokens
    /// (a multiply-add per weight and token: 2 FLOPs).
    public func computeUs(bytes: Int, weights: Int, tokens: Int, precision: Precision?) -> Double {
        let flopsUs = 2 * Double(weights * tokens) / hardware.computeFlops * 1e6
        if let precision, let rate = hardware.decodeWeightsPerSecond?[precision.rawValue] {
            return max(Double(weights) / rate * 1e6, tokens > 1 ? flopsUs : 0)
        }
        return max(Double(bytes) / hardware.memoryBandwidth * 1e6, flopsUs)
    }

    /// µs for layer `layer`'s attention projections and router over `tokens` tokens.
    public func attentionUs(layer: Int, tokens: Int) -> Double {
        let layers = max(1, footprint.numLayers)
        let routerWeights = (footprint.parametersByClass[.router] ?? 0) / layers
        let attentionWeights = footprint.layerResidentParameters - routerWeights
        let routerBytes = (footprint.bytesByClass[.router] ?? 0) / layers
        return computeUs(bytes: footprint.layerResidentBytes[layer] - routerBytes, weights: attentionWeights, tokens: tokens,
                         precision: footprint.precisions[.attention])
            + computeUs(bytes: routerBytes, weights: routerWeights, tokens: tokens, precision: footprint.precisions[.router])
    }

    /// µs for one expert of `layer` on `rows` tokens routed to it.
    public func expertUs(layer: Int, expert: Int, rows: Int) -> Double {
        computeUs(bytes: footprint.expertBytes[layer][expert], weights: footprint.expertParameters, tokens: rows,
                  precision: footprint.precisions[.experts])
    }

    /// µs for one expert of `layer` computed by the host CPU where it lives (host RAM) on `rows` tokens, as
    /// `cpu-compute` runs a miss: a roofline, max(expert bytes / host memory bandwidth, FLOPs / host peak
    /// FLOP/s), plus the hidden state's round trip over the link (two transfers of a few KB: 2 × latency).
    /// nil when the profile has no host CPU (`HardwareProfile.hostComputeFlops`, `.hostMemoryBandwidth`).
    public func hostExpertUs(layer: Int, expert: Int, rows: Int) -> Double? {
        guard let flops = hardware.hostComputeFlops, let bandwidth = hardware.hostMemoryBandwidth else { return nil }
        let bytes = footprint.expertBytes[layer][expert]
        let weights = footprint.expertParameters
        return max(Double(bytes) / bandwidth, 2 * Double(weights * rows) / flops) * 1e6 + 2 * hardware.linkLatencyUs
    }

    /// A miss of `layer`'s `expert` on `rows` tokens costs less computed by the host CPU where it lives
    /// (`hostExpertUs`) than copied over the link and computed in the fast tier (`transferUs` + `expertUs`),
    /// as `cheaper` decides per miss; ties go to the host (nothing copied). nil without a host CPU.
    public func hostIsCheaper(layer: Int, expert: Int, rows: Int) -> Bool? {
        guard let host = hostExpertUs(layer: layer, expert: expert, rows: rows) else { return nil }
        return host <= transferUs(bytes: footprint.expertBytes[layer][expert]) + expertUs(layer: layer, expert: expert, rows: rows)
    }

    /// µs of one decode token under naive offloading (Eliseev & Mazur 2023, Table 2's last row: whole
    /// layers moved on demand, as `accelerate`'s device_map does): per layer its attention, then every
    /// expert of the layer read over the link, then the `topK` experts' compute, nothing overlapped; plus
    /// the head. Attention stays in the fast tier.
    public var naiveOffloadingTokenUs: Double {
        (0..<footprint.numLayers).reduce(headUs) { sum, l in
            let reads = footprint.expertBytes[l].reduce(0.0) { $0 + transferUs(bytes: $1) }
            let experts = (0..<footprint.topK).reduce(0.0) { $0 + expertUs(layer: l, expert: $1, rows: 1) }
            return sum + attentionUs(layer: l, tokens: 1) + reads + experts
        }
    }

    /// µs for `experts` distinct experts of `layer` sharing `rows` token–expert pairs evenly (decode:
    /// one row each).
    public func expertsUs(layer: Int, experts: [Int], rows: Int) -> Double {
        experts.reduce(0) { $0 + expertUs(layer: layer, expert: $1, rows: max(1, rows / max(1, experts.count))) }
    }

    /// µs for the final norm and LM head on one row (generation computes logits for the last position only).
    public var headUs: Double {
        computeUs(bytes: footprint.headBytes, weights: footprint.headParameters, tokens: 1, precision: footprint.precisions[.head])
    }

    /// Positioned reads per expert: one per array of each projection, as `ExpertSlot` reads them.
    public var readsPerExpert: Int {
        switch footprint.precisions[.experts] {
        case .nf4: return 6
        case .nf4dq: return 12
        case .hqq4, .hqq3, .hqq2: return 15                                     // codes, 2 × (8-bit codes, range)
        case .hqq4HalfMetadata, .hqq3HalfMetadata, .hqq2HalfMetadata: return 9  // codes, scales, zero-points
        default: return 3
        }
    }

    /// µs to read one expert of `bytes` bytes over the link.
    public func transferUs(bytes: Int) -> Double {
        Double(bytes) / hardware.linkBandwidth * 1e6 + Double(readsPerExpert) * hardware.linkLatencyUs
    }

    /// The clock's rules and the hardware's numbers in plain words, printed with every summary, with what
    /// the model leaves out.
    public var assumptions: [String] {
        let measuredCompute = footprint.precisions[.experts].flatMap { hardware.decodeWeightsPerSecond?[$0.rawValue] } != nil
        return hardware.assumptions + [
            measuredCompute
                ? "compute per block = weights / the measured decode speed of its precision (one token); prefill also bounded by FLOPs / peak FLOP/s"
                : "compute per block = max(weight bytes / memory bandwidth, FLOPs / peak FLOP/s) (no measured decode speed for this precision)",
            "read of an expert = expert bytes / link bandwidth + \(readsPerExpert) × latency (one positioned read per projection array); one link (one I/O thread), reads one at a time",
            "a layer's reads into slots queue after its attention (demand misses, then prefetches); its experts run in ascending index, each when its read has arrived (a wait is a stall); a transient miss is read when its turn comes",
            "left out: attention over the KV cache, norms, RoPE, softmax, sampling and other per-token work besides the weight products; thread start-up and the page cache; reads slowed by other processes",
            "non-expert weights always resident; expert sizes are the model's real byte sizes at its precision",
            "tokens/s counts decode steps only (prefill reported separately); batch size 1",
        ]
    }
}

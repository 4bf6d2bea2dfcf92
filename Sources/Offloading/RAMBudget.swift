/// How a RAM budget (`--ram-budget`) is spent when experts are streamed from disk: the non-expert weights,
/// the session (KV cache and scratch) and two transient expert buffers are fixed; what is left becomes
/// expert slots, the same number in every MoE layer, and what is left after that one slot more in as many
/// layers as it holds, starting from layer 0:
///
///     free = budget − resident − session − 2 × expert bytes (the transient buffers)
///     slots per layer = ⌊free / (layers × expert bytes)⌋, at most numExperts
///     layers with one slot more = ⌊(free − slots per layer × layers × expert bytes) / expert bytes⌋ (0 at numExperts)
///
/// At least one slot per layer is required, and as many as the policy keeps: `resident` keeps every expert
/// of every layer, so with it the budget must hold `numExperts` slots per layer (`requiredSlotsPerLayer`)
/// — a run is refused rather than allowed to hold more than its budget. With fewer slots than the experts a token uses (top-k), a
/// token's other experts go through the transient buffers, read again each time they are needed. Two
/// transient buffers, not one, so that a prefill needing more experts than a layer's slots reads the next
/// transient expert while the previous one computes (`DiskExpertProvider`).
/// The process's own overhead (Swift runtime, BLAS buffers, tokenizer, page tables) is not in the budget;
/// `mixtral-lab` states it with the benchmark figures.
public struct RAMBudget: Sendable, Equatable {
    public let budget: Int
    /// Non-expert weights: embedding, head, attention, routers, norms.
    public let residentBytes: Int
    /// KV cache and scratch buffers of the session (`Session.memoryBytes`).
    public let sessionBytes: Int
    /// One expert at the run's precision (a slot, and each transient buffer).
    public let expertBytes: Int
    /// Transient buffers: one the compute uses, one being read.
    public static let transientBuffers = 2
    public let numLayers: Int
    public let numExperts: Int
    public let topK: Int
    /// Slots every layer has.
    public let slotsPerLayer: Int
    /// Slots of each layer: `slotsPerLayer`, plus one in the first layers the remainder holds.
    public let slots: LayerSlots
    /// The fewest slots per layer the policy runs with (1; `numExperts` for `resident`).
    public let requiredSlotsPerLayer: Int

    /// - Parameter policy: the run's policy; its `capacity(cacheExperts: 1, …)` is the fewest slots it
    ///   can hold (`resident` holds every expert whatever its slots).
    /// - Throws: `ExpertStoreError.budgetTooSmall` naming the minimum when fewer slots per layer fit than the
    ///   policy keeps (one, or every expert for `resident`).
    public init(budget: Int, residentBytes: Int, sessionBytes: Int, expertBytes: Int, numLayers: Int, numExperts: Int, topK: Int,
                policy: PolicySpec = .lru) throws {
        self.budget = budget
        self.residentBytes = residentBytes
        self.sessionBytes = sessionBytes
        self.expertBytes = expertBytes
        self.numLayers = numLayers
        self.numExperts = numExperts
        self.topK = topK
        let fixed = residentBytes + sessionBytes + Self.transientBuffers * expertBytes
        let free = max(0, budget - fixed)
        slotsPerLayer = min(numExperts, free / max(1, numLayers * expertBytes))
        let remainder = free - slotsPerLayer * numLayers * expertBytes
        let extraLayers = slotsPerLayer < numExperts ? min(numLayers, remainder / max(1, expertBytes)) : 0
        let equal = slotsPerLayer
        slots = LayerSlots((0..<numLayers).map { $0 < extraLayers ? equal + 1 : equal })
        requiredSlotsPerLayer = max(1, policy.capacity(cacheExperts: 1, numExperts: numExperts))
        guard slotsPerLayer >= requiredSlotsPerLayer else {
            let why = requiredSlotsPerLayer > 1 ? "; --policy \(policy) keeps all \(numExperts) experts of every layer" : ""
            throw ExpertStoreError.budgetTooSmall(budget: budget, minimum: minimumBytes,
                                                  breakdown: breakdown(slots: requiredSlotsPerLayer) + why)
        }
    }

    /// Resident weights, session and the transient buffers.
    public var fixedBytes: Int { residentBytes + sessionBytes + Self.transientBuffers * expertBytes }
    /// The smallest budget that runs: the fixed part and the policy's required slots in every layer.
    public var minimumBytes: Int { fixedBytes + requiredSlotsPerLayer * numLayers * expertBytes }
    /// What the run holds: the fixed part and every slot.
    public var usedBytes: Int { fixedBytes + slots.total * expertBytes }

    private func breakdown(slots: Int, extra: Int = 0) -> String {
        "resident weights \(ByteSize.format(residentBytes)) + KV cache and scratch \(ByteSize.format(sessionBytes))"
            + " + \(Self.transientBuffers) transient expert buffers × \(ByteSize.format(expertBytes))"
            + " + \(counted(slots, "slot")) × \(counted(numLayers, "layer")) × \(ByteSize.format(expertBytes))"
            + (extra > 0 ? " + \(counted(extra, "slot")) × \(ByteSize.format(expertBytes))" : "")
    }

    /// The accounting in words, one line each.
    public var lines: [String] {
        var lines = [
            "ram budget \(ByteSize.format(budget)): \(breakdown(slots: slotsPerLayer, extra: slots.layersWithMore.count)) = \(ByteSize.format(usedBytes)) (\(usedBytes) B)",
            "expert slots: \(slotsPerLayer) of \(numExperts) per layer"
                + (slots.layersWithMore.isEmpty ? "" : ", \(slotsPerLayer + 1) in \(slots.layersWithMore.count == 1 ? "layer" : "layers") \(LayerSlots.ranges(slots.layersWithMore)) (the budget's remainder)")
                + " (\(ByteSize.format(slots.total * expertBytes)) over \(numLayers) layers)",
        ]
        if slotsPerLayer < topK {
            lines.append("fewer slots than the \(topK) experts a token uses: its other experts are read into a transient buffer every time")
        }
        if slotsPerLayer == numExperts {
            lines.append("every expert fits in the budget: each is read from disk once")
        }
        return lines
    }
}

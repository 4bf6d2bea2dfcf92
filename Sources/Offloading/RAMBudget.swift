/// How a RAM budget (`--ram-budget`) is spent when experts are streamed from disk: the non-expert weights,
/// the session (KV cache and scratch) and one transient expert buffer are fixed; what is left becomes
/// expert slots, the same number in every MoE layer:
///
///     slots per layer = ⌊(budget − resident − session − transient) / (layers × expert bytes)⌋, at most numExperts
///
/// At least one slot per layer is required. With fewer slots than the experts a token uses (top-k), a
/// token's other experts go through the transient buffer, read again each time they are needed.
/// The process's own overhead (Swift runtime, BLAS buffers, tokenizer, page tables) is not in the budget;
/// `mixtral-lab` states it with the benchmark figures.
public struct RAMBudget: Sendable, Equatable {
    public let budget: Int
    /// Non-expert weights: embedding, head, attention, routers, norms.
    public let residentBytes: Int
    /// KV cache and scratch buffers of the session (`Session.memoryBytes`).
    public let sessionBytes: Int
    /// One expert at the run's precision (a slot, and the transient buffer).
    public let expertBytes: Int
    public let numLayers: Int
    public let numExperts: Int
    public let topK: Int
    public let slotsPerLayer: Int

    /// - Throws: `ExpertStoreError.budgetTooSmall` naming the minimum when not even one slot per layer fits.
    public init(budget: Int, residentBytes: Int, sessionBytes: Int, expertBytes: Int, numLayers: Int, numExperts: Int, topK: Int) throws {
        self.budget = budget
        self.residentBytes = residentBytes
        self.sessionBytes = sessionBytes
        self.expertBytes = expertBytes
        self.numLayers = numLayers
        self.numExperts = numExperts
        self.topK = topK
        let fixed = residentBytes + sessionBytes + expertBytes
        let slots = budget > fixed ? (budget - fixed) / max(1, numLayers * expertBytes) : 0
        slotsPerLayer = min(numExperts, slots)
        guard slotsPerLayer >= 1 else {
            throw ExpertStoreError.budgetTooSmall(budget: budget, minimum: minimumBytes, breakdown: breakdown(slots: 1))
        }
    }

    /// Resident weights, session and the transient buffer.
    public var fixedBytes: Int { residentBytes + sessionBytes + expertBytes }
    /// The smallest budget that runs: the fixed part and one slot per layer.
    public var minimumBytes: Int { fixedBytes + numLayers * expertBytes }
    /// What the run holds: the fixed part and every slot.
    public var usedBytes: Int { fixedBytes + slotsPerLayer * numLayers * expertBytes }

    private func breakdown(slots: Int) -> String {
        "resident weights \(ByteSize.format(residentBytes)) + KV cache and scratch \(ByteSize.format(sessionBytes))"
            + " + transient expert buffer \(ByteSize.format(expertBytes))"
            + " + \(counted(slots, "slot")) × \(counted(numLayers, "layer")) × \(ByteSize.format(expertBytes))"
    }

    /// The accounting in words, one line each.
    public var lines: [String] {
        var lines = [
            "ram budget \(ByteSize.format(budget)): \(breakdown(slots: slotsPerLayer)) = \(ByteSize.format(usedBytes)) (\(usedBytes) B)",
            "expert slots: \(slotsPerLayer) of \(numExperts) per layer (\(ByteSize.format(slotsPerLayer * numLayers * expertBytes)) over \(numLayers) layers)",
        ]
        if slotsPerLayer < topK {
            lines.append("fewer slots than the \(topK) experts a token uses: its other experts are read into the transient buffer every time")
        }
        if slotsPerLayer == numExperts {
            lines.append("every expert fits in the budget: each is read from disk once")
        }
        return lines
    }
}

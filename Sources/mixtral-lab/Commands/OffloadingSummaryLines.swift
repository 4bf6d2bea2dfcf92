import Foundation
import Offloading
import Quantization

// The one-line totals of a simulated or a real offloading run (generate, step, trace, compare).

/// One line of offloading totals, on standard error after `generate`'s text and at the end of `step`.
func offloadingSummaryLine(_ s: OffloadingSummary, numExperts: Int) -> String {
    "offloading: \(s.policy), \(slotsText(s.cacheExperts, extraSlotLayers: s.extraSlotLayers, numExperts: numExperts)), \(s.hardware) · "
        + "hit rate " + hitRateText(s.hitRate, decodeHitRate: s.decodeHitRate, decodeAccesses: s.decodeAccesses)
        + " · \(ByteSize.format(s.bytesTransferred)) moved · "
        + String(format: "stall %.2f ms · ", s.stallUs / 1000)
        + (s.decodeTokens > 0 ? String(format: "est. %.2f tokens/s (simulated)", s.tokensPerSecondEst) : "no decode step to time (simulated)")
}

/// "0.874 (decode 0.912)", a hit rate over every forward call and over the decode steps only. A run without
/// decode steps (prefills only: lesson 10's scored windows each start a sequence, `generate --max-tokens 1`)
/// has no decode hit rate — its summary holds 0 for "none counted" — so it says "0.874 (no decode step)".
func hitRateText(_ hitRate: Double, decodeHitRate: Double, decodeAccesses: Int) -> String {
    String(format: "%.3f ", hitRate) + (decodeAccesses > 0 ? String(format: "(decode %.3f)", decodeHitRate) : "(no decode step)")
}

/// "3 of 8 experts per layer", or with a budget's remainder "3 of 8 experts per layer (4 in layers 0–4)".
func slotsText(_ fewest: Int, extraSlotLayers: [Int], numExperts: Int) -> String {
    "\(fewest) of \(numExperts) experts per layer"
        + (extraSlotLayers.isEmpty ? "" : " (\(fewest + 1) in \(extraSlotLayers.count == 1 ? "layer" : "layers") \(LayerSlots.ranges(extraSlotLayers)))")
}

/// Each streaming provider's totals, closing its open layer steps (`DiskExpertProvider.finish()`);
/// call once, after the last forward pass.
func finishStreaming(_ streamers: [(PrecisionSpec, DiskExpertProvider)]) -> [(precision: PrecisionSpec, summary: DiskOffloadingSummary)] {
    streamers.map { ($0.0, $0.1.finish()) }
}

/// One line per precision that streamed its experts, "q4: real offloading: …" (`diskSummaryLine`).
func diskSummaryLines(_ summaries: [(precision: PrecisionSpec, summary: DiskOffloadingSummary)], numExperts: Int) -> [String] {
    summaries.map { "\($0.precision): " + diskSummaryLine($0.summary, numExperts: numExperts, decodeTokensPerSecond: nil) }
}

/// One line of a real offloading run's totals (decode tokens/s when measured; nil without decode steps).
func diskSummaryLine(_ s: DiskOffloadingSummary, numExperts: Int, decodeTokensPerSecond: Double?) -> String {
    "real offloading: \(s.policy), \(slotsText(s.slotsPerLayer, extraSlotLayers: s.extraSlotLayers, numExperts: numExperts)) in RAM · "
        + "hit rate " + hitRateText(s.hitRate, decodeHitRate: s.decodeHitRate, decodeAccesses: s.decodeAccesses)
        + " · read \(ByteSize.format(s.bytesRead)) in " + String(format: "%.2f s (%.0f MiB/s)", s.readSeconds, s.readBytesPerSecond / 1_048_576)
        + String(format: " · stall %.2f s (%.2f s queued behind other reads, %.2f s waking after the read)", s.stallSeconds, s.stallQueuedSeconds, s.stallWakeSeconds)
        + " · prefill read \(ByteSize.format(s.prefillBytesRead)) in " + String(format: "%.2f s, waited %.2f s for it", s.prefillReadSeconds, s.prefillStallSeconds)
        + (s.decodeAccesses > 0
            ? " · decode read \(ByteSize.format(s.decodeBytesRead)) in " + String(format: "%.2f s, waited %.2f s for it", s.decodeReadSeconds, s.decodeStallSeconds)
            : "")
        + " · \(counted(s.misses, "demand read")), \(counted(s.prefetched - s.prefetchesNotRead, "prefetch read")) (\(s.prefetchHits) used, \(s.prefillPrefetched) in the prefill)"
        + " · \(s.bytesRead) B read, \(s.prefillBytesRead) B of them in the prefill"
        + (decodeTokensPerSecond.map { String(format: " · decode %.2f tokens/s", $0) } ?? "")
        + (peakResidentBytes().map { " · peak RSS \(ByteSize.format($0))" } ?? "")
}

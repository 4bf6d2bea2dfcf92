import ArgumentParser
import Foundation
import Offloading

/// `--policy`, `--cache-experts`, `--cache-bytes`, `--prefetch`, `--lookahead`, `--hardware`: the expert
/// offloading simulation's settings, shared by every command that simulates offloading.
struct OffloadingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Expert cache policy: \(PolicySpec.names.joined(separator: "|")) (default: lru).", valueName: "policy"))
    var policy: String?
    @Option(help: "Fast-tier expert slots per MoE layer (default: half the experts).")
    var cacheExperts: Int?
    @Option(help: ArgumentHelp("Fast-tier budget for experts over all layers, e.g. 512MiB, 2GiB, 1.5GB; slots per layer = budget / (layers × expert size).", valueName: "size"))
    var cacheBytes: String?
    @Option(help: "lru+prefetch: experts guessed and prefetched per layer.")
    var prefetch: Int = 2
    @Option(help: "lru+prefetch: layers ahead to guess for.")
    var lookahead: Int = 1
    @Option(help: ArgumentHelp("Hardware profile: \(HardwareProfile.builtInNames.joined(separator: "|")), or a JSON file.", valueName: "name|file"))
    var hardware: String = "colab-t4"

    func validate() throws {
        if cacheExperts != nil && cacheBytes != nil { throw ValidationError("give --cache-experts or --cache-bytes, not both") }
        if let cacheExperts, cacheExperts < 0 { throw ValidationError("--cache-experts must be ≥ 0") }
        guard prefetch >= 1 else { throw ValidationError("--prefetch must be at least 1") }
        guard lookahead >= 1 else { throw ValidationError("--lookahead must be at least 1") }
        // Names and profile files are checked before any model is loaded.
        _ = try policySpec()
        _ = try hardwareProfile()
    }

    var prefetchSettings: PrefetchSettings { PrefetchSettings(experts: prefetch, lookahead: lookahead) }

    func policySpec() throws -> PolicySpec {
        try offloadingInput { try PolicySpec(name: policy ?? "lru", prefetch: prefetchSettings) }
    }

    /// Whether the user asked for a simulation (`--policy`, `--cache-experts` or `--cache-bytes` given);
    /// commands that run without one (`generate`) simulate only then.
    var requested: Bool { policy != nil || cacheExperts != nil || cacheBytes != nil }

    func hardwareProfile() throws -> HardwareProfile {
        try offloadingInput { try HardwareProfile.named(hardware) }
    }

    /// Slots per layer from `--cache-experts`, `--cache-bytes`, or half the experts.
    func slots(footprint: ModelFootprint) throws -> Int {
        if let cacheExperts { return min(cacheExperts, footprint.numExperts) }
        guard let cacheBytes else { return footprint.numExperts / 2 }
        let budget = try offloadingInput { try ByteSize.parse(cacheBytes, flag: "--cache-bytes") }
        return min(footprint.numExperts, budget / max(1, footprint.numLayers * footprint.largestExpertBytes))
    }
}

import ArgumentParser
import Foundation
import Checkpoints
import Offloading

/// `--policy`, `--cache-experts`, `--cache-bytes`, `--prefetch`, `--lookahead`, `--hardware`: the expert
/// offloading simulation's settings, shared by every command that simulates offloading.
struct OffloadingOptions: ParsableArguments {
    /// `lru+prefetch` here carries the default settings; `policySpec()` applies `--prefetch` and `--lookahead`.
    @Option(help: ArgumentHelp("Expert cache policy: \(PolicySpec.names.joined(separator: "|")) (default: lru).", valueName: "policy"),
            transform: { try PolicySpec(name: $0) })
    var policy: PolicySpec?
    @Option(parsing: .unconditional, help: "Fast-tier expert slots per MoE layer (default: half the experts).")
    var cacheExperts: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Fast-tier budget for experts over all layers, e.g. 512MiB, 2GiB, 1.5GB; slots per layer = budget / (layers × expert size).", valueName: "size"),
            transform: SizeArgument.parser(flag: "--cache-bytes"))
    var cacheBytes: SizeArgument?
    // The next three are optional so that `lesson run` can tell a given flag from a default.
    @Option(name: .customLong("prefetch"), parsing: .unconditional, help: "lru+prefetch: experts guessed and prefetched per layer (default: 2).")
    var prefetchFlag: Int?
    @Option(name: .customLong("lookahead"), parsing: .unconditional, help: "lru+prefetch: layers ahead to guess for (default: 1).")
    var lookaheadFlag: Int?
    @Option(name: .customLong("hardware"), help: ArgumentHelp(
        "Hardware profile: \(HardwareProfile.builtInNames.joined(separator: "|")), or a JSON file (default: colab-t4).", valueName: "name|file"))
    var hardwareFlag: String?

    /// `--prefetch`, default 2.
    var prefetch: Int { prefetchFlag ?? 2 }
    /// `--lookahead`, default 1.
    var lookahead: Int { lookaheadFlag ?? 1 }
    /// `--hardware`, default colab-t4.
    var hardware: String { hardwareFlag ?? "colab-t4" }

    func validate() throws {
        if cacheExperts != nil && cacheBytes != nil { throw ValidationError("give --cache-experts or --cache-bytes, not both") }
        if let cacheExperts, cacheExperts < 0 { throw ValidationError("--cache-experts must be ≥ 0") }
        guard prefetch >= 1 else { throw ValidationError("--prefetch must be at least 1") }
        guard lookahead >= 1 else { throw ValidationError("--lookahead must be at least 1") }
        // A profile file is read before any model is loaded.
        _ = try hardwareProfile()
    }

    /// Refuses `--prefetch` or `--lookahead` when the policy run is not `lru+prefetch`, the only policy
    /// that guesses and prefetches (with `lru`, the default, they would be ignored without a word).
    /// Commands call it when the policy alone decides the run: not `trace --sweep` (every policy, and
    /// lru+prefetch with these settings) nor `lesson run` (its experiments take the flags, checked there).
    /// - Throws: `ValidationError` naming both flags.
    func checkPrefetchFlagsApply() throws {
        let given = [prefetchFlag.map { "--prefetch \($0)" }, lookaheadFlag.map { "--lookahead \($0)" }].compactMap { $0 }
        guard !given.isEmpty else { return }
        let spec = policySpec
        if case .lruPrefetch = spec { return }
        let policyText = policy == nil ? "the default policy is \(spec)" : "--policy is \(spec)"
        throw ValidationError("\(given.joined(separator: " and ")) \(given.count == 1 ? "applies" : "apply") only to --policy lru+prefetch, but \(policyText); give --policy lru+prefetch or leave \(given.count == 1 ? "it" : "them") out")
    }

    var prefetchSettings: PrefetchSettings { PrefetchSettings(experts: prefetch, lookahead: lookahead) }

    /// `--policy` (default lru), with `--prefetch` and `--lookahead` for lru+prefetch.
    var policySpec: PolicySpec {
        if case .lruPrefetch = policy { return .lruPrefetch(prefetchSettings) }
        return policy ?? .lru
    }

    /// Whether the user asked for a simulation (`--policy`, `--cache-experts`, `--cache-bytes` or
    /// `--hardware` given); commands that run without one (`generate`, `compare`) simulate only then.
    /// (`--prefetch` and `--lookahead` need `--policy lru+prefetch`: `checkPrefetchFlagsApply`.)
    var requested: Bool { policy != nil || cacheExperts != nil || cacheBytes != nil || hardwareFlag != nil }

    func hardwareProfile() throws -> HardwareProfile {
        try validating { try HardwareProfile.named(hardware) }
    }

    /// The cache size `--cache-experts` or `--cache-bytes` gives (half the experts when neither is given).
    var cacheSize: CacheSize {
        if let cacheExperts { return .experts(cacheExperts) }
        return cacheBytes.map { .bytes($0.bytes) } ?? .halfTheExperts
    }

    /// Slots per layer from `--cache-experts`, `--cache-bytes`, or half the experts.
    /// - Throws: `ValidationError` for more slots than the model has experts per layer.
    func slots(footprint: ModelFootprint) throws -> Int {
        try cacheSize.slots(for: footprint)
    }

    /// Checks `--cache-experts`, `--prefetch` and `--lookahead` against the model before any model is loaded.
    /// A layer's prefetch guesses reach at most the last layer (`RoutingRecorder`), so a lookahead beyond
    /// `numLayers - 1` would guess for no layer.
    /// - Throws: `ValidationError` for more slots or prefetched experts than the model has experts per
    ///   layer, or a lookahead past the last layer.
    func check(_ config: MixtralConfig) throws {
        let numExperts = config.numExperts, numLayers = config.numHiddenLayers
        if let cacheExperts, cacheExperts > numExperts {
            throw ValidationError("--cache-experts \(cacheExperts): the model has \(numExperts) experts per layer; give 0…\(numExperts)")
        }
        if let prefetchFlag, prefetchFlag > numExperts {
            throw ValidationError("--prefetch \(prefetchFlag): the model has \(numExperts) experts per layer; give 1…\(numExperts)")
        }
        if let lookaheadFlag, lookaheadFlag > numLayers - 1 {
            throw ValidationError("--lookahead \(lookaheadFlag): the model has \(counted(numLayers, "layer")), so a layer has at most \(counted(numLayers - 1, "layer")) after it; give 1…\(numLayers - 1)")
        }
    }

    /// Policy, cache size and hardware together, for commands that replay recorded routing.
    func setup() throws -> OffloadingSetup {
        OffloadingSetup(policy: policySpec, cache: cacheSize, hardware: try hardwareProfile())
    }
}

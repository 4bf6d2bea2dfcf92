/// The first record of a trace: what was run, on what, with which settings.
///
/// JSON keys are snake_case (`cache_experts`, `tool_version`, …); see `docs/trace-format.md`.
public struct TraceHeader: Codable, Sendable, Equatable {
    /// Version of the trace layout; bumped when a field changes meaning or is removed.
    public static let formatVersion = 1

    public var formatVersion: Int
    /// Checkpoint directory name (or path) the run used.
    public var model: String
    /// The `--precision` spec, e.g. `"q4"` or `"attn=int8,experts=nf4,…"`.
    public var precision: String
    /// Cache policy name, e.g. `"lru"`, `"lru+prefetch"`.
    public var policy: String
    /// Fast-tier expert slots per MoE layer.
    public var cacheExperts: Int
    /// Fast-tier bytes those slots occupy over all layers.
    public var cacheBytes: Int
    /// Hardware profile name.
    public var hardware: String
    public var prompt: String
    public var promptTokens: [Int]
    /// Sampling seed (greedy runs ignore it).
    public var seed: UInt64
    public var toolVersion: String
    public var numLayers: Int
    public var numExperts: Int
    /// Experts per token (`num_experts_per_tok`).
    public var topK: Int
    /// The simulated clock's assumptions in plain words, one per line.
    public var assumptions: [String]

    public init(model: String, precision: String, policy: String, cacheExperts: Int, cacheBytes: Int,
                hardware: String, prompt: String, promptTokens: [Int], seed: UInt64, toolVersion: String,
                numLayers: Int, numExperts: Int, topK: Int, assumptions: [String]) {
        self.formatVersion = Self.formatVersion
        self.model = model
        self.precision = precision
        self.policy = policy
        self.cacheExperts = cacheExperts
        self.cacheBytes = cacheBytes
        self.hardware = hardware
        self.prompt = prompt
        self.promptTokens = promptTokens
        self.seed = seed
        self.toolVersion = toolVersion
        self.numLayers = numLayers
        self.numExperts = numExperts
        self.topK = topK
        self.assumptions = assumptions
    }
}

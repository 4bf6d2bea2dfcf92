import Foundation
import FileChecks
import Quantization

/// The machine the offloading simulation pretends to run on: a fast tier that computes (GPU memory, or RAM
/// for a CPU laptop), a slow tier that holds the offloaded experts (host RAM, or an SSD), and the link
/// between them.
///
/// JSON form (for `--hardware FILE.json`; every field is described in the README's "Hardware profiles"),
/// all fields required except the tier labels, the host CPU's (`host_compute_flops`, `host_memory_bandwidth`, for
/// `cpu-compute`) and the measured ones `mixtral-lab hardware probe` adds:
/// ```json
/// {"name": "my-gpu", "fast_memory_bytes": 8589934592, "slow_memory_bytes": 34359738368,
///  "compute_flops": 2.0e13, "memory_bandwidth": 3.0e11, "link_bandwidth": 1.2e10,
///  "link_latency_us": 10, "fast_tier": "GPU memory", "slow_tier": "host RAM"}
/// ```
public struct HardwareProfile: Codable, Sendable, Equatable {
    public var name: String
    /// Capacity of the fast tier, bytes.
    public var fastMemoryBytes: Int
    /// Capacity of the slow tier, bytes.
    public var slowMemoryBytes: Int
    /// Peak compute of the fast tier, FLOP/s (a multiply-add counts 2).
    public var computeFlops: Double
    /// Fast-tier memory bandwidth, bytes/s (reading weights for compute).
    public var memoryBandwidth: Double
    /// Slow → fast link bandwidth, bytes/s (effective, not the bus's nominal rate).
    public var linkBandwidth: Double
    /// Fixed cost of starting one transfer, µs.
    public var linkLatencyUs: Double
    /// What the tiers are, for printing ("GPU memory", "host RAM", "NVMe SSD").
    public var fastTier: String?
    public var slowTier: String?
    /// Measured by `hardware probe`: weights per second the engine's decode kernels (matrix–vector, one
    /// token) process at each precision (`Precision` raw names: "fp32", "q4" …), at `threads` threads.
    /// When the model's precision has an entry, the cost model uses it instead of the roofline.
    public var decodeWeightsPerSecond: [String: Double]?
    /// Compute threads the engine used when `decodeWeightsPerSecond` was measured.
    public var threads: Int?
    /// How, where and when the profile was measured (a probe's note; nil for a hand-written profile).
    public var measured: String?
    /// The host CPU behind a GPU, for the `cpu-compute` policy (experts computed where they live, in host
    /// RAM): its peak FLOP/s and its memory bandwidth, bytes/s. nil for a profile without one (a CPU-only
    /// machine already computes in its fast tier).
    public var hostComputeFlops: Double?
    public var hostMemoryBandwidth: Double?

    /// The fast tier's name for prose, "fast memory" when the profile gives none.
    public var fastTierName: String { fastTier ?? "fast memory" }
    /// The slow tier's name for prose, "slow memory" when the profile gives none.
    public var slowTierName: String { slowTier ?? "slow memory" }

    public init(name: String, fastMemoryBytes: Int, slowMemoryBytes: Int, computeFlops: Double,
                memoryBandwidth: Double, linkBandwidth: Double, linkLatencyUs: Double,
                fastTier: String? = nil, slowTier: String? = nil, decodeWeightsPerSecond: [String: Double]? = nil,
                threads: Int? = nil, measured: String? = nil, hostComputeFlops: Double? = nil,
                hostMemoryBandwidth: Double? = nil) {
        self.name = name
        self.fastMemoryBytes = fastMemoryBytes
        self.slowMemoryBytes = slowMemoryBytes
        self.computeFlops = computeFlops
        self.memoryBandwidth = memoryBandwidth
        self.linkBandwidth = linkBandwidth
        self.linkLatencyUs = linkLatencyUs
        self.fastTier = fastTier
        self.slowTier = slowTier
        self.decodeWeightsPerSecond = decodeWeightsPerSecond
        self.threads = threads
        self.measured = measured
        self.hostComputeFlops = hostComputeFlops
        self.hostMemoryBandwidth = hostMemoryBandwidth
    }

    enum CodingKeys: String, CodingKey {
        case name
        case fastMemoryBytes = "fast_memory_bytes"
        case slowMemoryBytes = "slow_memory_bytes"
        case computeFlops = "compute_flops"
        case memoryBandwidth = "memory_bandwidth"
        case linkBandwidth = "link_bandwidth"
        case linkLatencyUs = "link_latency_us"
        case fastTier = "fast_tier"
        case slowTier = "slow_tier"
        case decodeWeightsPerSecond = "decode_weights_per_second"
        case threads
        case measured
        case hostComputeFlops = "host_compute_flops"
        case hostMemoryBandwidth = "host_memory_bandwidth"
    }

    /// Names of the built-in profiles.
    public static var builtInNames: [String] { builtIn.map(\.name) }

    /// A built-in profile by name, or a JSON file at that path.
    /// - Throws: `OffloadingError.unknownHardware` (neither), `.malformedHardwareFile` naming the file and field.
    public static func named(_ nameOrPath: String) throws -> HardwareProfile {
        if let profile = builtIn.first(where: { $0.name == nameOrPath }) { return profile }
        // a symbolic link to nothing or in a loop is there: reading it says what it is
        guard FileKind(path: nameOrPath) != .missing else {
            throw OffloadingError.unknownHardware(nameOrPath, known: builtInNames)
        }
        return try HardwareProfile(contentsOf: URL(fileURLWithPath: nameOrPath))
    }

    /// The largest rate a profile may give (bytes/s, FLOP/s, weights/s): 10^18, a thousand times the
    /// fastest accelerators' memory bandwidth and FLOP/s; anything above is a unit mistake.
    static let largestRate = 1e18
    /// The smallest rate a profile may give: 1000 (bytes/s, FLOP/s, weights/s), below any disk, link or
    /// processor a model runs on; anything below is a unit mistake (GB/s written as a count of GB). It
    /// also keeps every simulated time finite: a time is bytes (or FLOP) ÷ rate, and the largest models'
    /// 10^12 bytes at 1000 B/s are 10^9 s, where a rate of 1e-300 made them infinite.
    static let smallestRate = 1e3
    /// The largest link latency a profile may give, µs: 10 s per read.
    static let largestLatencyUs = 1e7

    /// Reads a profile from JSON and checks every number is positive (the memory sizes may be 0), rates
    /// from `smallestRate` to `largestRate` and the latency at most `largestLatencyUs`.
    /// - Throws: `OffloadingError.malformedHardwareFile` naming the file and the field.
    public init(contentsOf url: URL) throws {
        let path = url.path
        if let problem = inputFileProblem(path) {
            throw OffloadingError.malformedHardwareFile(path: path, field: nil, reason: "cannot read: \(problem)")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw OffloadingError.malformedHardwareFile(path: path, field: nil, reason: "cannot read: \(error.localizedDescription)")
        }
        do {
            self = try JSONDecoder().decode(HardwareProfile.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw OffloadingError.malformedHardwareFile(path: path, field: key.stringValue, reason: "missing")
        } catch DecodingError.typeMismatch(let type, let context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw OffloadingError.malformedHardwareFile(path: path, field: field.isEmpty ? nil : field,
                                                        reason: field.isEmpty ? "expected one JSON object ({\"name\": …, …}) holding the profile"
                                                                              : "expected \(jsonWords(type))")
        } catch DecodingError.valueNotFound(let type, let context) {
            throw OffloadingError.malformedHardwareFile(path: path, field: context.codingPath.map(\.stringValue).joined(separator: "."),
                                                        reason: "expected \(jsonWords(type)), found null")
        } catch {
            throw OffloadingError.malformedHardwareFile(path: path, field: nil, reason: "not valid JSON")
        }
        let positive: [(CodingKeys, Double)] = [(.computeFlops, computeFlops), (.memoryBandwidth, memoryBandwidth),
                                                (.linkBandwidth, linkBandwidth)]
        for (key, value) in positive where !(value > 0 && value.isFinite) {
            throw OffloadingError.malformedHardwareFile(path: path, field: key.rawValue, reason: "must be a positive number, got \(value)")
        }
        let nonNegative: [(CodingKeys, Double)] = [(.linkLatencyUs, linkLatencyUs), (.fastMemoryBytes, Double(fastMemoryBytes)),
                                                   (.slowMemoryBytes, Double(slowMemoryBytes))]
        for (key, value) in nonNegative where !(value >= 0 && value.isFinite) {
            throw OffloadingError.malformedHardwareFile(path: path, field: key.rawValue, reason: "must be ≥ 0, got \(value)")
        }
        // Plausible at all: a rate beyond any machine (or a latency of hours) is a unit mistake, and would
        // print as hundreds of digits in every estimate.
        for (key, value) in positive + [(.hostComputeFlops, hostComputeFlops ?? 0), (.hostMemoryBandwidth, hostMemoryBandwidth ?? 0)]
        where value > Self.largestRate {
            throw OffloadingError.malformedHardwareFile(path: path, field: key.rawValue,
                                                        reason: "\(value) is beyond any machine (at most \(Self.largestRate)); rates are in bytes or FLOP per second")
        }
        for (key, value) in positive + [(.hostComputeFlops, hostComputeFlops ?? .infinity), (.hostMemoryBandwidth, hostMemoryBandwidth ?? .infinity)]
        where value > 0 && value < Self.smallestRate {
            throw OffloadingError.malformedHardwareFile(path: path, field: key.rawValue,
                                                        reason: "\(value) is below any machine (at least \(Self.smallestRate)); rates are in bytes or FLOP per second")
        }
        if linkLatencyUs > Self.largestLatencyUs {
            throw OffloadingError.malformedHardwareFile(path: path, field: CodingKeys.linkLatencyUs.rawValue,
                                                        reason: "\(linkLatencyUs) µs is more than \(Int(Self.largestLatencyUs / 1e6)) s per read; the latency is in microseconds")
        }
        for (name, rate) in (decodeWeightsPerSecond ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard Precision(rawValue: name) != nil else {
                throw OffloadingError.malformedHardwareFile(path: path, field: "\(CodingKeys.decodeWeightsPerSecond.rawValue).\(name)",
                    reason: "not a precision; known: \(Precision.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard rate >= Self.smallestRate && rate <= Self.largestRate else {
                throw OffloadingError.malformedHardwareFile(path: path, field: "\(CodingKeys.decodeWeightsPerSecond.rawValue).\(name)",
                                                            reason: "must be a number of weights per second from \(Self.smallestRate) to \(Self.largestRate), got \(rate)")
            }
        }
        for (key, value) in [(CodingKeys.hostComputeFlops, hostComputeFlops), (.hostMemoryBandwidth, hostMemoryBandwidth)] {
            if let value, !(value > 0 && value.isFinite) {
                throw OffloadingError.malformedHardwareFile(path: path, field: key.rawValue, reason: "must be a positive number, got \(value)")
            }
        }
        if let threads, threads < 1 {
            throw OffloadingError.malformedHardwareFile(path: path, field: CodingKeys.threads.rawValue, reason: "must be ≥ 1, got \(threads)")
        }
    }

    /// `computeFlops` in TFLOP/s, or GFLOP/s below one TFLOP/s (a CPU's probe).
    private var computeRate: String {
        computeFlops >= 1e12 ? String(format: "%.1f TFLOP/s", computeFlops / 1e12)
                             : String(format: "%.0f GFLOP/s", computeFlops / 1e9)
    }

    /// One line per number, for printing with every summary.
    public var assumptions: [String] {
        let fast = fastTier ?? "fast tier", slow = slowTier ?? "slow tier"
        var lines = [
            "hardware \(name): \(fast) \(ByteSize.format(fastMemoryBytes)), \(slow) \(ByteSize.format(slowMemoryBytes))"
                + (measured.map { " (\($0))" } ?? ""),
            "compute \(computeRate) peak, " + String(format: "\(fast) bandwidth %.0f GB/s", memoryBandwidth / 1e9),
            String(format: "link \(slow) → \(fast): %.2f GB/s effective, %.0f µs per read", linkBandwidth / 1e9, linkLatencyUs),
        ]
        if let hostComputeFlops, let hostMemoryBandwidth {
            lines.append(String(format: "host CPU (cpu-compute): %.0f GFLOP/s peak, \(slow) bandwidth %.1f GB/s", hostComputeFlops / 1e9,
                                hostMemoryBandwidth / 1e9))
        }
        if let rates = decodeWeightsPerSecond, !rates.isEmpty {
            lines.append("measured decode kernels" + (threads.map { " at \(counted($0, "thread"))" } ?? "") + ": "
                         + rates.sorted { $0.key < $1.key }.map { String(format: "\($0.key) %.2f G weights/s", $0.value / 1e9) }.joined(separator: ", "))
        }
        return lines
    }
}

/// What a JSON value of Swift type `type` is, in the words of the README's profile table: "a number",
/// "text (a JSON string)", "an object" …, for messages about a profile file.
private func jsonWords(_ type: Any.Type) -> String {
    switch type {
    case is Double.Type, is Float.Type: return "a number"
    case is Int.Type: return "a whole number"
    case is String.Type: return "text (a JSON string)"
    case is Bool.Type: return "true or false"
    case is [String: Double].Type, is [String: Any].Type: return "a JSON object"
    case is [Any].Type: return "a JSON array"
    default: return String(describing: type).hasPrefix("Dictionary") ? "a JSON object" : "another kind of JSON value"
    }
}

import Foundation
import Reports
import UserInput

/// One experiment of the fixed catalogue a lesson's lab blocks can name: it reads the lab block's parameters,
/// runs the engine, the quantizers, the offloading simulator or a `Reports` measurement, and returns a typed
/// result (numbers, text, Markdown tables, charts) whose coding keys the lesson's placeholders name.
public protocol Experiment: SendableMetatype {
    /// What it measured. Its coding keys are the placeholders lesson prose may name (`{{ name.key.subkey }}`),
    /// its `ChartFile` fields the charts it wrote (keys `chart_…`). `Decodable` only so that `lesson check`
    /// can read the keys from the type (`ResultKeys`).
    associatedtype Result: Codable

    /// The name used in a lab block (`experiment: quant-error`).
    static var name: String { get }
    /// One line on what it measures.
    static var summary: String { get }
    static var parameters: [ParameterSpec] { get }

    /// The keys of the result's dictionaries, which depend on the parameters: dot-separated path of the
    /// dictionary → its keys (e.g. `["precisions": ["int8", "q4"]]`). None by default.
    /// - Throws: `ExperimentParameterError` for a parameter it cannot read.
    static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]]

    /// Parameters that `lesson run`'s command-line flags may replace (`ParameterOverrides`); all by default.
    static var overridableParameters: [String] { get }

    /// What it does with the lab's model: whether it reads the checkpoint at all (so `lesson run --model`
    /// matters to it), whether it loads it (`LabContext.model(_:)`, so `--ram-budget`/`--mmap-experts`
    /// matter) and whether at the run's `--precision`. No default:
    /// each experiment says, so a model flag never silently does nothing.
    static var modelUse: ModelUse { get }

    init(_ parameters: ExperimentParameters) throws
    func run(in lab: LabContext) throws -> Result
}

extension Experiment {
    public static var overridableParameters: [String] { parameters.map(\.name) }
    public static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]] { [:] }

    /// The placeholders a lab block with `parameters` can fill.
    static func resultKeys(_ parameters: ExperimentParameters) throws -> ResultKeys {
        try ResultKeys(of: Result.self, variableKeys: variableKeys(parameters))
    }

    /// Runs it and returns the result as the values lesson prose reads.
    func values(in lab: LabContext) throws -> ResultValues {
        try ResultValues(run(in: lab))
    }
}

/// A parameter an experiment accepts.
public struct ParameterSpec: Sendable {
    public enum Kind: String, Sendable { case int = "an integer", number = "a number", text = "text", list = "a list" }
    public let name: String
    public let kind: Kind
    public let help: String
    /// Default when the lab block omits it; nil = required.
    public let defaultValue: ParameterValue?

    public init(_ name: String, _ kind: Kind, _ help: String, default defaultValue: ParameterValue? = nil) {
        self.name = name
        self.kind = kind
        self.help = help
        self.defaultValue = defaultValue
    }
}

/// A parameter's default value, written as a literal in the spec (`default: 64`, `"lru"`, `[4, 3]`). A lab
/// block's own values arrive from YAML untyped and are checked against the spec's `Kind` like these.
public enum ParameterValue: Sendable, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
                            ExpressibleByArrayLiteral {
    case int(Int)
    case number(Double)
    case text(String)
    case list([ParameterValue])

    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(arrayLiteral elements: ParameterValue...) { self = .list(elements) }

    /// The value as YAML would give it (`Int`, `Double`, `String`, `[Any]`).
    var untyped: Any {
        switch self {
        case .int(let value): return value
        case .number(let value): return value
        case .text(let value): return value
        case .list(let values): return values.map(\.untyped)
        }
    }
}

/// A wrong parameter in a lab block.
public enum ExperimentParameterError: UserInputError {
    case unknown(String, allowed: [String])
    case missing(String)
    case wrongType(String, expected: ParameterSpec.Kind)
    case invalid(String, reason: String)

    public var description: String {
        switch self {
        case .unknown(let name, let allowed): return "unknown parameter \"\(name)\" (allowed: \(allowed.joined(separator: ", ")))"
        case .missing(let name): return "missing parameter \"\(name)\""
        case .wrongType(let name, let kind): return "parameter \"\(name)\" must be \(kind.rawValue)"
        case .invalid(let name, let reason): return "parameter \"\(name)\": \(reason)"
        }
    }

    /// The parameter a wrong type or value was given for (nil for an unknown or missing one), and what is
    /// wrong with it — for naming the command-line flag that set it instead (`LessonRunner`).
    var wrongValue: (parameter: String, problem: String)? {
        switch self {
        case .wrongType(let name, let kind): return (name, "must be \(kind.rawValue)")
        case .invalid(let name, let reason): return (name, reason)
        case .unknown, .missing: return nil
        }
    }
}

/// A lab block's parameters checked against the experiment's specs, with typed access.
public struct ExperimentParameters {
    private let values: [String: Any]

    /// - Throws: `ExperimentParameterError` for unknown, missing or mistyped parameters.
    public init(_ raw: [String: Any], specs: [ParameterSpec]) throws {
        let names = specs.map(\.name)
        if let unknown = raw.keys.sorted().first(where: { !names.contains($0) }) {
            throw ExperimentParameterError.unknown(unknown, allowed: names)
        }
        var values: [String: Any] = [:]
        for spec in specs {
            guard let value = raw[spec.name] ?? spec.defaultValue?.untyped else { throw ExperimentParameterError.missing(spec.name) }
            switch spec.kind {
            case .int: guard value is Int else { throw ExperimentParameterError.wrongType(spec.name, expected: .int) }
            case .number: guard value is Double || value is Int else { throw ExperimentParameterError.wrongType(spec.name, expected: .number) }
            case .text: guard value is String else { throw ExperimentParameterError.wrongType(spec.name, expected: .text) }
            case .list: guard value is [Any] else { throw ExperimentParameterError.wrongType(spec.name, expected: .list) }
            }
            values[spec.name] = value
        }
        self.values = values
    }

    public func int(_ name: String) -> Int { values[name] as! Int }
    public func number(_ name: String) -> Double { (values[name] as? Double) ?? Double(values[name] as! Int) }
    public func text(_ name: String) -> String { values[name] as! String }
    /// A list parameter as strings (`[fp32, q4]` or `[1, 2]`).
    public func list(_ name: String) -> [String] { (values[name] as! [Any]).map { "\($0)" } }
}

/// Names as prose: "a", "a and b", "a, b and c".
func spokenList(_ names: [String]) -> String {
    names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
}

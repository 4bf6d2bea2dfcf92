import Quantization
import Offloading

/// Typed parameter values that several experiments take, each failing with an error that names the parameter.
extension ExperimentParameters {
    /// A precision name (`fp32`, `int8`, `q4`, `nf4`, …).
    func precision(_ name: String) throws -> Precision {
        try precision(text(name), parameter: name)
    }

    /// A list of precision names.
    func precisions(_ name: String) throws -> [Precision] {
        try list(name).map { try precision($0, parameter: name) }
    }

    /// A precision spec, uniform or per class (`attn=int8,experts=q4`).
    func precisionSpec(_ name: String) throws -> PrecisionSpec {
        try precisionSpec(text(name), parameter: name)
    }

    /// A list of precision specs.
    func precisionSpecs(_ name: String) throws -> [PrecisionSpec] {
        try list(name).map { try precisionSpec($0, parameter: name) }
    }

    /// A built-in hardware profile name or a JSON file.
    func hardware(_ name: String) throws -> HardwareProfile {
        do { return try HardwareProfile.named(text(name)) } catch {
            throw ExperimentParameterError.invalid(name, reason: "\(error)")
        }
    }

    private func precision(_ text: String, parameter: String) throws -> Precision {
        guard let precision = Precision(rawValue: text) else {
            throw ExperimentParameterError.invalid(parameter, reason: "unknown precision \(text) (\(Precision.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return precision
    }

    private func precisionSpec(_ text: String, parameter: String) throws -> PrecisionSpec {
        do { return try PrecisionSpec(parsing: text) } catch {
            throw ExperimentParameterError.invalid(parameter, reason: "\(error)")
        }
    }
}

import ArgumentParser
import Quantization

/// Parses a `--precisions` list (`compare`, `bench`, `quant-error`, `chart quant-error`): precisions
/// separated by commas (`int8,q4,nf4`); a per-class spec, which has commas of its own, is set apart
/// from the other entries by `;` (`q4;attn=int8,experts=nf4`).
/// - Returns: the specs in the order given, at least one.
/// - Throws: `ValidationError` naming `flag` for an empty list, an empty entry (`int8,,q4`), an entry
///   that is not a precision spec, or an entry that repeats an earlier one (`q4,q4`: the same model
///   would be loaded and measured twice).
func parsePrecisionList(_ text: String, flag: String = "--precisions") throws -> [PrecisionSpec] {
    let entries = text.split(separator: ";", omittingEmptySubsequences: false).flatMap { group in
        group.contains("=") ? [String(group)] : group.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }.map { $0.trimmingCharacters(in: .whitespaces) }
    guard entries.contains(where: { !$0.isEmpty }) else {
        throw ValidationError("\(flag) is empty; give one or more precisions separated by commas, e.g. int8,q4,nf4")
    }
    var specs: [PrecisionSpec] = []
    for (index, entry) in entries.enumerated() {
        guard !entry.isEmpty else {
            throw ValidationError("\(flag) \"\(text)\": entry \(index + 1) is empty; separate the precisions with single commas, e.g. int8,q4")
        }
        let spec: PrecisionSpec
        do { spec = try PrecisionSpec(parsing: entry) } catch { throw ValidationError("\(flag) \(entry): \(error)") }
        if let earlier = specs.firstIndex(of: spec) {
            let same = entries[earlier] == entry ? "\(entry) is given twice" : "\(entry) repeats \(entries[earlier]) (the same precisions)"
            throw ValidationError("\(flag) \"\(text)\": \(same); give each precision once")
        }
        specs.append(spec)
    }
    return specs
}

/// Parses a `--precisions` list whose entries must be single precisions (`int8,q4,nf4`), for commands
/// that quantize one tensor at a time, where a per-class spec has no meaning.
/// - Throws: `ValidationError` naming `flag`, as `parsePrecisionList(_:flag:)`, and for a per-class spec.
func parseSinglePrecisionList(_ text: String, flag: String = "--precisions") throws -> [Precision] {
    try parsePrecisionList(text, flag: flag).map { spec in
        guard let precision = Precision(rawValue: spec.description) else {
            throw ValidationError("\(flag) \(spec): give single precisions here (\(Precision.allCases.map(\.rawValue).joined(separator: ", "))), not a per-class spec")
        }
        return precision
    }
}

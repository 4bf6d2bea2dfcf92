import UserInput

/// Why experts cannot be streamed from disk: a store that does not match the model, a truncated file, a
/// RAM budget too small, an I/O error. Messages name the file or flag and the problem.
public enum ExpertStoreError: UserInputError, Equatable {
    /// The store was written for another model or precision, or by another store format.
    case mismatch(path: String, reason: String)
    /// A file shorter than its manifest (or a read) says.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// A folder that holds files but no expert store manifest (not overwritten).
    case notAStore(path: String)
    case io(path: String, reason: String)
    /// Experts of one model stored in different formats (a partly quantized checkpoint).
    case mixedLayouts(tensor: String, reason: String)
    /// `--ram-budget` below what must stay resident plus one expert slot per layer.
    case budgetTooSmall(budget: Int, minimum: Int, breakdown: String)
    /// A policy that cannot run live (`optimal` needs the whole routing first).
    case policyNeedsRecordedRouting(policy: String)

    public var description: String {
        switch self {
        case .mismatch(let path, let reason):
            return "expert store \(path): \(reason)"
        case .truncated(let path, let expected, let actual):
            return "expert store \(path): file is truncated (\(expected) bytes expected, \(actual) found); delete it or let mixtral-lab rebuild it"
        case .notAStore(let path):
            return "--offload-store \(path): the folder holds other files and no expert store (manifest.json); give an empty or new folder"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .mixedLayouts(let tensor, let reason):
            return "tensor \(tensor): \(reason); experts streamed from disk must all have one format"
        case .budgetTooSmall(let budget, let minimum, let breakdown):
            return "--ram-budget \(ByteSize.format(budget)) is too small: at least \(ByteSize.format(minimum)) (\(minimum) B) is needed (\(breakdown))"
        case .policyNeedsRecordedRouting(let policy):
            return "--policy \(policy) needs the whole run's routing in advance and cannot decide live which expert slots to keep; use lru, lfu, static or lru+prefetch with --ram-budget"
        }
    }
}

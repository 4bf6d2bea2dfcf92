import UserInput

/// Why a trace could not be written.
public enum TraceError: UserInputError, Equatable {
    /// The file exists and overwriting was not allowed.
    case fileExists(path: String)
    /// Creating, writing or closing the file failed.
    case io(path: String, reason: String)
    /// A named pipe, device, socket or folder (or a link to one) where the file would go; never replaced.
    case notARegularFile(path: String, kind: String)

    public var description: String {
        switch self {
        case .fileExists(let path):
            return "\(path) already exists; choose another --out directory or pass --force to overwrite"
        case .notARegularFile(let path, let kind):
            return "\(path) is \(kind), not a regular file; it is never replaced, even with --force"
        case .io(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }
}

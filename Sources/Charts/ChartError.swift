import UserInput

/// Errors from rendering, encoding or writing a chart.
public enum ChartError: UserInputError, Equatable {
    /// The output file exists and `overwrite` was false.
    case fileExists(path: String)
    /// A named pipe, device, socket or folder (or a link to one) where the file would go; never replaced.
    case notARegularFile(path: String, kind: String)
    /// Width or height is outside 1…16384 pixels.
    case invalidSize(width: Int, height: Int)
    /// cairo could not create the image surface.
    case cairoFailed(status: String)
    /// libpng reported an error while encoding.
    case encodingFailed(message: String)
    /// libpng could not decode the bytes.
    case decodingFailed(message: String)
    /// The PNG bytes could not be written to `path`.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileExists(let path):
            return "\(path) already exists; pass --force to replace it"
        case .notARegularFile(let path, let kind):
            return "\(path) is \(kind), not a regular file; it is never replaced, even with --force"
        case .invalidSize(let width, let height):
            return "chart size \(width)×\(height) is invalid: width and height must be 1…16384 pixels"
        case .cairoFailed(let status):
            return "cairo could not create the chart surface: \(status)"
        case .encodingFailed(let message):
            return "libpng could not encode the chart: \(message)"
        case .decodingFailed(let message):
            return "libpng could not decode the PNG: \(message)"
        case .writeFailed(let path, let reason):
            return "could not write \(path): \(reason)"
        }
    }
}

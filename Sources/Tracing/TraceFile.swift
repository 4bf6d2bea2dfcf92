import Foundation
import FileChecks

/// An output file written through a 64 KiB buffer. Remembers the first I/O error instead of throwing, so
/// writers can be fed from non-throwing callbacks; `close()` reports it.
final class TraceFile {
    let path: String
    private let handle: FileHandle?
    private var buffer = Data()
    private(set) var error: TraceError?
    private static let flushThreshold = 1 << 16

    /// Creates (or truncates) the file at `url`.
    /// - Throws: `TraceError.fileExists` when it exists and `overwrite` is false, `.notARegularFile` for
    ///   a named pipe, device or folder there (`outputFileRefusal`), `.io` when it cannot be created;
    ///   `RunManifestError` when its folder's run manifest cannot list it (`RunManifest.created`).
    init(url: URL, overwrite: Bool) throws {
        path = url.path
        let manager = FileManager.default
        switch outputFileRefusal(path, overwrite: overwrite) {
        case nil: break
        case .exists: throw TraceError.fileExists(path: path)
        case .isAFolder: throw TraceError.notARegularFile(path: path, kind: FileKind.folder.description)
        case .notARegularFile(let kind): throw TraceError.notARegularFile(path: path, kind: kind.description)
        }
        guard manager.createFile(atPath: path, contents: nil) else {
            throw TraceError.io(path: path, reason: "cannot create the file (does the directory exist and is it writable?)")
        }
        do { handle = try FileHandle(forWritingTo: url) } catch {
            throw TraceError.io(path: path, reason: error.localizedDescription)
        }
        try RunManifest.created(url)
    }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.flushThreshold { flush() }
    }

    func write(_ data: Data) {
        buffer.append(data)
        if buffer.count >= Self.flushThreshold { flush() }
    }

    private func flush() {
        guard error == nil, !buffer.isEmpty, let handle else { buffer.removeAll(keepingCapacity: true); return }
        do { try handle.write(contentsOf: buffer) } catch {
            self.error = .io(path: path, reason: error.localizedDescription)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, closes, and throws the first error seen.
    func close() throws {
        flush()
        do { try handle?.close() } catch {
            if self.error == nil { self.error = .io(path: path, reason: error.localizedDescription) }
        }
        if let error { throw error }
    }
}

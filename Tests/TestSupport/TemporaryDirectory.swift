import Foundation
import Synchronization

/// A test's scratch folder under the system's temporary directory, named `prefix-<UUID>` (so a leftover
/// shows which test made it): created by `init`, removed with everything in it when the object goes away.
///
/// Keep one as a stored property of a test suite: Swift Testing makes a new suite instance for each test
/// (and each argument of a parameterized test), so each test has its own folder, removed when it ends.
/// Outside a suite, use `withTemporaryDirectory(_:_:)`; for a fixture built once and shared by many tests
/// (a `static let`), `TemporaryDirectory.untilExit(_:)`.
public final class TemporaryDirectory: Sendable {
    /// The folder; it exists from `init` until this object is released.
    public let url: URL

    /// Creates `prefix-<UUID>` under `FileManager.default.temporaryDirectory`.
    /// - Throws: the file system's error when the folder cannot be created.
    public init(_ prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// A fresh empty folder inside `url`, for tests that need several.
    public func newFolder() throws -> URL {
        let folder = url.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A folder that lives until the test process exits (removed by an `atexit` handler), for a fixture
    /// built once and shared by many tests.
    public static func untilExit(_ prefix: String) throws -> URL {
        let directory = try TemporaryDirectory(prefix)
        _ = registerExitCleanup
        keptUntilExit.withLock { $0.append(directory) }
        return directory.url
    }
}

/// Runs `body` with a fresh empty folder `prefix-<UUID>` under the temporary directory, removed when
/// `body` returns or throws.
public func withTemporaryDirectory<T>(_ prefix: String, _ body: (URL) throws -> T) throws -> T {
    let directory = try TemporaryDirectory(prefix)
    return try withExtendedLifetime(directory) { try body(directory.url) }
}

private let keptUntilExit = Mutex<[TemporaryDirectory]>([])
private let registerExitCleanup: Void = {
    atexit { keptUntilExit.withLock { $0.removeAll() } }
}()

import Foundation
import FileChecks
import Synchronization

/// Writes a file through `<url>.partial` in the same folder, renamed over `url` once `body` has written
/// everything, so a reader never sees half a file and a file mapped from `url` stays valid. A `.partial`
/// file left by an earlier, interrupted run is replaced (it is never a user's file). The partial file is
/// removed when `body` fails, and when SIGINT or SIGTERM interrupts the write (`PartialFiles`). The file
/// is listed in its folder's run manifest (`RunManifest.created`).
/// - Throws: `CheckpointWriteError.cannotWrite` naming the path and the system's reason; `RunManifestError`.
public func writeThroughPartialFile(_ url: URL, _ body: (FileHandle) throws -> Void) throws {
    let partial = PartialFiles.partialURL(for: url)
    try PartialFiles.removingOnInterrupt(partial) {
        guard FileManager.default.createFile(atPath: partial.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: partial.path) else {
            throw CheckpointWriteError.cannotWrite(path: partial.path, reason: String(cString: strerror(errno)))
        }
        do {
            try body(handle)
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: partial)
            throw CheckpointWriteError.cannotWrite(path: partial.path, reason: error.localizedDescription)
        }
        guard rename(partial.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: partial)
            throw CheckpointWriteError.cannotWrite(path: url.path, reason: reason)
        }
        try RunManifest.created(url)
    }
}

/// Checks, before any slow work, that a file can be written at `url` (`outputFileRefusal`): a folder there
/// is refused (it would only fail at the final rename), anything but a regular file (a named pipe, a
/// device, …) even with `overwrite`, and an existing file unless `overwrite`.
/// - Throws: `CheckpointWriteError.isAFolder`, `.notARegularFile`, `.wouldOverwrite`.
public func checkOutputFile(_ url: URL, overwrite: Bool) throws {
    switch outputFileRefusal(url.path, overwrite: overwrite) {
    case nil: return
    case .exists: throw CheckpointWriteError.wouldOverwrite(path: url.path)
    case .isAFolder: throw CheckpointWriteError.isAFolder(path: url.path)
    case .notARegularFile(let kind): throw CheckpointWriteError.notARegularFile(path: url.path, kind: kind.description)
    }
}

/// Partial files being written, removed if SIGINT (Ctrl-C) or SIGTERM arrives meanwhile; the process then
/// exits with 128 + the signal's number (130, 143), the status a shell reports for a process the signal
/// killed. The handler is installed while at least one partial file is registered and the previous
/// handlers are restored after, so outside a write the signals act as before; a signal the process
/// ignores stays ignored.
///
/// The handler only calls `unlink` and `_exit` (async-signal-safe, POSIX.1-2017 section 2.4.3) on paths
/// kept as C strings in a fixed table.
public enum PartialFiles {
    /// At most this many partial files at once (one per writer; more are not removed on interrupt).
    static let capacity = 16

    /// How many partial files are registered and the handlers of SIGINT and SIGTERM before the first
    /// registration installed its own (nil: the default action). Changed only under `registry`'s lock,
    /// as is `partialPaths`.
    private struct Registry {
        var registered = 0
        var previousHandlers: [(signal: Int32, handler: sighandler_t?)] = []
    }
    private static let registry = Mutex(Registry())

    /// `<url>.partial`.
    public static func partialURL(for url: URL) -> URL { url.appendingPathExtension("partial") }

    /// Runs `body` with `partial` registered for removal on SIGINT/SIGTERM.
    public static func removingOnInterrupt<T>(_ partial: URL, _ body: () throws -> T) rethrows -> T {
        let slot = register(partial.path)
        defer { unregister(slot) }
        return try body()
    }

    private static func register(_ path: String) -> Int? {
        registry.withLock { registry in
            guard let slot = (0..<capacity).first(where: { partialPaths[$0] == nil }) else { return nil }
            partialPaths[slot] = strdup(path)
            registry.registered += 1
            if registry.registered == 1 {
                registry.previousHandlers = [SIGINT, SIGTERM].map { signalNumber in
                    let previous = signal(signalNumber, removePartialFilesAndExit)
                    // an ignored signal (a background job's SIGINT, nohup) stays ignored
                    if let previous, unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
                        signal(signalNumber, previous)
                    }
                    return (signalNumber, previous)
                }
            }
            return slot
        }
    }

    private static func unregister(_ slot: Int?) {
        guard let slot else { return }
        registry.withLock { registry in
            registry.registered -= 1
            if registry.registered == 0 {
                for (signalNumber, handler) in registry.previousHandlers { signal(signalNumber, handler) }
            }
            let path = partialPaths[slot]
            partialPaths[slot] = nil
            free(path)
        }
    }
}

/// The registered partial files' paths (nil: free slot), allocated once before any handler is installed.
/// Unchecked (`nonisolated(unsafe)`): written only under `PartialFiles.registry`'s lock; the signal handler
/// reads it without the lock, as it must (a handler may not take a lock), and a torn read cannot happen —
/// each entry is one pointer-sized store.
nonisolated(unsafe) private let partialPaths: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
    let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: PartialFiles.capacity)
    table.initialize(repeating: nil, count: PartialFiles.capacity)
    return table
}()

private func removePartialFilesAndExit(_ signalNumber: Int32) {
    for slot in 0..<PartialFiles.capacity {
        if let path = partialPaths[slot] { unlink(path) }
    }
    _exit(128 + signalNumber)
}

import Foundation
import FileChecks
import Synchronization

/// Writes a file through a partial file in the same folder (`PartialFiles.uniquePartialURL`: this write's
/// own, so two runs writing one file at once never share it), moved to `url` once `body` has written
/// everything, so a reader never sees half a file and a file mapped from `url` stays valid. Without
/// `overwrite` the move refuses a file that appeared at `url` meanwhile (another run's; `link(2)` fails
/// with EEXIST, atomically), so of two runs writing one new file one fails instead of both reporting
/// success. The partial file is removed when `body` or the move fails, and when SIGINT or SIGTERM
/// interrupts the write (`PartialFiles`). The file is listed in its folder's run manifest
/// (`RunManifest.created`).
/// - Throws: `CheckpointWriteError.cannotWrite` naming the path and the system's reason; `.wouldOverwrite`
///   when `url` appeared during the write and `overwrite` is false; `RunManifestError`.
public func writeThroughPartialFile(_ url: URL, overwrite: Bool, _ body: (FileHandle) throws -> Void) throws {
    let partial = PartialFiles.uniquePartialURL(for: url)
    try PartialFiles.removingOnInterrupt(partial) {
        let descriptor = open(partial.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            throw CheckpointWriteError.cannotWrite(path: partial.path, reason: String(cString: strerror(errno)))
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try body(handle)
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: partial)
            throw CheckpointWriteError.cannotWrite(path: partial.path, reason: error.localizedDescription)
        }
        do {
            try moveIntoPlace(partial, url, overwrite: overwrite)
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
        try RunManifest.created(url)
    }
}

/// Moves the finished `partial` to `url`: `rename(2)` with `overwrite`, else `link(2)` (which never
/// replaces a file) and then removes `partial`; on a file system without hard links, a check for `url`
/// followed by `rename(2)`.
private func moveIntoPlace(_ partial: URL, _ url: URL, overwrite: Bool) throws {
    if !overwrite {
        if link(partial.path, url.path) == 0 {
            unlink(partial.path)
            return
        }
        let code = errno
        if code == EEXIST { throw CheckpointWriteError.wouldOverwrite(path: url.path) }
        guard code == EPERM || code == ENOTSUP || code == EOPNOTSUPP || code == EXDEV else {
            throw CheckpointWriteError.cannotWrite(path: url.path, reason: String(cString: strerror(code)))
        }
        var info = stat()
        if lstat(url.path, &info) == 0 { throw CheckpointWriteError.wouldOverwrite(path: url.path) }
    }
    guard rename(partial.path, url.path) == 0 else {
        throw CheckpointWriteError.cannotWrite(path: url.path, reason: String(cString: strerror(errno)))
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

    /// `<url>.partial`: the one partial file of a writer that holds a lock on its folder (`ExpertStore`).
    public static func partialURL(for url: URL) -> URL { url.appendingPathExtension("partial") }

    /// `<url>.<pid>-<random>.partial`: a partial file no other write of `url` uses, in this process or
    /// another (the pid tells processes apart, 64 random bits the writes of one process).
    public static func uniquePartialURL(for url: URL) -> URL {
        let tag = "\(getpid())-\(String(UInt64.random(in: .min ... .max), radix: 16))"
        return url.appendingPathExtension(tag).appendingPathExtension("partial")
    }

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

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// An exclusive `flock(2)` on an output folder itself (its directory file descriptor, so no lock file is
/// left behind), held while one run writes into it. A second run that wants the same folder is refused
/// (`.busy`) or, when it may overwrite (`--force`), waits until the first one finishes — either way two
/// runs never write into one folder at once, so a folder never ends up with one run's report beside
/// another's trace. flock locks belong to the open file description: a second lock from the same process
/// conflicts too. The lock is released by `release()` or when the process ends. Any thread may release it.
public final class OutputFolderLock: Sendable {
    /// The folder's descriptor while the lock is held, -1 after `release()`.
    private let held: Atomic<Int32>

    /// Why a folder could not be locked.
    public enum Failure: Error, Equatable {
        /// Another run holds the lock and waiting was not allowed.
        case busy
        /// The folder cannot be opened (the system's reason).
        case cannotOpen(reason: String)
    }

    /// Locks the existing folder `url`. With `wait`, blocks until another holder releases it, calling
    /// `waiting` once first; otherwise throws `.busy`.
    /// - Throws: `Failure`.
    public init(_ url: URL, wait: Bool, waiting: () -> Void = {}) throws {
        let descriptor = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure.cannotOpen(reason: String(cString: strerror(errno))) }
        held = Atomic(descriptor)
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return }
        guard errno == EWOULDBLOCK, wait else {
            release()
            throw Failure.busy
        }
        waiting()
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                release()
                throw Failure.cannotOpen(reason: reason)
            }
        }
    }

    /// Releases the lock (also done when the object goes away).
    public func release() {
        let descriptor = held.exchange(-1, ordering: .acquiringAndReleasing)
        if descriptor >= 0 { close(descriptor) }
    }

    deinit { release() }
}

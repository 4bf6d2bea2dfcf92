import Foundation

/// The lock of an expert store's folder: `flock(2)` on the folder itself (its directory file descriptor,
/// so no lock file is left behind), shared while a process checks and opens the store, exclusive while one
/// builds it. The kernel releases it when the process ends, however it ends, so a crashed build never
/// leaves the folder locked. flock locks belong to one open file description: two `StoreLock`s of one
/// folder conflict even within one process.
final class StoreLock {
    /// The lock file earlier versions kept in the folder; a store holding one is still a store.
    static let legacyFileName = "store.lock"

    private let path: String
    private let descriptor: Int32

    /// Opens (creating it if missing) the folder `directory`, unlocked.
    /// - Throws: `ExpertStoreError.io` naming the folder.
    init(_ directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ExpertStoreError.io(path: directory.path, reason: error.localizedDescription)
        }
        path = directory.path
        descriptor = Foundation.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ExpertStoreError.io(path: path, reason: String(cString: strerror(errno))) }
    }

    deinit { close(descriptor) }

    /// Takes the lock, shared or exclusive, waiting while another holder's lock conflicts. Release a held
    /// lock first: flock(2) does not convert one atomically.
    /// - Throws: `ExpertStoreError.io` naming the folder.
    func acquire(exclusive: Bool) throws {
        while flock(descriptor, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            guard errno == EINTR else { throw ExpertStoreError.io(path: path, reason: "cannot lock: \(String(cString: strerror(errno)))") }
        }
    }

    /// Takes the lock without waiting: false when another holder's lock conflicts.
    /// - Throws: `ExpertStoreError.io` naming the folder.
    func tryAcquire(exclusive: Bool) throws -> Bool {
        if flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw ExpertStoreError.io(path: path, reason: "cannot lock: \(String(cString: strerror(errno)))")
    }

    /// Releases the lock held, if any.
    func release() { flock(descriptor, LOCK_UN) }
}

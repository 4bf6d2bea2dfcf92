import Foundation

/// What `stat(2)` says of a file that an expert store depends on — its size, modification time (to the
/// nanosecond) and inode number — recorded in the store's manifest, so a checkpoint file written again
/// in place (a re-saved or fine-tuned model with the same tensor shapes, hence the same header) or
/// replaced by another file, and an experts.bin changed after its build, are noticed at start-up without
/// reading them. (Hashing the bytes would read a 26 GB checkpoint at every start.) Changes that restore
/// all three — the same size, the old modification time set back with `touch -d`/`utimes`, in the same
/// inode — are not noticed.
struct FileStamp: Codable, Equatable {
    /// The file's name (its last path component): a checkpoint moved to another folder keeps its stamps.
    var name: String
    var bytes: Int
    /// Modification time: seconds and nanoseconds since 1970 (`st_mtim`).
    var modifiedSeconds: Int
    var modifiedNanoseconds: Int
    var inode: UInt64

    /// The stamp of the file at `url` now.
    /// - Throws: `ExpertStoreError.io` when it cannot be stat'ed.
    init(_ url: URL) throws {
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            throw ExpertStoreError.io(path: url.path, reason: "cannot read its size and modification time (\(String(cString: strerror(errno))))")
        }
        name = url.lastPathComponent
        bytes = Int(info.st_size)
        modifiedSeconds = Int(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
        inode = UInt64(info.st_ino)
    }

    /// What differs between this stamp (the file now) and `recorded` (the manifest's), for a message:
    /// "size 1024 → 2048 bytes, modified 2026-12-07 14:01:02 → 2026-12-07 15:20:11 UTC".
    func differences(from recorded: FileStamp?) -> String {
        guard let recorded else { return "no stamp of it in the manifest" }
        var parts: [String] = []
        if bytes != recorded.bytes { parts.append("size \(recorded.bytes) → \(bytes) bytes") }
        if modifiedSeconds != recorded.modifiedSeconds || modifiedNanoseconds != recorded.modifiedNanoseconds {
            parts.append("modified \(Self.time(recorded)) → \(Self.time(self))")
        }
        if inode != recorded.inode { parts.append("inode \(recorded.inode) → \(inode), another file") }
        return parts.joined(separator: ", ")
    }

    /// The modification time in UTC, to the nanosecond.
    private static func time(_ stamp: FileStamp) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(stamp.modifiedSeconds)))
            + String(format: ".%09d UTC", stamp.modifiedNanoseconds)
    }
}

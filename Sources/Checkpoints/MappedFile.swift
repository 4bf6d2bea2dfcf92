import Foundation
import FileChecks
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory mapping of a whole file (`mmap(PROT_READ, MAP_PRIVATE)`), so a multi-GB checkpoint
/// costs address space, not RAM, until its pages are touched. Foundation's `.mappedIfSafe` reads the file
/// into memory on Linux, hence this type. The mapping lives as long as the object.
// @unchecked Sendable: `base` is a read-only mapping (PROT_READ) that never changes and is unmapped only in deinit.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// Size of the file in bytes.
    public let byteCount: Int
    /// Start of the mapping (nil for an empty file).
    public let base: UnsafeRawPointer?

    /// Maps `url`.
    /// - Throws: `CheckpointError.fileNotFound`, `.unreadable` (also for a folder, named pipe or device).
    public init(url: URL) throws {
        path = url.path
        // a named pipe would block open(2) until a writer comes; a device never ends
        switch FileKind(path: path) {
        case .regularFile: break
        case .missing: throw CheckpointError.fileNotFound(path: path)
        default: throw CheckpointError.unreadable(path: path, reason: inputFileProblem(path) ?? "not a regular file")
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw CheckpointError.fileNotFound(path: path) }
            throw CheckpointError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw CheckpointError.unreadable(path: path, reason: "is a directory") }
        byteCount = Int(info.st_size)
        if byteCount == 0 { base = nil; return }
        let pointer = mmap(nil, byteCount, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw CheckpointError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(pointer)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), byteCount) }
    }

    /// The bytes `[offset, offset + count)` as a raw buffer (caller has checked the range).
    public func bytes(offset: Int, count: Int) -> UnsafeRawBufferPointer {
        precondition(offset >= 0 && count >= 0 && offset + count <= byteCount, "MappedFile: range out of bounds")
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: count)
    }
}

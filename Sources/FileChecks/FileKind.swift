import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a path names, following symbolic links (`stat(2)`'s `st_mode & S_IFMT`). Inputs are read and
/// outputs replaced only when this is `.regularFile` (or `.folder` where a folder is wanted): opening a
/// named pipe blocks until a writer comes, a device never ends, and replacing either destroys it.
public enum FileKind: Equatable, CustomStringConvertible {
    case missing
    /// A symbolic link whose target does not exist.
    case brokenLink
    /// A symbolic link that leads back to itself, or through more links than the system follows (`stat(2)`:
    /// `ELOOP`).
    case linkLoop
    /// A symbolic link to a regular file, where an output would go (`outputFileRefusal`; `init(path:)`
    /// follows links and never says this).
    case linkToRegularFile
    case regularFile
    case folder
    case namedPipe
    case characterDevice
    case blockDevice
    case socket
    case unknown

    /// The kind of `path` (a symbolic link is followed to its target).
    public init(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            var linkInfo = stat()
            self = code == ELOOP ? .linkLoop : lstat(path, &linkInfo) == 0 ? .brokenLink : .missing
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: self = .regularFile
        case S_IFDIR: self = .folder
        case S_IFIFO: self = .namedPipe
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFSOCK: self = .socket
        default: self = .unknown
        }
    }

    /// "a named pipe (FIFO)", "a character device", … — reads after "is".
    public var description: String {
        switch self {
        case .missing: return "missing"
        case .brokenLink: return "a symbolic link to a file that does not exist"
        case .linkLoop: return "a symbolic link in a loop: too many levels of symbolic links"
        case .linkToRegularFile: return "a symbolic link (to a regular file)"
        case .regularFile: return "a regular file"
        case .folder: return "a folder"
        case .namedPipe: return "a named pipe (FIFO)"
        case .characterDevice: return "a character device"
        case .blockDevice: return "a block device"
        case .socket: return "a socket"
        case .unknown: return "not a regular file"
        }
    }
}

/// Why a file may not be written at `path`, or nil when it may: a folder is there; something that is not
/// a regular file is there (a named pipe, device, socket, or a symbolic link — to one of those, to
/// nothing, or to a regular file, since writers replace the path itself and would swap the link for a
/// file) — refused even with `overwrite`; or a regular file is there and `overwrite` is false. The one
/// check every writer of an output file makes before writing.
public func outputFileRefusal(_ path: String, overwrite: Bool) -> OutputFileRefusal? {
    switch FileKind(path: path) {
    case .missing: return nil
    case .regularFile:
        var linkInfo = stat()
        if lstat(path, &linkInfo) == 0 && (linkInfo.st_mode & S_IFMT) == S_IFLNK { return .notARegularFile(.linkToRegularFile) }
        return overwrite ? nil : .exists
    case .folder: return .isAFolder
    case let kind: return .notARegularFile(kind)
    }
}

/// See `outputFileRefusal`.
public enum OutputFileRefusal: Equatable, CustomStringConvertible {
    case exists
    case isAFolder
    case notARegularFile(FileKind)

    /// Reads after the path: "/tmp/x exists; pass --force to overwrite it".
    public var description: String {
        switch self {
        case .exists: return "exists; pass --force to overwrite it"
        case .isAFolder: return "is a folder; give the path of a file to write"
        case .notARegularFile(let kind): return "is \(kind), not a regular file; mixtral-lab only replaces regular files (even with --force)"
        }
    }
}

/// Why the file at `path` cannot be read as an input, or nil when it is a regular file (or a link to one):
/// "does not exist", "is a folder", "is a named pipe (FIFO), not a regular file" … Checked before opening,
/// because opening a named pipe blocks until some other process writes to it, and a device never ends.
public func inputFileProblem(_ path: String) -> String? {
    switch FileKind(path: path) {
    case .regularFile: return nil
    case .missing: return "does not exist"
    case .folder: return "is a folder, not a file"
    case let kind: return kind == .brokenLink || kind == .linkLoop ? "is \(kind)" : "is \(kind), not a regular file"
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import UserInput

/// The list of files a run created in a folder that holds one run's results (`trace --out`, `lesson run`'s
/// folder): `.mixtral-lab-run` in that folder, one file name a line, rewritten as each file is created
/// (`created(_:)`, which every writer of an output file calls), so it names exactly the files the run
/// wrote — never a file of the user's that happens to be in the folder or was edited meanwhile, and also
/// after a run that was interrupted. `--force` into such a folder removes the files the earlier run
/// listed, and only them (`begin(in:replacingEarlierRun:)`), so two runs' files never sit side by side
/// while the user's own files stay.
///
/// Only plain names of regular files in the folder itself are ever removed: an entry naming a path
/// (`../x`, `a/b`), a symbolic link (not followed: neither the link nor its target is touched), a folder,
/// or anything else that is not a regular file is kept, and said. A manifest that is itself a symbolic
/// link or not a regular file is refused, never read or replaced.
///
/// The folders being filled are kept per process by their real path; the caller holds each one's
/// `OutputFolderLock`, so one run at a time lists files in a folder.
public enum RunManifest {
    public static let fileName = ".mixtral-lab-run"

    /// The manifest's first line, for a reader who finds the file.
    static let heading = "# files the last mixtral-lab run wrote in this folder; --force removes them before the next run"

    /// A manifest larger than this is refused unread: a run's list is a few hundred bytes.
    static let maximumBytes = 1 << 20

    /// Folders being filled (real path) → the names created there so far, in order.
    private static let filling = Mutex<[String: [String]]>([:])

    /// Starts listing the files created in `folder`, an existing folder the caller has locked. With
    /// `replacingEarlierRun`, first removes the files the folder's manifest lists, then the manifest.
    /// The manifest is written when the run creates its first file, so a run that writes nothing leaves none.
    /// - Returns: the listed entries that were kept, each with the reason ("../x: not a plain file name in
    ///   the folder"), for the caller to tell the user.
    /// - Throws: `RunManifestError.notARegularFile` when the manifest is a symbolic link or not a regular
    ///   file; `.cannotRead` / `.cannotRemove` with the system's reason.
    @discardableResult
    public static func begin(in folder: URL, replacingEarlierRun: Bool) throws -> [String] {
        let kept = replacingEarlierRun ? try removeEarlierRun(in: folder) : []
        filling.withLock { $0[key(folder)] = [] }
        return kept
    }

    /// Adds `file` to its folder's manifest, and rewrites the manifest, when that folder is being filled
    /// (`begin`); nothing for a file in any other folder. Called by every writer of an output file once
    /// the file exists under its final name.
    /// - Throws: `RunManifestError.cannotWrite` naming the manifest and the system's reason.
    public static func created(_ file: URL) throws {
        let folder = file.deletingLastPathComponent(), name = file.lastPathComponent
        let folderKey = key(folder)
        try filling.withLock { table throws(RunManifestError) in
            guard var names = table[folderKey], !names.contains(name) else { return }
            names.append(name)
            table[folderKey] = names
            // Written under the lock, so two files created at once never leave the shorter list last; atomic
            // (written beside it and renamed over it), so a reader or a crash never sees half a list.
            let manifest = folder.appendingPathComponent(fileName)
            do {
                try Data(([heading] + names).map { $0 + "\n" }.joined().utf8).write(to: manifest, options: .atomic)
            } catch {
                throw RunManifestError.cannotWrite(path: manifest.path, reason: error.localizedDescription)
            }
        }
    }

    /// Stops listing files in the folder whose real path is `folderPath` (its run ended).
    public static func end(folderPath: String) {
        _ = filling.withLock { $0.removeValue(forKey: folderPath) }
    }

    /// The key `begin`, `created` and `end` share: the folder's real path (`OutputFolderLock`'s callers
    /// key their held folders the same way).
    public static func key(_ folder: URL) -> String { folder.resolvingSymlinksInPath().standardizedFileURL.path }

    /// Removes the regular files `folder`'s manifest lists, then the manifest; returns the entries kept.
    private static func removeEarlierRun(in folder: URL) throws -> [String] {
        let manifest = folder.appendingPathComponent(fileName)
        guard let info = linkInfo(manifest.path) else { return [] }
        guard info.st_mode & S_IFMT == S_IFREG else {
            let kind = info.st_mode & S_IFMT == S_IFLNK ? "a symbolic link" : FileKind(path: manifest.path).description
            throw RunManifestError.notARegularFile(path: manifest.path, kind: kind)
        }
        guard info.st_size <= maximumBytes else {
            throw RunManifestError.cannotRead(path: manifest.path, reason: "\(info.st_size) bytes, more than a list of files (at most \(maximumBytes))")
        }
        let text: String
        do { text = try String(contentsOf: manifest, encoding: .utf8) } catch {
            throw RunManifestError.cannotRead(path: manifest.path, reason: error.localizedDescription)
        }
        var kept: [String] = []
        for name in text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) where !name.hasPrefix("#") {
            guard !name.contains("/"), name != ".", name != "..", name != fileName else {
                kept.append("\(name): not a plain file name in the folder")
                continue
            }
            let path = folder.appendingPathComponent(name).path
            switch linkInfo(path).map({ $0.st_mode & S_IFMT }) {
            case nil: continue   // already gone
            case S_IFREG: try remove(path)
            case S_IFLNK: kept.append("\(name): a symbolic link, which no run writes (not followed)")
            default: kept.append("\(name): \(FileKind(path: path).description), which no run writes")
            }
        }
        try remove(manifest.path)
        return kept
    }

    /// `lstat(2)` of `path` (a symbolic link itself, not followed); nil when nothing is there.
    private static func linkInfo(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    private static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw RunManifestError.cannotRemove(path: path, reason: String(cString: strerror(errno)))
        }
    }
}

/// Why `RunManifest` could not read, write or act on a folder's manifest.
public enum RunManifestError: UserInputError, Equatable {
    case notARegularFile(path: String, kind: String)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case cannotRemove(path: String, reason: String)

    public var description: String {
        switch self {
        case .notARegularFile(let path, let kind):
            return "\(path) is \(kind), not the list of files an earlier run wrote; remove it or choose another folder"
        case .cannotRead(let path, let reason): return "cannot read \(path), the list of files an earlier run wrote: \(reason)"
        case .cannotWrite(let path, let reason): return "cannot write \(path), the list of files this run writes: \(reason)"
        case .cannotRemove(let path, let reason): return "cannot remove \(path), a file of the earlier run that --force replaces: \(reason)"
        }
    }
}

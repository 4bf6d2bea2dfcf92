import ArgumentParser
import FileChecks
import Foundation
import Synchronization
import UserInput

/// Creates the folder an output flag names — only the folder itself, in a folder that exists, as every output
/// file a flag names (export, hardware probe): a typo in a path never makes a tree; `createParents` is for a
/// default folder the user did not name (`lesson-output/NN-slug`) — and locks it for the rest of the run, or
/// fails with a message naming the flag and the path: a path (or a parent) that is a file, or a place
/// where no folder can be made, with the system's reason (`mkdir(2)`'s errno, e.g. "Permission denied";
/// /proc and similar file systems refuse with "No such file or directory" although the parent exists).
///
/// The lock (`OutputFolderLock`, a flock on the folder) keeps two runs from writing into one folder at
/// once: while another process writes there, a run without `force` is refused, and a run with `force`
/// waits for it (saying so on standard error) and then overwrites. Every command that writes an output
/// folder (`--out`, `--charts`, quantize's `--output`) comes through here; the lock is held until the
/// command ends (`finishOutputFolders`, or the process's end), and a folder the command already holds is
/// not locked twice. Folders made here that are still empty when the command fails are removed, so a
/// refused run leaves nothing behind — unless another run holds them (`finishOutputFolders`).
///
/// `requireEmpty` is for folders a command fills as one set of results (`lesson run`'s folder, `trace
/// --out`): without `force` a folder that already holds files is refused (checked under the lock, so of two
/// runs started together the second finds the first's files), so one run's files never end up beside
/// another's; with `force` the files the earlier run listed in the folder's `RunManifest` are removed
/// (a listed entry that is not a plain regular file in the folder is kept, and said on standard error),
/// every other file stays. Either way the run's own files are listed there as they are created. A folder
/// this command already holds (`--out d --charts d`) is not checked again. Folders that many commands'
/// files share (`--charts`, `chart --out`, quantize's `--output`) get no manifest: `force` there only
/// lets a command replace the files it writes itself.
/// - Throws: `ValidationError`; `OutputFolderTaken` for a folder that holds files (with `requireEmpty`) or
///   that another run is writing into; `RunManifestError` for an earlier run's list that cannot be acted on.
func createOutputFolder(_ folder: URL, flag: String, force: Bool, requireEmpty: Bool = false, createParents: Bool = false) throws {
    var missing: [URL] = []
    var place = folder.standardizedFileURL
    var isDirectory: ObjCBool = false
    while !FileManager.default.fileExists(atPath: place.path, isDirectory: &isDirectory) {
        missing.insert(place, at: 0)
        place = place.deletingLastPathComponent()
    }
    guard isDirectory.boolValue else {
        let kind = FileKind(path: place.path)
        let what = kind == .regularFile ? "a file" : kind.description
        throw ValidationError("\(flag) \(folder.path): " + (missing.isEmpty ? "" : "\(place.path) ") + "is \(what), not a folder")
    }
    if !createParents && missing.count > 1 {
        throw ValidationError("\(flag) \(folder.path): \(missing[0].path): no such folder; create it first")
    }
    for url in missing {
        if mkdir(url.path, 0o777) == 0 { HeldOutputFolders.shared.created(url); continue }
        guard errno != EEXIST else { continue }
        let code = errno
        let parent = url.deletingLastPathComponent().path
        // The parent exists (checked above), so "no such file" means the file system takes no new entries.
        let reason = code == ENOENT ? "\(parent) takes no new folders (mkdir: \(String(cString: strerror(code))))"
                                    : String(cString: strerror(code))
        throw ValidationError("\(flag) \(folder.path): cannot create a folder in \(parent): \(reason)")
    }
    let newlyHeld = try HeldOutputFolders.shared.hold(folder, flag: flag, force: force)
    guard requireEmpty && newlyHeld else { return }
    if !force, let contents = try? FileManager.default.contentsOfDirectory(atPath: folder.path), !contents.isEmpty {
        throw OutputFolderTaken("\(flag) \(folder.path) is not empty; choose another folder or pass --force to overwrite")
    }
    for entry in try RunManifest.begin(in: folder, replacingEarlierRun: force) {
        note("mixtral-lab: kept \(entry), listed in \(folder.appendingPathComponent(RunManifest.fileName).path)")
    }
}

/// A folder `createOutputFolder` refuses because another run's files are in it, or another run is writing
/// there: bad input (exit 2) for a folder the user named, the cue to try the next one for a default folder
/// (`createNumberedOutputFolder`).
struct OutputFolderTaken: UserInputError {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The default output folder of a command that writes one set of results per run (`lesson run` without
/// `--out`): `base` when it is new or empty, otherwise the first of `base-2`, `base-3`, … that is, so a
/// second run neither overwrites nor mixes with the first; with `force`, `base` itself, replacing its files.
/// Says on standard error when it moves on from `base`. Created and locked as `createOutputFolder` does.
/// - Parameter label: names the folder in messages (the user gave no flag).
/// - Throws: `ValidationError` as `createOutputFolder`; `OutputFolderTaken` when `base` … `base-999` all hold runs.
func createNumberedOutputFolder(_ base: URL, label: String, force: Bool) throws -> URL {
    if force {
        try createOutputFolder(base, flag: label, force: true, requireEmpty: true, createParents: true)
        return base
    }
    for number in 1...999 {
        let folder = number == 1 ? base : base.deletingLastPathComponent().appendingPathComponent("\(base.lastPathComponent)-\(number)")
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: folder.path), !contents.isEmpty { continue }
        do {
            try createOutputFolder(folder, flag: label, force: false, requireEmpty: true, createParents: true)
        } catch is OutputFolderTaken {
            continue   // filled or held by a run that started at the same time
        }
        if number > 1 {
            note("\(base.relativePath) holds an earlier run, so this one writes to \(folder.relativePath) (--force replaces the earlier run; --out DIR writes elsewhere)")
        }
        return folder
    }
    throw OutputFolderTaken("\(base.relativePath) and \(base.relativePath)-2 … -999 all hold earlier runs; remove some, pass --force to replace \(base.relativePath), or give --out DIR")
}

/// Ends the command's hold on its output folders (called when a command returns or fails): ends their run
/// manifests, when it `failed` removes the folders it created that are still empty (deepest first), then
/// releases their locks. A folder is removed only under its lock — the one the command holds, or one taken
/// here without waiting — so a folder another run holds is never pulled from under it: two runs started
/// together into one new folder both `mkdir` it, one of them creates it and the other may win the lock.
func finishOutputFolders(failed: Bool) {
    let (held, created) = HeldOutputFolders.shared.takeThisThreads()
    for (path, _) in held { RunManifest.end(folderPath: path) }
    if failed {
        let heldPaths = Set(held.map(\.path))
        for folder in created.reversed() {
            guard (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.isEmpty == true else { continue }
            if heldPaths.contains(RunManifest.key(folder)) {
                rmdir(folder.path)
            } else if let lock = try? OutputFolderLock(folder, wait: false) {
                rmdir(folder.path)
                lock.release()
            }   // else another run holds it: it stays
        }
    }
    for (_, lock) in held { lock.release() }
}

/// The output folders each command holds and the ones it created, by the thread that runs the command
/// (tests run several commands at once in one process, and a command runs on one thread); held folders
/// by their real path (so `--out d --charts d/.` is one).
private final class HeldOutputFolders: Sendable {
    static let shared = HeldOutputFolders()
    private struct Table {
        var held: [(thread: pthread_t, path: String, lock: OutputFolderLock)] = []
        var createdBy: [(thread: pthread_t, folder: URL)] = []
    }
    private let table = Mutex(Table())

    func created(_ folder: URL) {
        table.withLock { $0.createdBy.append((pthread_self(), folder)) }
    }

    /// This thread's held folders (real path, lock) and created folders, forgotten here.
    func takeThisThreads() -> (held: [(path: String, lock: OutputFolderLock)], created: [URL]) {
        table.withLock { table in
            let mine = { (thread: pthread_t) in pthread_equal(thread, pthread_self()) != 0 }
            let locks = table.held.filter { mine($0.thread) }.map { ($0.path, $0.lock) }
            let created = table.createdBy.filter { mine($0.thread) }.map(\.folder)
            table.held.removeAll { mine($0.thread) }
            table.createdBy.removeAll { mine($0.thread) }
            return (locks, created)
        }
    }

    /// Locks `folder` for this thread's command; false when the command holds it already.
    func hold(_ folder: URL, flag: String, force: Bool) throws -> Bool {
        let key = RunManifest.key(folder)
        let already = table.withLock { table in table.held.contains { pthread_equal($0.thread, pthread_self()) != 0 && $0.path == key } }
        guard !already else { return false }
        // waiting happens outside the table's lock: other commands of this process go on meanwhile
        let folderLock: OutputFolderLock
        do {
            folderLock = try OutputFolderLock(folder, wait: force) {
                note("mixtral-lab: waiting for another mixtral-lab run writing into \(folder.path) to finish …")
            }
        } catch OutputFolderLock.Failure.busy {
            throw OutputFolderTaken("\(flag) \(folder.path): another mixtral-lab run is writing into this folder; wait for it, choose another folder, or pass --force to wait and then overwrite")
        } catch OutputFolderLock.Failure.cannotOpen(let reason) {
            throw ValidationError("\(flag) \(folder.path): cannot open the folder (\(reason))")
        }
        table.withLock { $0.held.append((pthread_self(), key, folderLock)) }
        return true
    }
}

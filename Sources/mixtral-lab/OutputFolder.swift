import ArgumentParser
import Foundation

/// Creates the folder an output flag names (with its parents), or fails with a message naming the flag
/// and the path: a path (or a parent) that is a file, or a place where no folder can be made, with the
/// system's reason (`mkdir(2)`'s errno, e.g. "Permission denied"; /proc and similar file systems refuse
/// with "No such file or directory" although the parent exists).
/// - Throws: `ValidationError`.
func createOutputFolder(_ folder: URL, flag: String) throws {
    var missing: [URL] = []
    var place = folder.standardizedFileURL
    var isDirectory: ObjCBool = false
    while !FileManager.default.fileExists(atPath: place.path, isDirectory: &isDirectory) {
        missing.insert(place, at: 0)
        place = place.deletingLastPathComponent()
    }
    guard isDirectory.boolValue else {
        let what = missing.isEmpty ? "is a file, not a folder" : "\(place.path) is a file, not a folder"
        throw ValidationError("\(flag) \(folder.path): \(what)")
    }
    for url in missing where mkdir(url.path, 0o777) != 0 && errno != EEXIST {
        let code = errno
        let parent = url.deletingLastPathComponent().path
        // The parent exists (checked above), so "no such file" means the file system takes no new entries.
        let reason = code == ENOENT ? "\(parent) takes no new folders (mkdir: \(String(cString: strerror(code))))"
                                    : String(cString: strerror(code))
        throw ValidationError("\(flag) \(folder.path): cannot create a folder in \(parent): \(reason)")
    }
}

import ArgumentParser
import Foundation

/// Creates the folder an output flag names (with its parents), or fails with a message naming the flag:
/// a path that is a file, or a place that cannot be written.
/// - Throws: `ValidationError`.
func createOutputFolder(_ folder: URL, flag: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw ValidationError("\(flag) \(folder.path): is a file, not a folder") }
        return
    }
    do {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    } catch {
        throw ValidationError("\(flag) \(folder.path): cannot create the folder (\((error as NSError).localizedDescription))")
    }
}

import ArgumentParser
import Foundation

/// The bytes of the file an input flag names (`--text-file`, `--trace`, `--sweep`, `--measured`), or a
/// message naming the flag and the path: it does not exist, it is a folder, or it cannot be read (the
/// system's reason).
/// - Throws: `ValidationError`.
func readInputFile(_ path: String, flag: String) throws -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw ValidationError("\(flag) \(path): does not exist")
    }
    guard !isDirectory.boolValue else { throw ValidationError("\(flag) \(path): is a folder, not a file") }
    do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw ValidationError("\(flag) \(path): cannot read the file (\((error as NSError).localizedDescription))")
    }
}

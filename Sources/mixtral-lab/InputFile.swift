import ArgumentParser
import Foundation
import FileChecks

/// The bytes of the file an input flag names (`--text-file`, `--trace`, `--sweep`, `--measured`), or a
/// message naming the flag and the path: it does not exist, it is a folder, a named pipe or a device
/// (`inputFileProblem`), or it cannot be read (the system's reason).
/// - Throws: `ValidationError`.
func readInputFile(_ path: String, flag: String) throws -> Data {
    if let problem = inputFileProblem(path) { throw ValidationError("\(flag) \(path): \(problem)") }
    do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw ValidationError("\(flag) \(path): cannot read the file (\((error as NSError).localizedDescription))")
    }
}

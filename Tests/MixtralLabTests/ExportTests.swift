import Testing
import Foundation
import TestSupport

/// `export --output` into a folder that does not exist is refused, naming the folder, and creates nothing.
struct ExportTests {
    @Test func aMissingOutputFolderIsNamed() throws {
        try withTemporaryDirectory("export") { folder in
            let output = folder.appendingPathComponent("missing/sub/out.gguf")
            let result = failure(["export", "--precision", "q4", "--output", output.path])
            #expect(result?.code == 2)
            #expect(result?.message == "--output \(output.path): \(folder.path)/missing/sub: no such folder; create it first")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("missing").path))
        }
    }
}

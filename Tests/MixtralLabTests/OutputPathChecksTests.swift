import Foundation
import Testing
import TestSupport
@testable import mixtral_lab

/// Output paths: quantize makes its folder but no missing parent (review 8, finding 14); a device or a
/// symbolic link is named as what it is and never replaced (finding 16's nits).
struct OutputPathChecksTests {
    let scratch = try! TemporaryDirectory("output-path-checks")

    /// As export's --output: a missing parent is a typo, not a tree to create.
    @Test func quantizeCreatesItsFolderButNoMissingParent() throws {
        let missing = scratch.url.appendingPathComponent("missing")
        let output = missing.appendingPathComponent("q")
        let result = failure(["quantize", "--precision", "q4", "--output", output.path])
        #expect(result?.code == 2)
        #expect(result?.message == "--output \(output.path): \(missing.path): no such folder; create it first", "\(String(describing: result))")
        #expect(!FileManager.default.fileExists(atPath: missing.path))
    }

    @Test func quantizeNamesADeviceAsADevice() throws {
        let result = failure(["quantize", "--precision", "q4", "--output", "/dev/null"])
        #expect(result?.code == 2)
        #expect(result?.message == "--output /dev/null: is a character device, not a folder", "\(String(describing: result))")
    }

    /// A link at an output path is kept with --force whatever it points to, as a dangling one was.
    @Test func exportKeepsALinkToAFileEvenWithForce() throws {
        let target = scratch.url.appendingPathComponent("target.gguf")
        try Data("mine".utf8).write(to: target)
        let link = scratch.url.appendingPathComponent("link.gguf")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: target.path)
        let result = failure(["export", "--output", link.path, "--force"])
        #expect(result?.code == 2)
        #expect(result?.message.contains("is a symbolic link (to a regular file), not a regular file") == true, "\(String(describing: result))")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == target.path)
        #expect(try String(contentsOf: target, encoding: .utf8) == "mine")
    }
}

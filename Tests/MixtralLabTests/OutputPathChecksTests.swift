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

    /// One rule for every output folder a flag names (fresh-user review 10, F15): the folder is made, a missing
    /// parent is not — `lesson run --out` made the whole tree — while the default `lesson-output/NN-slug` is
    /// still made with its parent.
    @Test(arguments: [["lesson", "run", "1", "--out"], ["trace", "--max-tokens", "2", "--out"], ["chart", "routing", "--out"],
                      ["compare", "--max-tokens", "2", "--charts"]])
    func anOutputFolderIsMadeButNoMissingParent(command: [String]) throws {
        let missing = scratch.url.appendingPathComponent("missing")
        let output = missing.appendingPathComponent("sub").appendingPathComponent("out")
        let result = failure(command + [output.path])
        #expect(result?.code == 2)
        #expect(result?.message == "\(command.last!) \(output.path): \(missing.path): no such folder; create it first", "\(String(describing: result))")
        #expect(!FileManager.default.fileExists(atPath: missing.path))
    }

    /// `--offload-store` too: its folder is made, a missing parent is not.
    @Test func anOffloadStoreIsMadeButNoMissingParent() throws {
        let missing = scratch.url.appendingPathComponent("missing")
        let store = missing.appendingPathComponent("stores").path
        let result = failure(["generate", "--max-tokens", "1", "--ram-budget", "64MiB", "--offload-store", store])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--offload-store \(store): \(missing.path): no such folder; create it first") == true, "\(String(describing: result))")
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

    /// A symbolic link in a loop is said to be one (ELOOP), not "no such file" (fresh-user review 10, F15).
    @Test func aSymbolicLinkLoopIsNamedAsOne() throws {
        let a = scratch.url.appendingPathComponent("loop-a"), b = scratch.url.appendingPathComponent("loop-b")
        try FileManager.default.createSymbolicLink(atPath: a.path, withDestinationPath: b.path)
        try FileManager.default.createSymbolicLink(atPath: b.path, withDestinationPath: a.path)
        let loop = "a symbolic link in a loop: too many levels of symbolic links"
        let cases: [([String], String)] = [
            (["generate", "--max-tokens", "1", "--model", a.path], "\(a.path): cannot read file (\(loop))"),
            (["perplexity", "--text-file", a.path], "--text-file \(a.path): is \(loop)"),
            (["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--hardware", a.path], "hardware profile \(a.path): cannot read: is \(loop)"),
            (["plan", "--model", a.path, "--ram", "16GiB"], "\(a.path): cannot read file (\(loop))"),
        ]
        for (arguments, message) in cases {
            let result = failure(arguments)
            #expect(result?.code == 2, "\(arguments)")
            #expect(result?.message == message, "\(result?.message ?? "accepted")")
        }
        // a checkpoint folder whose config.json or weights are such a link: named, not "no config.json"
        let model = scratch.url.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: model.appendingPathComponent("config.json").path, withDestinationPath: a.path)
        #expect(failure(["info", "--model", model.path])?.message == "\(model.path)/config.json: cannot read file (\(loop))")
    }
}

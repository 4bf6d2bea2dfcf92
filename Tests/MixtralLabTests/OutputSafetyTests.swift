import FileChecks
import Foundation
import Testing
import TestSupport
@testable import mixtral_lab

/// Class 3 of issue #18: a named pipe, a device or a link to one where an output file would go is never
/// replaced, even with --force; every writer (export, quantize, trace, chart, lesson) makes the same check.
struct SpecialOutputFileTests {
    let scratch = try! TemporaryDirectory("special-outputs")

    private func fifo(_ name: String, in folder: URL? = nil) -> URL {
        let url = (folder ?? scratch.url).appendingPathComponent(name)
        #expect(mkfifo(url.path, 0o600) == 0)
        return url
    }

    @Test func exportKeepsANamedPipe() {
        let pipe = fifo("out.gguf")
        let result = failure(["export", "--output", pipe.path, "--force"])
        #expect(result?.code == 2)
        #expect(result?.message.contains("is a named pipe (FIFO), not a regular file") == true)
        #expect(FileKind(path: pipe.path) == .namedPipe)
    }

    @Test func exportKeepsALinkToADevice() throws {
        let link = scratch.url.appendingPathComponent("null.gguf")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/dev/null")
        let result = failure(["export", "--output", link.path, "--force"])
        #expect(result?.code == 2)
        #expect(result?.message.contains("is a character device, not a regular file") == true)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "/dev/null")
    }

    @Test func quantizeKeepsANamedPipeInItsFolder() throws {
        let folder = try scratch.newFolder()
        let pipe = fifo("config.json", in: folder)
        let result = failure(["quantize", "--precision", "q4", "--output", folder.path, "--force"])
        #expect(result?.code == 2)
        #expect(result?.message.contains("\(pipe.path) is a named pipe (FIFO)") == true)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path))
    }

    @Test func traceKeepsANamedPipeBeforeRunning() throws {
        let folder = try scratch.newFolder()
        let pipe = fifo("summary.json", in: folder)
        let result = failure(["trace", "--max-tokens", "1", "--out", folder.path, "--force"])
        #expect(result?.code == 2)
        #expect(result?.message.contains("\(pipe.path) is a named pipe (FIFO)") == true)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("trace.jsonl").path))
    }

    @Test func chartsKeepANamedPipe() throws {
        let folder = try scratch.newFolder()
        let pipe = fifo("routing-heatmap.png", in: folder)
        let result = failure(["chart", "routing", "--out", folder.path, "--force"])
        #expect(result?.code == 2)
        #expect(result?.message.contains("is a named pipe (FIFO)") == true)
        #expect(FileKind(path: pipe.path) == .namedPipe)
    }

    @Test func lessonReportKeepsANamedPipe() throws {
        let folder = try scratch.newFolder()
        let pipe = fifo("report.md", in: folder)
        let result = failure(["lesson", "run", "1", "--out", folder.path, "--force"])
        #expect(result?.code == 2)
        #expect(result?.message.contains("is a named pipe (FIFO)") == true)
        #expect(FileKind(path: pipe.path) == .namedPipe)
    }
}

/// Class 2 of issue #18: two runs never write into one output folder at once. A run finding another
/// writing there is refused, or with --force waits for it; every command writing an output folder
/// takes the same lock (`createOutputFolder`).
struct ConcurrentOutputFolderTests {
    let scratch = try! TemporaryDirectory("busy-outputs")

    @Test(arguments: [
        ["lesson", "run", "1", "--out"],
        ["chart", "routing", "--out"],
        ["trace", "--max-tokens", "1", "--out"],
        ["quantize", "--precision", "q4", "--output"],
        ["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--charts"],
    ])
    func aFolderAnotherRunWritesIntoIsRefused(_ command: [String]) throws {
        let folder = try scratch.newFolder()
        let other = try OutputFolderLock(folder, wait: false)
        defer { other.release() }
        let result = failure(command + [folder.path])
        #expect(result?.code == 2)
        #expect(result?.message == "\(command.last!) \(folder.path): another mixtral-lab run is writing into this folder; wait for it, choose another folder, or pass --force to wait and then overwrite")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func withForceTheSecondRunWaitsAndWritesAlone() throws {
        let folder = try scratch.newFolder()
        let other = try OutputFolderLock(folder, wait: false)
        // the first run writes a file of its own, then finishes
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
            try? Data("first run".utf8).write(to: folder.appendingPathComponent("other.txt"))
            other.release()
        }
        let errors = try standardError {
            #expect(failure(["lesson", "run", "1", "--out", folder.path, "--force"]) == nil)
        }
        #expect(errors.contains("waiting for another mixtral-lab run writing into \(folder.path) to finish"))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("report.md").path))
    }

    /// trace --out holds one run's files, as lesson run --out does (one check, `createOutputFolder`'s
    /// requireEmpty): a folder with any file in it is refused before the run, --force writes into it.
    @Test func traceRefusesANonEmptyOutFolderWithoutForce() throws {
        for existing in ["sweep.json", "notes.txt"] {
            let folder = try scratch.newFolder()
            try Data("earlier".utf8).write(to: folder.appendingPathComponent(existing))
            let result = failure(["trace", "--max-tokens", "1", "--out", folder.path])
            #expect(result?.code == 2)
            #expect(result?.message == "--out \(folder.path) is not empty; choose another folder or pass --force to overwrite")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [existing])
            #expect(failure(["trace", "--max-tokens", "1", "--out", folder.path, "--force"]) == nil)
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("trace.jsonl").path))
        }
        // the charts may go into the --out folder the same run fills
        let folder = try scratch.newFolder()
        #expect(failure(["trace", "--max-tokens", "1", "--out", folder.path, "--charts", folder.path]) == nil)
    }

    /// `lesson run --force` into a folder of an earlier run replaces that run whole: its charts go even
    /// when this lesson writes others; a file of the user's stays.
    @Test func lessonRunForceReplacesTheEarlierRunsFiles() throws {
        let folder = try scratch.newFolder()
        _ = try standardOutput { #expect(failure(["lesson", "run", "2", "--out", folder.path]) == nil) }
        try Data("mine".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        _ = try standardOutput { #expect(failure(["lesson", "run", "8", "--out", folder.path, "--force"]) == nil) }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(files == ["memory-plan.png", "notes.txt", "report.md"])
    }

    /// Without --out (the quick start run twice), a lesson's second run writes to a new numbered folder
    /// beside the first and says so, never into the first; --force replaces the first run's files.
    @Test func aDefaultOutputFolderHoldingAnEarlierRunGetsANumberedSibling() throws {
        let base = try scratch.newFolder().appendingPathComponent("01-what-quantization-is")
        #expect(try createNumberedOutputFolder(base, label: "the output folder", force: false) == base)
        finishOutputFolders(failed: false)
        try Data("first run".utf8).write(to: base.appendingPathComponent("report.md"))
        var second: URL?
        let errors = try standardError {
            second = try createNumberedOutputFolder(base, label: "the output folder", force: false)
        }
        finishOutputFolders(failed: false)
        #expect(second?.lastPathComponent == "01-what-quantization-is-2")
        #expect(errors.contains("01-what-quantization-is holds an earlier run, so this one writes to \(second?.relativePath ?? "?")"), "\(errors)")
        #expect(!errors.contains("--out \(base.path)"), "\(errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: base.path) == ["report.md"])
        try Data("second run".utf8).write(to: base.deletingLastPathComponent().appendingPathComponent("01-what-quantization-is-2/report.md"))
        let third = try createNumberedOutputFolder(base, label: "the output folder", force: false)
        finishOutputFolders(failed: false)
        #expect(third.lastPathComponent == "01-what-quantization-is-3")
        #expect(try createNumberedOutputFolder(base, label: "the output folder", force: true) == base)
        finishOutputFolders(failed: false)
    }

    /// A failed run removes the empty folders it created, but never one another run holds: of two runs
    /// started together into one new folder, the one whose mkdir made it may lose the lock to the other
    /// (review 9, F1), and here the run for `x/y` made `x` (as a default folder, `lesson-output/NN-slug`, is
    /// made with its parent), which a run for `x` holds.
    @Test func aFailedRunKeepsAFolderItCreatedThatAnotherRunHolds() throws {
        let root = try scratch.newFolder()
        let outer = root.appendingPathComponent("x"), inner = outer.appendingPathComponent("y")
        try createOutputFolder(inner, flag: "the output folder", force: false, createParents: true)
        let other = try OutputFolderLock(outer, wait: false)
        defer { other.release() }
        finishOutputFolders(failed: true)
        #expect(!FileManager.default.fileExists(atPath: inner.path))
        #expect(FileManager.default.fileExists(atPath: outer.path))
    }

    @Test func aSecondLessonRunFindsTheFirstOnesFiles() throws {
        let folder = try scratch.newFolder()
        #expect(failure(["lesson", "run", "1", "--out", folder.path]) == nil)
        let again = failure(["lesson", "run", "1", "--out", folder.path])
        #expect(again?.code == 2)
        #expect(again?.message.contains("is not empty") == true)
    }
}

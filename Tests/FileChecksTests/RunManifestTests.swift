import Foundation
import Testing
import TestSupport
@testable import FileChecks

/// `RunManifest`: a run lists exactly the files it creates, and replacing it removes exactly those —
/// never a file of the user's, never anything outside the folder or behind a symbolic link.
struct RunManifestTests {
    let scratch = try! TemporaryDirectory("run-manifest")

    /// Writes `text` at `folder/name` and tells the manifest, as every output writer does.
    private func create(_ name: String, in folder: URL, _ text: String = "run") throws {
        let file = folder.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        try RunManifest.created(file)
    }

    private func names(in folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    private func manifestLines(_ folder: URL) throws -> [String] {
        try String(contentsOf: folder.appendingPathComponent(RunManifest.fileName), encoding: .utf8)
            .split(separator: "\n").map(String.init)
    }

    @Test func eachFileIsListedAsItIsCreatedAndOnlyWhileTheRunLasts() throws {
        let folder = try scratch.newFolder(), elsewhere = try scratch.newFolder()
        try RunManifest.begin(in: folder, replacingEarlierRun: false)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent(RunManifest.fileName).path))
        try create("report.md", in: folder)
        #expect(try manifestLines(folder) == [RunManifest.heading, "report.md"])
        try create("chart.png", in: folder)
        try create("report.md", in: folder)   // rewritten: listed once
        try create("other.png", in: elsewhere)   // another folder: no manifest there
        try Data("mine".utf8).write(to: folder.appendingPathComponent("notes.txt"))   // the user's, not created through a writer
        #expect(try manifestLines(folder) == [RunManifest.heading, "report.md", "chart.png"])
        #expect(try names(in: elsewhere) == ["other.png"])
        RunManifest.end(folderPath: RunManifest.key(folder))
        try create("later.png", in: folder)
        #expect(try manifestLines(folder) == [RunManifest.heading, "report.md", "chart.png"])
    }

    /// Replacing a run removes the files it listed and its manifest; the user's file stays, even one
    /// modified while the earlier run was writing (the earlier list was by modification time).
    @Test func replacingTheEarlierRunRemovesOnlyItsFiles() throws {
        let folder = try scratch.newFolder()
        try RunManifest.begin(in: folder, replacingEarlierRun: false)
        try create("report.md", in: folder)
        try Data("mine".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        try create("trace.jsonl", in: folder)
        RunManifest.end(folderPath: RunManifest.key(folder))
        let kept = try RunManifest.begin(in: folder, replacingEarlierRun: true)
        #expect(kept.isEmpty)
        #expect(try names(in: folder) == ["notes.txt"])
        try create("summary.json", in: folder)
        RunManifest.end(folderPath: RunManifest.key(folder))
        #expect(try manifestLines(folder) == [RunManifest.heading, "summary.json"])
        #expect(try names(in: folder) == [RunManifest.fileName, "notes.txt", "summary.json"])
    }

    /// Entries naming a path out of the folder, a symbolic link (to a file outside) or a folder are kept
    /// and said; the link is not followed, so its target stays too.
    @Test func entriesOutsideTheFolderOrThroughALinkAreNeverRemoved() throws {
        let outside = try scratch.newFolder(), folder = outside.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        let x = outside.appendingPathComponent("x"), target = outside.appendingPathComponent("target")
        try Data("x".utf8).write(to: x)
        try Data("target".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("link").path, withDestinationPath: target.path)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: false)
        try Data("in sub".utf8).write(to: folder.appendingPathComponent("sub/b"))
        try Data("run".utf8).write(to: folder.appendingPathComponent("report.md"))
        try Data("# list\n../x\nlink\nsub\nsub/b\n..\nreport.md\n".utf8).write(to: folder.appendingPathComponent(RunManifest.fileName))
        let kept = try RunManifest.begin(in: folder, replacingEarlierRun: true)
        RunManifest.end(folderPath: RunManifest.key(folder))
        #expect(kept == ["../x: not a plain file name in the folder", "link: a symbolic link, which no run writes (not followed)",
                         "sub: a folder, which no run writes", "sub/b: not a plain file name in the folder",
                         "..: not a plain file name in the folder"])
        #expect(FileManager.default.fileExists(atPath: x.path))
        #expect(FileManager.default.fileExists(atPath: target.path))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: folder.appendingPathComponent("link").path)) == target.path)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("sub/b").path))
        #expect(try names(in: folder) == ["link", "sub"])
    }

    /// A manifest that is a symbolic link is refused: never read (the listed file stays) nor replaced.
    @Test func aManifestThatIsALinkIsRefused() throws {
        let outside = try scratch.newFolder(), folder = try scratch.newFolder()
        let victim = folder.appendingPathComponent("victim.txt"), list = outside.appendingPathComponent("list")
        try Data("mine".utf8).write(to: victim)
        try Data("victim.txt\n".utf8).write(to: list)
        let manifest = folder.appendingPathComponent(RunManifest.fileName)
        try FileManager.default.createSymbolicLink(atPath: manifest.path, withDestinationPath: list.path)
        #expect(throws: RunManifestError.notARegularFile(path: manifest.path, kind: "a symbolic link")) {
            try RunManifest.begin(in: folder, replacingEarlierRun: true)
        }
        #expect(FileManager.default.fileExists(atPath: victim.path))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: manifest.path)) == list.path)
    }

    /// A manifest far larger than any run's list is refused before it is read.
    @Test func anOversizedManifestIsRefusedUnread() throws {
        let folder = try scratch.newFolder()
        let manifest = folder.appendingPathComponent(RunManifest.fileName)
        try Data(count: RunManifest.maximumBytes + 1).write(to: manifest)
        #expect(throws: RunManifestError.cannotRead(path: manifest.path, reason: "\(RunManifest.maximumBytes + 1) bytes, more than a list of files (at most \(RunManifest.maximumBytes))")) {
            try RunManifest.begin(in: folder, replacingEarlierRun: true)
        }
    }
}

import Foundation
import Testing
import TestSupport
@testable import Checkpoints

/// Class 7 of issue #18: a `MIXTRAL_LAB_HOME` that is wrong is an error naming it, never silently
/// replaced by the checkout the binary was built in.
struct ProjectFilesTests {
    let scratch = try! TemporaryDirectory("project-files")

    @Test func aHomeThatDoesNotExistIsNamed() {
        let home = scratch.url.appendingPathComponent("no-such-checkout").path
        #expect(throws: CheckpointError.badEnvironment(variable: "MIXTRAL_LAB_HOME", value: home,
            problem: "no such folder (it names the mixtral-lab checkout; unset it to use the one the binary is in)")) {
            try ProjectFiles.locate("lessons", home: home)
        }
        #expect(throws: CheckpointError.self) { try ProjectFiles.locate("lessons", home: "") }
    }

    @Test func aHomeThatIsAFileIsNamed() throws {
        let file = scratch.url.appendingPathComponent("file")
        try Data().write(to: file)
        #expect(throws: CheckpointError.badEnvironment(variable: "MIXTRAL_LAB_HOME", value: file.path, problem: "is a file, not a folder")) {
            try ProjectFiles.locate("lessons", home: file.path)
        }
    }

    @Test func aHomeWithoutTheFileIsNamed() {
        #expect(throws: CheckpointError.badEnvironment(variable: "MIXTRAL_LAB_HOME", value: scratch.url.path,
                                                       problem: "has no models/shakespeare-mixtral/config.json (is it a mixtral-lab checkout?)")) {
            try ProjectFiles.locate("models/shakespeare-mixtral/config.json", home: scratch.url.path)
        }
    }

    @Test func aCheckoutIsUsed() throws {
        let lessons = try ProjectFiles.locate("lessons")
        let home = lessons.deletingLastPathComponent().path
        #expect(try ProjectFiles.locate("lessons", home: home) == lessons)
    }
}

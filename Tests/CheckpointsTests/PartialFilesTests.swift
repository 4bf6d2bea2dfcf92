import Foundation
import Testing
@testable import Checkpoints
import TestSupport

/// `writeThroughPartialFile`: each write has a partial file of its own (review 9, F32).
struct PartialFilesTests {
    /// Two writes of one file at once each write their own partial file: the inner write here would
    /// otherwise truncate and then move away the outer one's.
    @Test func twoWritesOfOneFileDoNotShareAPartialFile() throws {
        try withTemporaryDirectory("partial-files") { (folder: URL) throws in
            let url = folder.appendingPathComponent("out.bin")
            try writeThroughPartialFile(url, overwrite: true) { outer in
                try outer.write(contentsOf: Data("outer".utf8))
                try writeThroughPartialFile(url, overwrite: true) { try $0.write(contentsOf: Data("inner".utf8)) }
                try outer.write(contentsOf: Data(" run".utf8))
            }
            #expect(try Data(contentsOf: url) == Data("outer run".utf8))
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.bin"])
        }
    }
}

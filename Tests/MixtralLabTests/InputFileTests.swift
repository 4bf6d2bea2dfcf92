import Testing
import Foundation
import TestSupport

/// A file flag names its problem: a missing file does not exist, a folder is a folder, and (for
/// `perplexity --text-file`) a file that is there but not UTF-8 is not UTF-8 text.
struct InputFileTests {
    @Test(arguments: [
        ["perplexity", "--text-file"], ["chart", "hit-rate", "--out", "unused", "--sweep"],
        ["chart", "transfers", "--out", "unused", "--trace"], ["plan", "--measured"],
    ])
    func aMissingFileDoesNotExistAndAFolderIsAFolder(command: [String]) throws {
        let flag = command.last!
        try withTemporaryDirectory("input-file") { folder in
            let missing = folder.appendingPathComponent("nonexist.txt").path
            let result = failure(command + [missing])
            #expect(result?.code == 2)
            #expect(result?.message == "\(flag) \(missing): does not exist")
            let inFolder = failure(command + [folder.path])
            #expect(inFolder?.code == 2)
            #expect(inFolder?.message == "\(flag) \(folder.path): is a folder, not a file")
        }
    }

    @Test func aTextFileThatIsNotUTF8IsSaidToBeSo() throws {
        try withTemporaryDirectory("input-file") { folder in
            let file = folder.appendingPathComponent("latin1.txt")
            try Data([0x63, 0x61, 0x66, 0xE9, 0x0A]).write(to: file)
            let result = failure(["perplexity", "--text-file", file.path])
            #expect(result?.code == 2)
            #expect(result?.message == "--text-file \(file.path): is not UTF-8 text")
        }
    }
}

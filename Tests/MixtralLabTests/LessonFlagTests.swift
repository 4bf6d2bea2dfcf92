import Testing
import Foundation
import TestSupport

/// `lesson run` flags that act on loading the model are refused for a lesson that loads none.
struct LessonFlagTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("lesson-flags") }

    @Test(arguments: [["--ram-budget", "64MiB"], ["--mmap-experts"]])
    func aModelLoadingFlagOnALessonWithoutAModelIsRefused(flag: [String]) {
        let output = scratch.url.appendingPathComponent("out")
        let result = failure(["lesson", "run", "1", "--out", output.path] + flag)
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("\(flag[0]) has no effect on lesson 1: none of its experiments takes it") == true,
                "\(result?.message ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    /// A value a flag put into a lab block, refused by the experiment, is reported as the flag's, not as
    /// the lesson file's parameter.
    @Test func aRefusedFlagValueNamesTheFlag() {
        let output = scratch.url.appendingPathComponent("out-cache")
        let result = failure(["lesson", "run", "6", "--out", output.path, "--cache-experts", "0"])
        #expect(result?.code == 2)
        #expect(result?.message == "--cache-experts 0: must be 1…8 for this lesson's experiment cache-sweep", "\(result?.message ?? "no error")")
    }
}

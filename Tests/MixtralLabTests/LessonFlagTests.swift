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

    /// Lesson 9 without --model shows committed measurements: a model flag does nothing there (F6).
    @Test(arguments: [["--ram-budget", "12GiB"], ["--mmap-experts"], ["--precision", "q4"]])
    func aModelFlagOnLessonNineWithoutAModelIsRefused(flag: [String]) {
        let output = scratch.url.appendingPathComponent("out-9")
        let result = failure(["lesson", "run", "9", "--out", output.path] + flag)
        #expect(result?.code == 2)
        #expect(result?.message == "\(flag[0]) has no effect on lesson 9 on the default model: its experiment full-size runs a model only with --model FILE (a model other than the default)",
                "\(result?.message ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    /// `--precision` on a lesson whose experiments choose their own precisions, or run no model (F35).
    @Test(arguments: ["1", "3"])
    func precisionOnALessonThatDoesNotRunAtItIsRefused(lesson: String) {
        let output = scratch.url.appendingPathComponent("out-precision-\(lesson)")
        let result = failure(["lesson", "run", lesson, "--out", output.path, "--precision", "q4"])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--precision has no effect on lesson \(lesson): none of its experiments takes it") == true,
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

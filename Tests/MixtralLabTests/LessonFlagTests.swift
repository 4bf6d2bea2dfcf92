import Testing
import Foundation
import TestSupport
import Checkpoints

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

    /// `--mmap-experts` is refused before the lesson starts (nothing printed, no folder) when the experts cannot
    /// be computed from the mapped file at every precision the lesson loads (F13): the default model stores
    /// its experts as BF16; an F32 GGUF runs them mapped only at experts=fp32, and lesson 3 compares
    /// precisions of its own; lesson 5 runs at --precision, which must then have fp32 experts.
    @Test func mmapExpertsThatCannotRunAreRefusedBeforeTheLessonStarts() throws {
        let f32 = scratch.url.appendingPathComponent("f32.gguf").path
        #expect(failure(["export", "--format", "gguf", "--precision", "fp32", "--output", f32]) == nil)
        let cases: [(arguments: [String], message: String)] = [
            (["3", "--mmap-experts"], "--mmap-experts: the experts of \(try DefaultModel.locate().path) are not all stored as F32, Q8_0 or Q4_0 tensors of one layout (layer 0's first is BF16); computing them from the mapped file needs that"),
            (["3", "--mmap-experts", "--model", f32], "--mmap-experts: the experts of \(f32) are F32, and lesson 3's experiment compare-precisions loads the model at precisions of its own; computing F32 experts from the mapped file needs experts=fp32 (Q8_0 or Q4_0 experts run as stored at every precision)"),
            (["5", "--mmap-experts", "--model", f32, "--precision", "q4"], "--mmap-experts: --precision gives the experts q4; computing F32 experts from the mapped file needs experts=fp32"),
        ]
        for (arguments, message) in cases {
            let output = scratch.url.appendingPathComponent("out-mmap")
            var result: (code: Int32, message: String)?
            let printed = try standardOutput { result = failure(["lesson", "run"] + arguments + ["--out", output.path]) }
            #expect(result?.code == 2, "\(arguments)")
            #expect(result?.message == message, "\(result?.message ?? "no error")")
            #expect(printed.isEmpty, "the lesson started: \(printed.prefix(200))")
            #expect(!FileManager.default.fileExists(atPath: output.path))
        }
    }

    /// `--model` on lesson 8, whose plan is for a real Mixtral's shapes and never reads the lab's checkpoint,
    /// would do nothing: refused as the other model flags are (F13). Lesson 1 reads a tensor of it: taken.
    @Test func modelOnALessonThatReadsNoCheckpointIsRefused() throws {
        let output = scratch.url.appendingPathComponent("out-8")
        let result = failure(["lesson", "run", "8", "--model", try DefaultModel.locate().path, "--out", output.path])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--model has no effect on lesson 8: none of its experiments takes it (experiments that do, in other lessons: quantize-tensor, block-scales, ") == true,
                "\(result?.message ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}


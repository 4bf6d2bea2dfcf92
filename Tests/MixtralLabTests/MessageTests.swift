import Testing
import Foundation
import TestSupport
@testable import mixtral_lab

/// Messages that name the flag, file or id a user gave, and the real problem.
struct MessageTests {
    @Test(arguments: [["lesson", "run", "-1"], ["lesson", "show", "-1"]])
    func aNegativeLessonIDIsAnUnknownLesson(arguments: [String]) {
        let result = failure(arguments)
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("no lesson \"-1\"; available: 01-") == true, "\(result?.message ?? "no error")")
    }

    /// The usage line says what the command takes: one id (a second one is refused), not `[<id> ...]`.
    @Test func lessonRunAndShowHelpShowOneID() {
        let run = MixtralLab.helpMessage(for: LessonCommand.Run.self)
        #expect(run.contains("USAGE: mixtral-lab lesson run <id> [<options>]"), "\(run)")
        #expect(!run.contains("<id> ..."), "\(run)")
        let show = MixtralLab.helpMessage(for: LessonCommand.Show.self)
        #expect(show.contains("USAGE: mixtral-lab lesson show <id>"), "\(show)")
        #expect(!show.contains("<id> ..."), "\(show)")
    }

    @Test func lessonRunStillRefusesAnUnknownOptionAndASecondID() {
        #expect(failure(["lesson", "run", "1", "--bogus"])?.message.hasPrefix("Unknown option '--bogus'") == true)
        #expect(failure(["lesson", "show", "1", "2"])?.message.hasPrefix("give one lesson, not 2 (1 2)") == true)
        #expect(failure(["lesson", "show"])?.message.hasPrefix("give a lesson number or slug; `mixtral-lab lesson list` lists them") == true)
    }

    /// review9 F28: the default prompt's newlines shown escaped, not breaking the help's layout.
    @Test func chartRoutingHelpShowsTheDefaultPromptOnOneLine() {
        // the help wraps its lines: compare with single spaces
        let help = MixtralLab.helpMessage(for: ChartCommand.RoutingChart.self).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains(#"default: "ROMEO:\nBut soft, what light through yonder window breaks?\n")"#), "\(help)")
    }

    @Test func chartRoutingNamesTheLayerFlag() throws {
        try withTemporaryDirectory("messages") { folder in
            let result = failure(["chart", "routing", "--layer", "9", "--out", folder.path])
            #expect(result?.code == 2)
            #expect(result?.message == "--layer 9: the model has layers 0…3")
        }
    }

    @Test func hitRateChartSaysASummaryIsNotASweep() throws {
        try withTemporaryDirectory("messages") { folder in
            let traceFolder = folder.appendingPathComponent("trace")
            #expect(failure(["trace", "--max-tokens", "2", "--out", traceFolder.path]) == nil)
            let summary = traceFolder.appendingPathComponent("summary.json").path
            let result = failure(["chart", "hit-rate", "--sweep", summary, "--out", folder.appendingPathComponent("charts").path])
            #expect(result?.code == 2)
            #expect(result?.message == "--sweep \(summary): this is a summary.json (one policy's totals, from `mixtral-lab trace`), not a sweep.json; make one with `mixtral-lab trace --sweep --out DIR`")
            let list = folder.appendingPathComponent("list.json")
            try Data("[1]".utf8).write(to: list)
            let other = failure(["chart", "hit-rate", "--sweep", list.path, "--out", folder.appendingPathComponent("charts").path])
            #expect(other?.message == "--sweep \(list.path): not a sweep.json written by `mixtral-lab trace --sweep` (entry 0 is not an object (keys and values))")
        }
    }

    /// review9 F14: `plan --measured` names the flag and what is wrong in the file's own terms, never
    /// Foundation's "The data isn't in the correct format".
    @Test func planMeasuredSaysASweepIsNotASummary() throws {
        try withTemporaryDirectory("messages") { folder in
            let traceFolder = folder.appendingPathComponent("trace")
            #expect(failure(["trace", "--max-tokens", "2", "--sweep", "--out", traceFolder.path]) == nil)
            let sweep = traceFolder.appendingPathComponent("sweep.json").path
            let plan = ["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--measured"]
            let result = failure(plan + [sweep])
            #expect(result?.code == 2)
            #expect(result?.message == "--measured \(sweep): this is a sweep.json (one summary per policy and cache size, from `mixtral-lab trace --sweep`), not a summary.json; give the summary.json of one `mixtral-lab trace --out DIR` run")
            let partial = folder.appendingPathComponent("partial.json")
            try Data(#"{"policy": "lru"}"#.utf8).write(to: partial)
            let missing = failure(plan + [partial.path])
            #expect(missing?.code == 2)
            #expect(missing?.message.hasPrefix("--measured \(partial.path): not a summary.json written by `mixtral-lab trace` (missing key \"") == true,
                    "\(missing?.message ?? "accepted")")
            let text = folder.appendingPathComponent("text.json")
            try Data("not json".utf8).write(to: text)
            #expect(failure(plan + [text.path])?.message == "--measured \(text.path): not a summary.json written by `mixtral-lab trace` (invalid JSON)")
            // fresh-user review 10: a list, a string where a number belongs, an impossible hit rate
            let list = folder.appendingPathComponent("list.json")
            try Data("[1, 2]".utf8).write(to: list)
            #expect(failure(plan + [list.path])?.message == "--measured \(list.path): not a summary.json written by `mixtral-lab trace` (the file is not an object (keys and values))")
            let summary = traceFolder.appendingPathComponent("summary.json")
            #expect(failure(["trace", "--max-tokens", "2", "--out", traceFolder.appendingPathComponent("one").path]) == nil)
            let written = try String(contentsOf: traceFolder.appendingPathComponent("one/summary.json"), encoding: .utf8)
            let rate = try #require(written.range(of: #""decode_hit_rate" : [0-9.e-]+"#, options: .regularExpression))
            for (value, message) in [("1.5", "decode_hit_rate 1.5 is not between 0 and 1"),
                                     ("\"high\"", "not a summary.json written by `mixtral-lab trace` (decode_hit_rate is not a number)")] {
                try written.replacingCharacters(in: rate, with: "\"decode_hit_rate\" : \(value)").write(to: summary, atomically: true, encoding: .utf8)
                #expect(failure(plan + [summary.path])?.message == "--measured \(summary.path): \(message)")
            }
        }
    }

    /// fresh-user review 10: a `--token-ids` id past the vocabulary names the flag, before the model runs.
    @Test func tokenIDsOutsideTheVocabularyNameTheFlag() {
        let result = failure(["generate", "--token-ids", "1,99999", "--max-tokens", "1"])
        #expect(result?.code == 2)
        #expect(result?.message == "--token-ids: 99999 is outside the vocabulary (0..<2048)")
    }

    @Test func anOutputFolderThatCannotBeMadeIsNamedWithTheReason() throws {
        let proc = failure(["lesson", "run", "1", "--out", "/proc/x"])
        #expect(proc?.code == 2)
        #expect(proc?.message == "--out /proc/x: cannot create a folder in /proc: /proc takes no new folders (mkdir: No such file or directory)")
        try withTemporaryDirectory("messages") { folder in
            let file = folder.appendingPathComponent("file.txt")
            try Data().write(to: file)
            let under = failure(["lesson", "run", "1", "--out", file.appendingPathComponent("sub").path])
            #expect(under?.message == "--out \(file.path)/sub: \(file.path) is a file, not a folder")
        }
    }
}

/// Leftovers of issue #18's review: a flag error is one line (no usage block), and a refused chart leaves
/// no folder behind.
struct FlagErrorTests {
    @Test(arguments: [["generate", "--bogus"], ["generate", "--max-tokens", "many"], ["trace", "--policy"], ["chart", "routing"]])
    func aFlagErrorIsOneLinePointingToHelp(_ arguments: [String]) {
        let result = failure(arguments)
        #expect(result?.code == 2)
        let message = result?.message ?? ""
        #expect(!message.contains("\n") && !message.contains("USAGE") && !message.contains("Usage:"), "\(message)")
        #expect(message.contains("--help"), "\(message)")
    }

    @Test func aRefusedChartLeavesNoFolder() throws {
        try withTemporaryDirectory("messages") { folder in
            let out = folder.appendingPathComponent("charts/routing")
            #expect(failure(["chart", "routing", "--layer", "9", "--out", out.path])?.code == 2)
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("charts").path))
        }
    }

    @Test func aRefusedRunKeepsAFolderThatExisted() throws {
        try withTemporaryDirectory("messages") { folder in
            #expect(failure(["chart", "routing", "--layer", "9", "--out", folder.path])?.code == 2)
            #expect(FileManager.default.fileExists(atPath: folder.path))
        }
    }
}

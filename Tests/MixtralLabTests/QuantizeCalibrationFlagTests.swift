import Checkpoints
import Foundation
import Testing
import TestSupport
@testable import mixtral_lab

/// `quantize --calibration-text/--calibration-tokens`: every unusable value is one message naming the flag,
/// exit 2, before the output folder is made; `info` shows the calibration a written checkpoint records.
struct QuantizeCalibrationFlagTests {
    static let scratch = try! TemporaryDirectory.untilExit("quantize-calibration")

    @Test func unusableCalibrationValuesAreRefusedNamingTheFlag() throws {
        let empty = Self.scratch.appendingPathComponent("empty.txt"), short = Self.scratch.appendingPathComponent("short.txt")
        try Data().write(to: empty)
        try Data("to be".utf8).write(to: short)
        let output = Self.scratch.appendingPathComponent("never-made")
        let cases: [([String], String)] = [
            (["--calibration-tokens", "0"], "--calibration-tokens 0: at least 1"),
            (["--calibration-tokens", "-5"], "--calibration-tokens -5: at least 1"),
            (["--calibration-text", Self.scratch.appendingPathComponent("missing.txt").path], "missing.txt: does not exist"),
            (["--calibration-text", Self.scratch.path], "is a folder"),
            (["--calibration-text", empty.path], "empty.txt: holds no text"),
            (["--calibration-text", short.path], "short.txt: has 2 tokens, fewer than the 4096 --calibration-tokens asks for"),
            (["--calibration-tokens", "10000000"], "fewer than the 10000000 --calibration-tokens asks for"),
        ]
        for (flags, expected) in cases {
            let result = failure(["quantize", "--precision", "experts=gptq4", "--output", output.path] + flags)
            #expect(result?.code == 2, "\(flags)")
            #expect(result?.message.contains(expected) == true, "\(flags): \(result?.message ?? "no error")")
        }
        let other = failure(["quantize", "--precision", "q4", "--output", output.path, "--calibration-tokens", "64"])
        #expect(other?.code == 2 && other?.message.contains("--calibration-tokens applies only to calibrated experts") == true)
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func infoShowsTheRecordedCalibration() throws {
        let folder = Self.scratch.appendingPathComponent("gptq4")
        #expect(failure(["quantize", "--precision", "experts=gptq4", "--calibration-tokens", "64", "--output", folder.path, "--force"]) == nil)
        let command = try #require(try MixtralLab.parseAsRoot(["info", "--model", folder.path]) as? Info)
        var lines: [String] = []
        try command.run(printing: { lines.append($0) })
        let line = try #require(lines.first { $0.hasPrefix("calibration") })
        #expect(line.contains("experts gptq4 on the last 64 tokens of ") && line.contains("heldout.txt") && line.contains("sha256 28748c258b214fd9"), "\(line)")
        #expect(failure(["quantize", "--precision", "experts=gptq4", "--calibration-tokens", "64", "--output", folder.path])?.message.contains("--force") == true)
    }
}

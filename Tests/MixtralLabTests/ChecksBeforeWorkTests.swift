import Foundation
import Testing
import TestSupport

/// Output paths and flag values are checked before any work: a refused run prints no table first.
struct ChecksBeforeWorkTests {
    let scratch = try! TemporaryDirectory("checks-before-work")

    /// The reviewer's `paper table1 --charts DIR` with the chart already there computed for 33 s, printed
    /// the table, then refused.
    @Test func paperTable1RefusesAnExistingChartBeforeMeasuring() throws {
        let folder = try scratch.newFolder()
        let chart = folder.appendingPathComponent("perplexity-vs-size.png")
        try Data("earlier".utf8).write(to: chart)
        var result: (code: Int32, message: String)?
        let output = try standardOutput { result = failure(["paper", "table1", "--charts", folder.path, "--heldout-tokens", "2550"]) }
        #expect(result?.code == 2)
        #expect(result?.message == "\(chart.path) already exists; pass --force to replace it")
        #expect(!output.contains("Table 1 of"), "\(output)")
        #expect(try Data(contentsOf: chart) == Data("earlier".utf8))
    }

    /// Fewer held-out tokens than eight full windows (lesson 10's count) are refused, naming the smallest value
    /// that gives intervals (review 9, F2; the default model's windows hold 255 tokens after <s>).
    @Test(arguments: [(10, "0 full held-out windows"), (256, "1 full held-out window"), (2039, "7 full held-out windows")])
    func paperTable1RefusesTooFewHeldOutTokensForIntervals(tokens: Int, windows: String) {
        let result = failure(["paper", "table1", "--heldout-tokens", "\(tokens)"])
        #expect(result?.code == 2)
        #expect(result?.message == "--heldout-tokens \(tokens) gives \(windows); the 95% t intervals over windows need at least 8: give at least 2040")
    }

    /// A policy the profile cannot run is refused before trace opens its files, so the folder stays
    /// usable for the corrected run; the message names the policy asked for (`cheaper` was reported as
    /// `cpu-compute`).
    @Test(arguments: ["cpu-compute", "cheaper"])
    func traceRefusesAHostPolicyWithoutAHostCPUBeforeWriting(policy: String) throws {
        let folder = scratch.url.appendingPathComponent("trace-\(policy)")
        let result = failure(["trace", "--policy", policy, "--hardware", "laptop-16gb-nvme", "--max-tokens", "2", "--out", folder.path])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--policy \(policy): hardware profile laptop-16gb-nvme has no host CPU") == true, "\(String(describing: result))")
        #expect(!FileManager.default.fileExists(atPath: folder.path))
        #expect(failure(["trace", "--policy", "lru", "--max-tokens", "2", "--out", folder.path]) == nil)
    }

    /// `trace --force` replaces an earlier trace: the files the earlier run listed in its run manifest (here
    /// the other mode's sweep.json and its chart) are removed. The user's files stay — one written before
    /// the earlier run, and one whose modification time lies in the future (a list made by modification
    /// time took files edited during a run).
    @Test func traceForceLeavesNoFileOfTheEarlierRun() throws {
        let folder = try scratch.newFolder()
        try Data("mine".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        #expect(failure(["trace", "--sweep", "--max-tokens", "2", "--out", folder.path, "--charts", folder.path, "--force"]) == nil)
        let edited = folder.appendingPathComponent("edited.txt")
        try Data("mine".utf8).write(to: edited)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(3600)], ofItemAtPath: edited.path)
        let manifest = folder.appendingPathComponent(".mixtral-lab-run")
        #expect(try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n").dropFirst().sorted()
                == ["hit-rate.png", "sweep.json", "transfers.png"])
        #expect(failure(["trace", "--policy", "lru", "--max-tokens", "2", "--out", folder.path, "--force"]) == nil)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(files == [".mixtral-lab-run", "edited.txt", "notes.txt", "summary.json", "trace.csv", "trace.jsonl", "trace.perfetto.json"])
    }

    /// `--mmap-experts` on the default model (BF16 experts) names the flag and the stored type, not an
    /// "expert store" the user never made.
    @Test func mmapExpertsNamesTheStoredType() {
        let result = failure(["generate", "--max-tokens", "1", "--mmap-experts"])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--mmap-experts: the experts of ") == true && result?.message.contains(" are not all stored as F32, Q8_0 or Q4_0 tensors of one layout (layer 0's first is BF16)") == true,
                "\(String(describing: result))")
    }

    /// `hardware probe --out` into a missing folder is refused before the minute of probing (after it, the
    /// write failed naming the internal `.partial` file).
    @Test func hardwareProbeRefusesAMissingFolderBeforeProbing() {
        let out = scratch.url.appendingPathComponent("no-such-folder/profile.json")
        let result = failure(["hardware", "probe", "--out", out.path])
        #expect(result?.code == 2)
        #expect(result?.message == "--out \(out.path): \(out.deletingLastPathComponent().path): no such folder; create it first")
    }

    @Test func planRefusesAChartsPathThatIsAFileBeforePrinting() throws {
        let file = scratch.url.appendingPathComponent("existing.txt")
        try Data("notes".utf8).write(to: file)
        var result: (code: Int32, message: String)?
        let output = try standardOutput { result = failure(["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--charts", file.path]) }
        #expect(result?.code == 2)
        #expect(result?.message == "--charts \(file.path): is a file, not a folder")
        #expect(!output.contains("precision mixes"), "\(output)")
    }

    @Test func planRefusesAnExistingChartBeforePrinting() throws {
        let folder = try scratch.newFolder()
        let chart = folder.appendingPathComponent("memory-plan.png")
        try Data("earlier".utf8).write(to: chart)
        var result: (code: Int32, message: String)?
        let output = try standardOutput { result = failure(["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--charts", folder.path]) }
        #expect(result?.code == 2)
        #expect(result?.message == "\(chart.path) already exists; pass --force to replace it")
        #expect(!output.contains("precision mixes"), "\(output)")
        #expect(failure(["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--charts", folder.path, "--force"]) == nil)
    }

    /// A context past the model's positions overflowed the table's cell ("99999999999 pos23841.86 TiB").
    @Test func planBoundsTheContextByTheModelsPositions() {
        let result = failure(["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--context", "99999999999"])
        #expect(result?.code == 2)
        #expect(result?.message == "--context 99999999999: mixtral-8x7b has 32768 positions (max_position_embeddings); give 1…32768")
        #expect(failure(["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--context", "32768"]) == nil)
    }
}

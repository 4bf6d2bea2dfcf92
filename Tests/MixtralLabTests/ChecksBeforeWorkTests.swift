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
        let output = try standardOutput { result = failure(["paper", "table1", "--charts", folder.path, "--heldout-tokens", "256"]) }
        #expect(result?.code == 2)
        #expect(result?.message == "\(chart.path) already exists; pass --force to replace it")
        #expect(!output.contains("Table 1 of"), "\(output)")
        #expect(try Data(contentsOf: chart) == Data("earlier".utf8))
    }

    /// Fewer held-out tokens than two windows leave the bootstrap nothing to resample: refused, naming
    /// the smallest value that gives intervals (the default model's windows hold 255 tokens after <s>).
    @Test(arguments: [10, 64, 255])
    func paperTable1RefusesTooFewHeldOutTokensForIntervals(tokens: Int) {
        let result = failure(["paper", "table1", "--heldout-tokens", "\(tokens)"])
        #expect(result?.code == 2)
        #expect(result?.message == "--heldout-tokens \(tokens) gives 1 held-out window; the 95% intervals resample windows and need at least two: give at least 256")
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

import Testing
import Foundation
import Checkpoints
import Offloading
import Quantization
@testable import Reports
import TestSupport

/// `paper table2` on the default model: every machine × expert precision × algorithm, in the orders the
/// algorithms' definitions force.
struct PaperTable2Tests {
    @Test func theAblationsOrderAsTheirDefinitionsForce() throws {
        let scratch = try TemporaryDirectory("paper-table2")
        let directory = try DefaultModel.locate()
        let lab = LabContext(checkpoint: try Checkpoint(directory: directory),
                             tokenizer: try Tokenizer(contentsOf: directory.appendingPathComponent("tokenizer.json")),
                             outputDirectory: scratch.url, basePrecision: PrecisionSpec(uniform: .fp32), commandLine: "test")
        let table = try PaperTable2.measure(in: lab, promptTokens: 16, decodeTokens: 24)
        #expect(table.rows.count == PaperTable2.machines.count * PaperTable2.expertPrecisions.count * PaperTable2.Algorithm.allCases.count)
        for (hardware, slots) in PaperTable2.machines {
            for experts in PaperTable2.expertPrecisions {
                func speed(_ a: PaperTable2.Algorithm) -> Double { table.tokensPerSecond(machine: hardware.name, experts: experts, a)! }
                // the same routing with slots only adds hits; copying 8 experts per layer is worse than copying the used ones
                #expect(speed(.noPrefetch) >= speed(.noCache), "\(hardware.name) \(experts)")
                #expect(speed(.noCache) > speed(.naive), "\(hardware.name) \(experts)")
                #expect(table.rows.allSatisfy { $0.tokensPerSecond > 0 && $0.tokensPerSecond.isFinite })
                let full = table.rows.first { $0.machine == hardware.name && $0.experts == experts.rawValue && $0.algorithm == .full }!
                #expect(full.slots == slots && full.usefulPrefetches != nil)
            }
            // 2-bit experts move fewer bytes than 3-bit ones
            #expect(table.tokensPerSecond(machine: hardware.name, experts: .hqq2, .noCache)!
                    > table.tokensPerSecond(machine: hardware.name, experts: .hqq3, .noCache)!)
        }
        #expect(table.text.contains("colab-t4") && table.text.contains("cpu-compute") && table.text.contains("cheaper"))
        // the paper's figure beside each of its four rows, none beside the baselines it has not
        for row in table.rows {
            let expected = row.algorithm.paperRow.flatMap { PaperFigures.tokensPerSecond(experts: row.experts, machine: row.machine, $0) }
            #expect(row.paperTokensPerSecond == expected && (expected != nil) == (row.algorithm.paperRow != nil))
        }
        // every row more than 1.5× off the paper has its explanation, naming it
        let off = table.rows.filter { $0.ratio.map { $0 > PaperTable2.explainedRatio || $0 < 1 / PaperTable2.explainedRatio } ?? false }
        #expect(!off.isEmpty)
        for row in off {
            #expect(table.explanations.contains { line in
                line.hasPrefix("\(row.machine), \(row.experts)") && line.contains(row.algorithm.rawValue) && line.contains("Assumption:")
            }, "\(row.machine) \(row.experts) \(row.algorithm)")
        }
        // cheaper takes the cheaper way per miss, so it is never slower than cpu-compute
        for row in table.rows where row.algorithm == .cheaper {
            let cpu = table.tokensPerSecond(machine: row.machine, experts: Precision(rawValue: row.experts)!, .cpuCompute)!
            #expect(row.tokensPerSecond >= cpu * (1 - 1e-9), "\(row.machine) \(row.experts)")
        }
    }
}

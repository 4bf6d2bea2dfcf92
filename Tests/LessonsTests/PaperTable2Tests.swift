import Testing
import Foundation
import Checkpoints
import Offloading
import Quantization
@testable import Lessons
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
        #expect(table.text.contains("colab-t4") && table.text.contains("cpu-compute"))
    }
}

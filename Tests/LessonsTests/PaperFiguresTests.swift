import Testing
import Foundation
@testable import Lessons
@testable import Reports

/// The paper's published figures as stored, the ratios derived from them, and the lessons that quote those
/// ratios in prose.
struct PaperFiguresTests {
    @Test func table1HasTheSixteenCellsAndEveryStepDownInBitsRaisesBothPerplexities() {
        let order = ["FP16", "4-bit", "3-bit", "2-bit"]
        #expect(PaperFigures.table1.count == 16)
        func cell(_ a: String, _ e: String) -> PaperFigures.Table1Cell { PaperFigures.table1.first { $0.attention == a && $0.experts == e }! }
        for fixed in order {
            for (lower, higher) in zip(order, order.dropFirst()) {
                #expect(cell(fixed, higher).wiki2 > cell(fixed, lower).wiki2 && cell(fixed, higher).c4 > cell(fixed, lower).c4)
                #expect(cell(higher, fixed).wiki2 > cell(lower, fixed).wiki2 && cell(higher, fixed).c4 > cell(lower, fixed).c4)
            }
        }
        #expect(PaperFigures.table1Cell(attention: "hqq4", experts: "hqq2")?.sizeGB == 17.54)
        #expect(PaperFigures.table1Cell(attention: "q4", experts: "q4") == nil)
    }

    @Test func table2GainsAreThePapersRanges() {
        #expect(PaperFigures.table2.values.allSatisfy { $0.count == 4 && $0.values.allSatisfy { $0.count == 4 } })
        let prefetch = PaperFigures.gainRange(.full, over: .noPrefetch)
        #expect(String(format: "%.2f–%.2f", prefetch.lowerBound, prefetch.upperBound) == "1.05–1.34")
        let cache = PaperFigures.gainRange(.noPrefetch, over: .noCache)
        #expect(String(format: "%.2f–%.2f", cache.lowerBound, cache.upperBound) == "1.27–1.38")
        // the oddity the output marks: 3-bit naive on the 3060 above that column's no-cache figure
        let odd = PaperFigures.table2Oddity
        #expect(PaperFigures.tokensPerSecond(experts: odd.experts, machine: odd.machine, .naive)!
                > PaperFigures.tokensPerSecond(experts: odd.experts, machine: odd.machine, .noCache)!)
    }

    @Test func lessonsQuotingThePapersGainsQuoteTheStoredFigures() throws {
        let cache = PaperFigures.gainRange(.noPrefetch, over: .noCache), prefetch = PaperFigures.gainRange(.full, over: .noPrefetch)
        let cacheText = String(format: "%.2f–%.2f×", cache.lowerBound, cache.upperBound)
        let prefetchText = String(format: "%.2f–%.2f×", prefetch.lowerBound, prefetch.upperBound)
        let library = try LessonLibrary()
        let five = try String(contentsOf: library.files.first { $0.lastPathComponent.hasPrefix("05-") }!, encoding: .utf8)
        let eight = try String(contentsOf: library.files.first { $0.lastPathComponent.hasPrefix("08-") }!, encoding: .utf8)
        #expect(five.contains(cacheText))
        #expect(eight.contains("(" + cacheText + ")") && eight.contains("(" + prefetchText + ")"))
        for (machine, figure) in [("rtx-3080-mobile", "2.655"), ("colab-t4", "2.092"), ("a100-80g", "3.061")] {
            #expect(String(format: "%.3f", PaperFigures.tokensPerSecond(experts: "hqq2", machine: machine, .full)!) == figure)
            #expect(eight.contains(figure), "\(machine)")
        }
    }
}

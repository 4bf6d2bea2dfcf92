import Testing
import Foundation
@testable import Lessons
import Reports

/// A result as lesson prose reads it, and the keys `lesson check` reads from its type.
@Suite struct ResultValuesTests {
    struct Sample: Codable {
        struct Entry: Codable {
            let snrDB: Double
            let bytes: Int
            enum CodingKeys: String, CodingKey { case snrDB = "snr_db", bytes }
        }
        let count: Int
        let ratio: Double
        let name: String
        let fits: Bool
        let missing: Double?
        let entries: [String: Entry]
        let list: [Int]
        let chartSecond: ChartFile
        let chartFirst: ChartFile
        enum CodingKeys: String, CodingKey {
            case count, ratio, name, fits, missing, entries, list, chartSecond = "chart_second", chartFirst = "chart_first"
        }
    }

    let sample = Sample(count: 3, ratio: 2.0, name: "q4", fits: true, missing: nil,
                        entries: ["q4": .init(snrDB: 19.5, bytes: 1024), "int8": .init(snrDB: 40.25, bytes: 2048)], list: [1, 2],
                        chartSecond: ChartFile(url: URL(fileURLWithPath: "/tmp/b.png"), caption: "B"),
                        chartFirst: ChartFile(url: URL(fileURLWithPath: "/tmp/a.png"), caption: "A"))

    @Test func keepsSwiftTypesAndChartsInFieldOrder() throws {
        let result = try ResultValues(sample)
        #expect(result.values["count"] as? Int == 3)
        #expect(result.values["ratio"] as? Double == 2.0)       // a Double stays a Double (3 significant digits in prose)
        #expect(result.values["name"] as? String == "q4" && result.values["fits"] as? Bool == true)
        #expect(result.values["missing"] == nil)                 // nil: no value, so a placeholder naming it fails when filled
        let entries = result.values["entries"] as? [String: Any]
        #expect((entries?["int8"] as? [String: Any])?["snr_db"] as? Double == 40.25)
        #expect((entries?["q4"] as? [String: Any])?["bytes"] as? Int == 1024)
        #expect(result.values["list"] as? [Int] == [1, 2])
        #expect(result.charts.map(\.path) == ["chart_second", "chart_first"])
        #expect(result.charts.map(\.file.caption) == ["B", "A"])
        #expect((result.values["chart_first"] as? ChartFile)?.markdown == "![A](a.png)")
    }

    @Test func keysComeFromTheTypeAndTheParameters() throws {
        let keys = try ResultKeys(of: Sample.self, variableKeys: ["entries": ["q4", "nf4"]])
        #expect(keys.keys(below: []) == ["chart_first", "chart_second", "count", "entries", "fits", "list", "missing", "name", "ratio"])
        #expect(keys.fills(["entries", "nf4", "snr_db"]) && keys.fills(["count"]) && keys.fills(["list"]) && keys.fills(["missing"]))
        #expect(!keys.fills(["entries", "int8", "snr_db"]))     // not among the keys the parameters name
        #expect(!keys.fills(["entries", "q4"]))                  // stops at an entry, not a value
        #expect(!keys.fills(["entries", "q4", "snr"]))
        #expect(!keys.fills(["count", "x"]))
        #expect(keys.keys(below: ["entries", "q4"]) == ["bytes", "snr_db"])
    }
}

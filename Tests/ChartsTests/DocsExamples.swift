import Charts
import Foundation
import Testing

/// Writes one example of each chart kind to docs/charts/ when MIXTRAL_LAB_WRITE_DOCS=1:
/// `MIXTRAL_LAB_WRITE_DOCS=1 ./scripts/test.sh --filter writeDocsExamples`.
@Test(.enabled(if: ProcessInfo.processInfo.environment["MIXTRAL_LAB_WRITE_DOCS"] == "1"))
func writeDocsExamples() throws {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let directory = repository.appendingPathComponent("docs/charts")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for name in ExampleCharts.names {
        let url = directory.appendingPathComponent("\(name).png")
        try writePNG(ExampleCharts.chart(named: name), to: url, overwrite: true)
        let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int ?? 0
        #expect(size < 200_000, "\(url.path) is \(size) bytes")
        print("wrote \(url.path) (\(size) bytes)")
    }
}

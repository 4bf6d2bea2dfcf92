import Foundation

/// A chart written to an output folder. In an experiment's result it is a field whose coding key is its
/// placeholder (`chart_block_levels` → `{{ b.chart_block_levels }}`); a lesson shows it as
/// `![caption](file.png)`.
public struct ChartFile: Codable, Sendable {
    public let url: URL
    /// Alt text / caption in the report.
    public let caption: String

    public init(url: URL, caption: String) {
        self.url = url
        self.caption = caption
    }

    /// The Markdown image that places it in a report next to its file.
    public var markdown: String { "![\(caption)](\(url.lastPathComponent))" }
}

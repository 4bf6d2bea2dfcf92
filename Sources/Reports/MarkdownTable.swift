/// A Markdown table with aligned columns, readable both in the terminal and in report.md.
public struct MarkdownTable: CustomStringConvertible {
    public let headers: [String]
    public var rows: [[String]]

    public init(_ headers: [String], rows: [[String]] = []) {
        self.headers = headers
        self.rows = rows
    }

    public var description: String {
        let widths = headers.indices.map { c in ([headers[c]] + rows.map { c < $0.count ? $0[c] : "" }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            "| " + headers.indices.map { c in
                let cell = c < cells.count ? cells[c] : ""
                return cell + String(repeating: " ", count: widths[c] - cell.count)
            }.joined(separator: " | ") + " |"
        }
        let rule = "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|"
        return ([line(headers), rule] + rows.map(line)).joined(separator: "\n")
    }
}

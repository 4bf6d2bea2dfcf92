/// `text` padded with spaces to `width` columns (left-aligned, or right-aligned).
func padColumn(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}

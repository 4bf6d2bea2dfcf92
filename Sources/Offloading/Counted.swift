/// A count with its noun for messages and reports: "1 expert", "2 experts", "0 experts".
/// - Parameter plural: the plural when it is not `singular` + "s" ("misses").
public func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
}

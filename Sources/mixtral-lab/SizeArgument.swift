import Offloading

/// A size given on the command line (`--cache-bytes 2GiB`, `--ram-budget 6GiB`), parsed once when the
/// arguments are (`@Option(transform: SizeArgument.parser(flag:))`), its spelling kept for messages and reports.
struct SizeArgument: CustomStringConvertible {
    let bytes: Int
    /// As the user wrote it.
    let text: String

    /// A default value, given as the user would write it.
    /// - Precondition: `text` parses (`ByteSize.parse`).
    init(_ text: String) {
        self.init(bytes: try! ByteSize.parse(text, flag: "default"), text: text)
    }

    private init(bytes: Int, text: String) {
        self.bytes = bytes
        self.text = text
    }

    var description: String { text }

    /// The option's transform: `ByteSize.parse`, whose error names the flag and the value.
    static func parser(flag: String) -> @Sendable (String) throws -> SizeArgument {
        { text in SizeArgument(bytes: try ByteSize.parse(text, flag: flag), text: text) }
    }
}

/// Text stored in a chart's PNG file. Title, Description, Software and Source are keywords defined by the
/// PNG specification (§11.3.4.2); Command, Model and Precision are mixtral-lab's own and are written only
/// when given.
///
/// Each text is written as a tEXt chunk when it is representable in Latin-1 (what tEXt requires), otherwise
/// as an uncompressed iTXt chunk in UTF-8.
public struct PNGMetadata: Sendable, Equatable {
    /// Drawn as the chart's title and stored under "Title".
    public var title: String
    /// What the chart shows, in a sentence or two ("Description").
    public var description: String
    /// Where the data came from: a file, a model directory, or "example data" ("Source").
    public var source: String
    /// The command line that made the chart ("Command").
    public var command: String?
    /// The model name or directory ("Model").
    public var model: String?
    /// The precision or precisions shown, e.g. "q4_0, nf4" ("Precision").
    public var precision: String?

    /// Stored under "Software".
    public static let software = "mixtral-lab"

    public init(title: String, description: String, source: String,
                command: String? = nil, model: String? = nil, precision: String? = nil) {
        self.title = title
        self.description = description
        self.source = source
        self.command = command
        self.model = model
        self.precision = precision
    }

    /// The (keyword, text) pairs in the order they are written.
    public var textChunks: [(keyword: String, text: String)] {
        var chunks: [(keyword: String, text: String)] = [
            ("Title", title), ("Description", description), ("Software", Self.software), ("Source", source),
        ]
        if let command { chunks.append(("Command", command)) }
        if let model { chunks.append(("Model", model)) }
        if let precision { chunks.append(("Precision", precision)) }
        return chunks
    }
}

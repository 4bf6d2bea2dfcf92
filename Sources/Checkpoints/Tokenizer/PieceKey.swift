/// A vocabulary piece compared and hashed by its UTF-8 bytes. Swift's `String` equality follows
/// canonical equivalence ("a\u{301}" == "\u{E1}"), while tokenizers (Rust strings, compared
/// bytewise) tells them apart: with `ignore_merges`, the word "a\u{301}" must not find the piece "á".
struct PieceKey: Hashable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: PieceKey, rhs: PieceKey) -> Bool { lhs.text.utf8.elementsEqual(rhs.text.utf8) }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

import Yams

/// The YAML of a lesson file (its front matter and its lab blocks), read so that no text can crash or stall
/// the reader: the text is composed into Yams' node tree first, and only a tree whose every mapping key is
/// a scalar, with at most `nodeLimit` nodes once aliases are expanded, is turned into Swift values.
///
/// Why: Yams' `load` force-unwraps each mapping key as a string, so a sequence or mapping used as a key
/// (`? [a, b]\n: 1`, `{[1]: 2}`) crashed `lesson check` (found by `scripts/fuzz.sh lesson`); and an alias
/// refers to its anchor's whole subtree, so a few nested aliases ("billion laughs") expand to more nodes
/// than the values could be built from in reasonable time.
enum LessonYAML {
    /// Nodes a lesson's YAML may hold, counting an alias as a copy of its anchor's subtree. The largest
    /// shipped lab block has under 50.
    static let nodeLimit = 10_000

    /// A reason the text is refused ("has a mapping key that is a sequence; …"), to follow the name of
    /// what was read ("front matter", "lab block"), with the 1-based line within the YAML text where the
    /// problem is, when it is known.
    struct Problem: Error {
        let line: Int?
        let reason: String
    }

    /// The Swift value of `text`: `[String: Any]`, `[Any]`, a scalar (`String`, `Int`, `Double`, `Bool`,
    /// …, as Yams' default constructor makes them), or nil for an empty document.
    /// - Throws: `Problem` for text that is not valid YAML, a mapping key that is not a scalar, or more
    ///   than `nodeLimit` nodes.
    static func value(of text: String) throws -> Any? {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw Problem(line: nil, reason: "is not valid YAML: \(error)") }
        guard let root else { return nil }
        var nodes = 0
        try check(root, nodes: &nodes)
        return Constructor.default.any(from: root)
    }

    /// Walks `node`'s tree depth first, counting nodes, and refuses a non-scalar mapping key or an alias
    /// left unresolved (`Constructor.any` would stop the process on one).
    private static func check(_ node: Node, nodes: inout Int) throws {
        nodes += 1
        if nodes > nodeLimit {
            throw Problem(line: nil, reason: "has more than \(nodeLimit) values (counting each alias as a copy of what it names)")
        }
        switch node {
        case .scalar:
            return
        case .alias:
            throw Problem(line: node.mark.map { $0.line }, reason: "has an alias that names nothing")
        case .sequence(let sequence):
            for element in sequence { try check(element, nodes: &nodes) }
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard case .scalar = key else {
                    throw Problem(line: key.mark.map { $0.line },
                                  reason: "has a mapping key that is a \(key.isMapping ? "mapping" : "sequence"); keys must be plain text or numbers")
                }
                try check(value, nodes: &nodes)
            }
        }
    }
}

private extension Node {
    var isMapping: Bool { if case .mapping = self { return true } else { return false } }
}

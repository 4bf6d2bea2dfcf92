import Foundation
import Reports

/// The placeholders an experiment's result type can fill, read from the type itself: every coding key of
/// its structs, nested, down to the values prose prints (numbers, text, charts, lists). A `[String: T]`
/// field's keys are the data's, so the experiment names them from its parameters (`variableKeys`, e.g.
/// one entry per precision) and `lesson check` stays exact.
struct ResultKeys: Equatable {
    /// Key → the keys below it; empty for a value prose prints.
    let children: [String: ResultKeys]

    /// The keys of `Result`, with `variableKeys[path]` as the keys of the dictionary at `path`
    /// (dot-separated coding keys, e.g. `"precisions"`).
    init<Result: Decodable>(of type: Result.Type, variableKeys: [String: [String]]) throws {
        let tree = KeyTree()
        _ = try Result(from: KeyReader(codingPath: [], tree: tree, variableKeys: variableKeys))
        self.init(tree)
    }

    private init(_ tree: KeyTree) {
        children = tree.children.mapValues(ResultKeys.init)
    }

    /// Whether `keys` (a placeholder's path below the lab block's name) ends at a value prose prints.
    func fills(_ keys: [String]) -> Bool {
        guard let first = keys.first else { return children.isEmpty }
        return children[first]?.fills(Array(keys.dropFirst())) ?? false
    }

    /// The keys directly below `keys` (for messages), or nil when `keys` names nothing.
    func keys(below keys: [String]) -> [String]? {
        guard let first = keys.first else { return children.keys.sorted() }
        return children[first]?.keys(below: Array(keys.dropFirst()))
    }
}

/// The keys read so far.
private final class KeyTree {
    var children: [String: KeyTree] = [:]
    func child(_ key: String) -> KeyTree {
        if let tree = children[key] { return tree }
        let tree = KeyTree()
        children[key] = tree
        return tree
    }
}

/// A decoder that produces no data: it answers every request with a stand-in value and notes each key
/// asked for, which is how a `Decodable` type's synthesized `init(from:)` spells out its coding keys.
private struct KeyReader: Decoder {
    let codingPath: [CodingKey]
    let tree: KeyTree
    let variableKeys: [String: [String]]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// A stand-in for a value prose prints, or nil when `T` has keys of its own to read.
    static func standIn<T>(_ type: T.Type) -> T? {
        switch type {
        case is String.Type: return "" as? T
        case is Int.Type: return 0 as? T
        case is Double.Type: return 0.0 as? T
        case is Float.Type: return Float(0) as? T
        case is Bool.Type: return false as? T
        case is ChartFile.Type: return ChartFile(url: URL(fileURLWithPath: "/"), caption: "") as? T
        default: return nil
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Keyed(reader: self))
    }
    func unkeyedContainer() throws -> UnkeyedDecodingContainer { Unkeyed(codingPath: codingPath) }
    func singleValueContainer() throws -> SingleValueDecodingContainer { Single(codingPath: codingPath) }

    private struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let reader: KeyReader
        var codingPath: [CodingKey] { reader.codingPath }
        /// A dictionary's keys: the ones the experiment names for this path.
        var allKeys: [Key] {
            (reader.variableKeys[codingPath.map(\.stringValue).joined(separator: ".")] ?? []).compactMap(Key.init(stringValue:))
        }
        func contains(_ key: Key) -> Bool { true }
        func decodeNil(forKey key: Key) throws -> Bool { false }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let tree = reader.tree.child(key.stringValue)
            if let value = KeyReader.standIn(type) { return value }
            return try T(from: KeyReader(codingPath: codingPath + [key], tree: tree, variableKeys: reader.variableKeys))
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            KeyedDecodingContainer(KeyReader.Keyed<NestedKey>(reader: KeyReader(codingPath: codingPath + [key], tree: reader.tree.child(key.stringValue),
                                                                             variableKeys: reader.variableKeys)))
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
            _ = reader.tree.child(key.stringValue)
            return Unkeyed(codingPath: codingPath + [key])
        }
        func superDecoder() throws -> Decoder { reader }
        func superDecoder(forKey key: Key) throws -> Decoder { reader }
    }

    /// A list is one value for prose (it prints whole): it reads as empty.
    private struct Unkeyed: UnkeyedDecodingContainer {
        let codingPath: [CodingKey]
        var count: Int? { 0 }
        var isAtEnd: Bool { true }
        var currentIndex: Int { 0 }
        mutating func decodeNil() throws -> Bool { true }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "a list reads as empty"))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "a list reads as empty"))
        }
        mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { self }
        mutating func superDecoder() throws -> Decoder {
            throw DecodingError.valueNotFound(Decoder.self, .init(codingPath: codingPath, debugDescription: "a list reads as empty"))
        }
    }

    private struct Single: SingleValueDecodingContainer {
        let codingPath: [CodingKey]
        func decodeNil() -> Bool { false }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            guard let value = KeyReader.standIn(type) else {
                throw DecodingError.typeMismatch(type, .init(codingPath: codingPath, debugDescription: "results hold numbers, text, lists, charts and structs"))
            }
            return value
        }
    }
}

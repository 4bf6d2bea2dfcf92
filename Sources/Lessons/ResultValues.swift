import Foundation
import Reports

/// An experiment's typed result as the values lesson prose reads: a dictionary per struct or `[String: T]`
/// (its coding keys are the placeholders' keys), arrays as arrays, numbers keeping their Swift type (an
/// `Int` prints as an integer, a `Double` with 3 significant digits), and every `ChartFile` kept as one
/// value and listed in `charts` in the order the result encodes them (its fields' order).
struct ResultValues {
    /// Top-level key → value.
    let values: [String: Any]
    /// Every chart of the result with its placeholder path below the result's name (`chart_block_levels`).
    let charts: [(path: String, file: ChartFile)]

    init(_ result: some Encodable) throws {
        let encoder = ValueEncoder(codingPath: [], charts: ChartList())
        try result.encode(to: encoder)
        guard let values = encoder.box.finished as? [String: Any] else {
            throw EncodingError.invalidValue(result, .init(codingPath: [], debugDescription: "an experiment's result must be a struct"))
        }
        self.values = values
        self.charts = encoder.charts.all
    }
}

/// Charts met while encoding, in order.
private final class ChartList {
    var all: [(path: String, file: ChartFile)] = []
}

/// Where one encoded value lands: a dictionary, an array or a single value, filled as the encoder goes.
private final class ValueBox {
    var value: Any?
    var finished: Any? {
        switch value {
        case let dictionary as [String: ValueBox]: return dictionary.compactMapValues(\.finished)
        case let array as [ValueBox]: return array.compactMap(\.finished)
        case let box as ValueBox: return box.finished
        default: return value
        }
    }
}

/// A value of the kinds lesson prose prints as they are; anything else is encoded further.
private func leaf(_ value: Any) -> Any? {
    switch value {
    case is String, is Int, is Double, is Bool, is ChartFile: return value
    case let number as Float: return Double(number)
    default: return nil
    }
}

private final class ValueEncoder: Encoder {
    let codingPath: [CodingKey]
    let userInfo: [CodingUserInfoKey: Any] = [:]
    let box = ValueBox()
    let charts: ChartList

    init(codingPath: [CodingKey], charts: ChartList) {
        self.codingPath = codingPath
        self.charts = charts
    }

    /// Encodes `value` at `path` into `box`.
    static func encode(_ value: some Encodable, at path: [CodingKey], into box: ValueBox, charts: ChartList) throws {
        if let chart = value as? ChartFile { charts.all.append((path.map(\.stringValue).joined(separator: "."), chart)) }
        if let plain = leaf(value) { box.value = plain; return }
        let encoder = ValueEncoder(codingPath: path, charts: charts)
        try value.encode(to: encoder)
        box.value = encoder.box
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if !(box.value is [String: ValueBox]) { box.value = [String: ValueBox]() }
        return KeyedEncodingContainer(Keyed<Key>(encoder: self))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if !(box.value is [ValueBox]) { box.value = [ValueBox]() }
        return Unkeyed(encoder: self)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { Single(encoder: self) }

    private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: ValueEncoder
        var codingPath: [CodingKey] { encoder.codingPath }

        private func slot(_ key: Key) -> ValueBox {
            var dictionary = encoder.box.value as! [String: ValueBox]
            let box = ValueBox()
            dictionary[key.stringValue] = box
            encoder.box.value = dictionary
            return box
        }

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try ValueEncoder.encode(value, at: codingPath + [key], into: slot(key), charts: encoder.charts)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let nested = ValueEncoder(codingPath: codingPath + [key], charts: encoder.charts)
            slot(key).value = nested.box
            return nested.container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            let nested = ValueEncoder(codingPath: codingPath + [key], charts: encoder.charts)
            slot(key).value = nested.box
            return nested.unkeyedContainer()
        }
        mutating func superEncoder() -> Encoder { encoder }
        mutating func superEncoder(forKey key: Key) -> Encoder { encoder }
    }

    private struct Unkeyed: UnkeyedEncodingContainer {
        let encoder: ValueEncoder
        var codingPath: [CodingKey] { encoder.codingPath }
        var count: Int { (encoder.box.value as! [ValueBox]).count }

        private func slot() -> ValueBox {
            let box = ValueBox()
            encoder.box.value = (encoder.box.value as! [ValueBox]) + [box]
            return box
        }

        mutating func encodeNil() throws {}
        mutating func encode<T: Encodable>(_ value: T) throws {
            try ValueEncoder.encode(value, at: codingPath, into: slot(), charts: encoder.charts)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let nested = ValueEncoder(codingPath: codingPath, charts: encoder.charts)
            slot().value = nested.box
            return nested.container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
            let nested = ValueEncoder(codingPath: codingPath, charts: encoder.charts)
            slot().value = nested.box
            return nested.unkeyedContainer()
        }
        mutating func superEncoder() -> Encoder { encoder }
    }

    private struct Single: SingleValueEncodingContainer {
        let encoder: ValueEncoder
        var codingPath: [CodingKey] { encoder.codingPath }
        mutating func encodeNil() throws {}
        mutating func encode<T: Encodable>(_ value: T) throws {
            try ValueEncoder.encode(value, at: codingPath, into: encoder.box, charts: encoder.charts)
        }
    }
}

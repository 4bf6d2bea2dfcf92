import Foundation

/// A JSON object from `tokenizer.json` that remembers where it sits (`keyPath`) so that every
/// accessor throws a `TokenizerError` naming the file and the key.
struct TokenizerJSON {
    let fields: [String: Any]
    let keyPath: String
    let source: String

    /// Parses `data` as a JSON object. Throws `TokenizerError.notJSON`.
    init(parsing data: Data, source: String) throws {
        let root: Any
        do {
            root = try Self.jsonObject(from: data)
        } catch {
            throw TokenizerError.notJSON(source: source, reason: "\(error)")
        }
        guard let fields = root as? [String: Any] else {
            throw TokenizerError.notJSON(source: source, reason: "top level is \(Self.kind(of: root)), not an object")
        }
        self.init(fields: fields, keyPath: "", source: source)
    }

    /// `JSONSerialization.jsonObject(with:)`, except that a U+FEFF written raw inside a string
    /// survives: swift-corelibs-foundation drops those bytes (EF BB BF) from strings, and Mixtral's
    /// vocabulary has the piece "\u{FEFF}" (id 31759). Each one is rewritten as the escape `\ufeff`,
    /// which parses to the same character; a byte-order mark before the JSON value is dropped.
    static func jsonObject(from data: Data) throws -> Any {
        let bytes = [UInt8](data)
        var escaped: [UInt8] = []
        escaped.reserveCapacity(bytes.count)
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while index < bytes.count {
            if bytes[index] == 0xEF && index + 2 < bytes.count && bytes[index + 1] == 0xBB && bytes[index + 2] == 0xBF {
                escaped.append(contentsOf: Array("\\ufeff".utf8))
                index += 3
            } else {
                escaped.append(bytes[index])
                index += 1
            }
        }
        return try JSONSerialization.jsonObject(with: Data(escaped))
    }

    init(fields: [String: Any], keyPath: String, source: String) {
        self.fields = fields
        self.keyPath = keyPath
        self.source = source
    }

    func path(_ key: String) -> String { keyPath.isEmpty ? key : "\(keyPath).\(key)" }

    /// True when `key` is absent or JSON null.
    func isNull(_ key: String) -> Bool { fields[key].map(Self.isNullValue) ?? true }

    /// Whether a parsed value is JSON null. Compares the dynamic type: `value is NSNull` would
    /// first bridge a Swift array or dictionary to Foundation (a copy of the whole vocabulary).
    static func isNullValue(_ value: Any) -> Bool { type(of: value) is NSNull.Type }

    func invalid(_ key: String, _ problem: String) -> TokenizerError {
        .invalidValue(source: source, keyPath: path(key), problem: problem)
    }

    func unsupported(_ key: String, _ reason: String) -> TokenizerError {
        .unsupported(source: source, keyPath: path(key), reason: reason)
    }

    private func required(_ key: String) throws -> Any {
        guard let value = fields[key], !Self.isNullValue(value) else {
            throw TokenizerError.missingKey(source: source, keyPath: path(key))
        }
        return value
    }

    func string(_ key: String) throws -> String {
        let value = try required(key)
        guard let string = value as? String else { throw invalid(key, "expected a string, found \(Self.kind(of: value))") }
        return string
    }

    func optionalString(_ key: String) throws -> String? {
        isNull(key) ? nil : try string(key)
    }

    func int(_ key: String) throws -> Int {
        let value = try required(key)
        guard let number = value as? NSNumber, !Self.isBool(number), let int = Int(exactly: number.doubleValue) else {
            throw invalid(key, "expected an integer, found \(Self.kind(of: value))")
        }
        return int
    }

    func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        if isNull(key) { return defaultValue }
        let value = fields[key]!
        guard let number = value as? NSNumber, Self.isBool(number) else {
            throw invalid(key, "expected true or false, found \(Self.kind(of: value))")
        }
        return number.boolValue
    }

    func object(_ key: String) throws -> TokenizerJSON {
        let value = try required(key)
        guard let fields = value as? [String: Any] else { throw invalid(key, "expected an object, found \(Self.kind(of: value))") }
        return TokenizerJSON(fields: fields, keyPath: path(key), source: source)
    }

    func optionalObject(_ key: String) throws -> TokenizerJSON? {
        isNull(key) ? nil : try object(key)
    }

    func array(_ key: String) throws -> [Any] {
        let value = try required(key)
        guard let array = value as? [Any] else { throw invalid(key, "expected an array, found \(Self.kind(of: value))") }
        return array
    }

    /// The objects of array `key`, each with its own key path (`key[i]`).
    func objects(_ key: String) throws -> [TokenizerJSON] {
        try array(key).enumerated().map { index, element in
            guard let fields = element as? [String: Any] else {
                throw invalid("\(key)[\(index)]", "expected an object, found \(Self.kind(of: element))")
            }
            return TokenizerJSON(fields: fields, keyPath: path("\(key)[\(index)]"), source: source)
        }
    }

    /// A single Unicode scalar given as a one-character string (Metaspace `replacement`, Strip `content`).
    func scalar(_ key: String) throws -> Unicode.Scalar {
        let text = try string(key)
        guard text.unicodeScalars.count == 1, let scalar = text.unicodeScalars.first else {
            throw invalid(key, "expected a single character, found \"\(text)\"")
        }
        return scalar
    }

    static func isBool(_ number: NSNumber) -> Bool {
        // JSONSerialization returns true/false as a boolean NSNumber, whose objCType is "c";
        // JSON numbers come back with "i", "q" or "d".
        String(cString: number.objCType) == "c"
    }

    static func kind(of value: Any) -> String {
        switch value {
        case _ where isNullValue(value): return "null"
        case is String: return "a string"
        case let number as NSNumber: return isBool(number) ? "a boolean" : "a number"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        default: return "\(type(of: value))"
        }
    }
}

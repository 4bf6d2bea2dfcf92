/// A tokenizer.json `decoder`: turns the vocabulary pieces of decoded ids back into text
/// (tokenizers, `src/decoders/`). Each step maps a list of strings to a list of strings; the
/// result is their concatenation. Types: Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence.
indirect enum TokenDecoder {
    /// Every match of the pattern in each piece becomes `content` ("▁" → " ").
    case replace(TextPattern, content: String)
    /// Runs of `<0xNN>` pieces become the string their bytes spell in UTF-8; a run that is not
    /// valid UTF-8 becomes one U+FFFD per byte (tokenizers `decoders/byte_fallback.rs`).
    case byteFallback
    /// All pieces joined into one.
    case fuse
    /// Removes up to `start` leading and `stop` trailing `content` characters from each piece.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    /// `replacement` becomes a space, except in the first piece where it is dropped unless the
    /// prepend scheme is `never` (tokenizers `pre_tokenizers/metaspace.rs`, `impl Decoder`).
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)
    /// The decoders applied in order.
    case sequence([TokenDecoder])

    static let supportedTypes = ["Replace", "ByteFallback", "Fuse", "Strip", "Metaspace", "Sequence"]

    /// Reads one decoder object. Throws `TokenizerError.unknownType` for other types (ByteLevel,
    /// WordPiece, …) and errors of the fields.
    init(json: TokenizerJSON) throws {
        let type = try json.string("type")
        switch type {
        case "Replace":
            self = .replace(try TextPattern(json: json, key: "pattern"), content: try json.string("content"))
        case "ByteFallback":
            self = .byteFallback
        case "Fuse":
            self = .fuse
        case "Strip":
            let start = try json.int("start"), stop = try json.int("stop")
            guard start >= 0, stop >= 0 else { throw json.invalid("start", "start and stop must be ≥ 0") }
            self = .strip(content: try json.scalar("content"), start: start, stop: stop)
        case "Metaspace":
            self = .metaspace(replacement: try json.scalar("replacement"), prependScheme: try PrependScheme(json: json))
        case "Sequence":
            self = .sequence(try json.objects("decoders").map(TokenDecoder.init(json:)))
        default:
            throw TokenizerError.unknownType(source: json.source, keyPath: json.path("type"), type: type,
                                             supported: Self.supportedTypes)
        }
    }

    func decode(_ pieces: [String]) -> [String] {
        switch self {
        case let .replace(pattern, content):
            return pieces.map { pattern.replacingMatches(in: $0, with: content) }
        case .byteFallback:
            return Self.joinByteRuns(pieces)
        case .fuse:
            return [pieces.joined()]
        case let .strip(content, start, stop):
            return pieces.map { Self.strip($0, content: content, start: start, stop: stop) }
        case let .metaspace(replacement, prependScheme):
            return pieces.enumerated().map { index, piece in
                let dropReplacement = index == 0 && prependScheme != .never
                var scalars = String.UnicodeScalarView()
                for scalar in piece.unicodeScalars {
                    if scalar != replacement {
                        scalars.append(scalar)
                    } else if !dropReplacement {
                        scalars.append(" ")
                    }
                }
                return String(scalars)
            }
        case let .sequence(decoders):
            return decoders.reduce(pieces) { $1.decode($0) }
        }
    }

    /// The byte of a piece spelled `<0xNN>` (exactly six UTF-8 bytes, two hex digits), else nil.
    static func fallbackByte(_ piece: String) -> UInt8? {
        let utf8 = Array(piece.utf8)
        guard utf8.count == 6, utf8.starts(with: "<0x".utf8), utf8[5] == UInt8(ascii: ">"),
              let high = hexDigit(utf8[3]), let low = hexDigit(utf8[4]) else { return nil }
        return high << 4 | low
    }

    private static func hexDigit(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    private static func joinByteRuns(_ pieces: [String]) -> [String] {
        var result: [String] = []
        var bytes: [UInt8] = []
        func flushBytes() {
            guard !bytes.isEmpty else { return }
            if let text = String(validating: bytes, as: UTF8.self) {
                result.append(text)
            } else {
                result.append(contentsOf: repeatElement("\u{FFFD}", count: bytes.count))
            }
            bytes.removeAll()
        }
        for piece in pieces {
            if let byte = fallbackByte(piece) {
                bytes.append(byte)
            } else {
                flushBytes()
                result.append(piece)
            }
        }
        flushBytes()
        return result
    }

    /// tokenizers' Strip, except that where its stop cut would fall before its start cut (a piece of
    /// only `content` characters, where tokenizers panics) the result is empty.
    private static func strip(_ piece: String, content: Unicode.Scalar, start: Int, stop: Int) -> String {
        let scalars = Array(piece.unicodeScalars)
        var startCut = 0
        while startCut < min(start, scalars.count) && scalars[startCut] == content { startCut += 1 }
        var stopCut = scalars.count
        while scalars.count - stopCut < stop && stopCut > 0 && scalars[stopCut - 1] == content { stopCut -= 1 }
        guard startCut < stopCut else { return "" }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars[startCut..<stopCut])
        return String(result)
    }
}

import Foundation

/// The command line's arguments as the bytes the process received (`CommandLine.arguments` has already
/// replaced invalid UTF-8 with U+FFFD), without the program name.
func rawArguments() -> [[UInt8]] {
    (1..<Int(CommandLine.argc)).map { index in
        guard let argument = CommandLine.unsafeArgv[index] else { return [] }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(argument).assumingMemoryBound(to: UInt8.self),
                                         count: strlen(argument)))
    }
}

/// A message for the first argument that is not valid UTF-8, or nil: Swift's `String` would replace the
/// bad bytes with U+FFFD silently, so `--prompt` text would not be what the user gave, while `--text-file`
/// refuses such text. The message names the flag the argument belongs to (`--prompt X`, `--prompt=X`) or
/// its position, and the offset of the first bad byte.
func invalidUTF8Argument(_ arguments: [[UInt8]]) -> String? {
    for (index, bytes) in arguments.enumerated() {
        guard let offset = firstInvalidUTF8Offset(bytes) else { continue }
        let hex = String(format: "0x%02X", bytes[offset])
        if let equals = bytes.firstIndex(of: UInt8(ascii: "=")), bytes.starts(with: Array("--".utf8)), equals < offset {
            let flag = String(decoding: bytes[..<equals], as: UTF8.self)
            return "\(flag): is not UTF-8 text (byte \(hex) at offset \(offset - equals - 1))"
        }
        if index > 0, arguments[index - 1].starts(with: Array("-".utf8)), !arguments[index - 1].contains(UInt8(ascii: "=")),
           let flag = String(validating: arguments[index - 1], as: UTF8.self) {
            return "\(flag): is not UTF-8 text (byte \(hex) at offset \(offset))"
        }
        return "argument \(index + 1) is not UTF-8 text (byte \(hex) at offset \(offset))"
    }
    return nil
}

/// Offset of the first byte that does not belong to a well-formed UTF-8 sequence, or nil.
func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    var offset = 0
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar): offset += UTF8.width(scalar)
        case .emptyInput: return nil
        case .error: return offset
        }
    }
}

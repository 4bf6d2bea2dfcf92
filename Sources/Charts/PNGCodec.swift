import Foundation
import PNGWrite

/// An 8-bit RGBA image: `pixels` holds [height, width, 4] bytes, row-major, not premultiplied.
public struct RGBAImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 4, "RGBAImage: \(pixels.count) bytes for \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Decodes PNG bytes with libpng's simplified read API. Throws `ChartError.decodingFailed`.
    public init(png: Data) throws {
        var rgba: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0
        var height: UInt32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = png.withUnsafeBytes { bytes in
            pngwrite_decode_rgba(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count,
                                 &rgba, &width, &height, &message, message.count)
        }
        guard status == 0, let rgba else {
            throw ChartError.decodingFailed(message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { free(rgba) }
        self.init(width: Int(width), height: Int(height),
                  pixels: Array(UnsafeBufferPointer(start: rgba, count: Int(width) * Int(height) * 4)))
    }

    /// Encodes the image as PNG with `metadata`'s text chunks (no tIME chunk, zlib level 9), so the same
    /// pixels and metadata always give the same bytes. Throws `ChartError.encodingFailed`.
    public func pngData(metadata: PNGMetadata) throws -> Data {
        let chunks = metadata.textChunks.map { chunk -> (keyword: [CChar], text: [CChar], international: Int32) in
            let text = chunk.text.replacingOccurrences(of: "\0", with: "")
            if let latin1 = text.data(using: .isoLatin1) {
                return (Array(chunk.keyword.utf8CString), latin1.map { CChar(bitPattern: $0) } + [0], 0)
            }
            return (Array(chunk.keyword.utf8CString), Array(text.utf8CString), 1)
        }
        var out = pngwrite_buffer()
        var message = [CChar](repeating: 0, count: 256)
        let status: Int32 = withTextPointers(chunks) { texts in
            pixels.withUnsafeBufferPointer { rgba in
                pngwrite_encode_rgba(rgba.baseAddress, UInt32(width), UInt32(height), texts.baseAddress, Int32(texts.count),
                                     &out, &message, message.count)
            }
        }
        defer { pngwrite_buffer_free(&out) }
        guard status == 0, let bytes = out.bytes else {
            throw ChartError.encodingFailed(message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return Data(bytes: bytes, count: out.count)
    }
}

/// Calls `body` with `pngwrite_text` structs whose C strings stay alive for the call.
private func withTextPointers<R>(_ chunks: [(keyword: [CChar], text: [CChar], international: Int32)],
                                 _ body: (UnsafeBufferPointer<pngwrite_text>) -> R) -> R {
    var keywordPointers: [UnsafeMutablePointer<CChar>] = []
    var textPointers: [UnsafeMutablePointer<CChar>] = []
    defer {
        keywordPointers.forEach { $0.deallocate() }
        textPointers.forEach { $0.deallocate() }
    }
    func copy(_ string: [CChar]) -> UnsafeMutablePointer<CChar> {
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: string.count)
        pointer.initialize(from: string, count: string.count)
        return pointer
    }
    var texts: [pngwrite_text] = []
    for chunk in chunks {
        let keyword = copy(chunk.keyword)
        let text = copy(chunk.text)
        keywordPointers.append(keyword)
        textPointers.append(text)
        texts.append(pngwrite_text(keyword: keyword, text: text, international: chunk.international))
    }
    return texts.withUnsafeBufferPointer(body)
}

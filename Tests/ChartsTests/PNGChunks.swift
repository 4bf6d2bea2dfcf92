import Foundation

/// A minimal PNG chunk reader for the tests (PNG specification §5.3: length, type, data, CRC).
struct PNGChunk {
    let type: String
    let data: Data
}

enum PNGChunks {
    static let signature = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])

    /// The chunks of `png` in file order; empty when the signature is wrong or a chunk is cut short.
    static func read(_ png: Data) -> [PNGChunk] {
        let bytes = [UInt8](png)
        guard bytes.starts(with: signature) else { return [] }
        var chunks: [PNGChunk] = []
        var offset = signature.count
        while offset + 12 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            guard offset + 12 + length <= bytes.count else { return [] }
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            chunks.append(PNGChunk(type: type, data: Data(bytes[offset + 8..<offset + 8 + length])))
            offset += 12 + length
        }
        return chunks
    }

    /// IHDR width and height.
    static func size(_ png: Data) -> (width: Int, height: Int)? {
        guard let header = read(png).first, header.type == "IHDR", header.data.count >= 8 else { return nil }
        let b = [UInt8](header.data)
        return (b[0..<4].reduce(0) { $0 << 8 | Int($1) }, b[4..<8].reduce(0) { $0 << 8 | Int($1) })
    }

    /// keyword → text of every tEXt (Latin-1) and uncompressed iTXt (UTF-8) chunk, with the chunk type.
    static func texts(_ png: Data) -> [String: (type: String, text: String)] {
        var result: [String: (type: String, text: String)] = [:]
        for chunk in read(png) where chunk.type == "tEXt" || chunk.type == "iTXt" {
            let b = [UInt8](chunk.data)
            guard let zero = b.firstIndex(of: 0) else { continue }
            let keyword = String(decoding: b[..<zero], as: UTF8.self)
            if chunk.type == "tEXt" {
                result[keyword] = ("tEXt", String(data: Data(b[(zero + 1)...]), encoding: .isoLatin1) ?? "")
            } else {
                // keyword \0 compression-flag compression-method language \0 translated-keyword \0 text
                var rest = Array(b[(zero + 3)...])
                for _ in 0..<2 {
                    guard let end = rest.firstIndex(of: 0) else { break }
                    rest = Array(rest[(end + 1)...])
                }
                result[keyword] = ("iTXt", String(decoding: rest, as: UTF8.self))
            }
        }
        return result
    }
}

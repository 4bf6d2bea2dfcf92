import Foundation
import Testing
@testable import Checkpoints
import TestSupport

/// A GGUF cut short says how large its header says the file is, not where the first tensor that does not
/// fit ends (the reviewer's 3,382,240-byte file cut to 200,000 was said to promise 268,000 bytes).
struct GGUFTruncationSizeTests {
    @Test func aTruncatedFileReportsTheWholeSizeItsHeaderPromises() throws {
        let bytes = try [UInt8](Data(contentsOf: GGUFReaderTests.fixture))
        let whole = try GGUFFile(url: GGUFReaderTests.fixture)
        let firstTensorEnd = whole.tensors.map { $0.fileOffset + $0.byteCount }.min()!
        try withTemporaryDirectory("gguf-truncated") { folder in
            let url = folder.appendingPathComponent("cut.gguf")
            let length = firstTensorEnd + 1   // the first tensor fits, the others do not
            try Data(bytes[0..<length]).write(to: url)
            #expect(throws: CheckpointError.truncated(path: url.path, expectedBytes: bytes.count, actualBytes: length)) {
                try GGUFFile(url: url)
            }
        }
    }
}

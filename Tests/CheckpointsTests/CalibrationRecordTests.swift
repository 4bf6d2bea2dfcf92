import Testing
import Foundation
import Checkpoints
import Quantization

/// SHA-256 against FIPS 180-4's examples and a value `sha256sum` printed; `CalibrationRecord`'s JSON round
/// trip and its refusals.
struct CalibrationRecordTests {
    @Test func sha256MatchesTheStandardsVectors() {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // 1,000,000 × "a" (FIPS 180-4 example C.3): many blocks.
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // `printf 'to be, or not to be' | sha256sum`
        #expect(SHA256.hex(Array("to be, or not to be".utf8)) == "70f853318b2944e32f09839122d19d514080c6bba93f19877a2c2ab391c652b0")
    }

    let record = CalibrationRecord(method: .awq4, text: "models/x/heldout.txt", textSHA256: String(repeating: "ab", count: 32),
                                   textBytes: 10, tokens: 4096, windowTokens: 256, parameters: ["alpha_grid": "20 points in [0, 1)"])

    @Test func theRecordRoundTrips() throws {
        #expect(try CalibrationRecord(json: record.json, path: "f") == record)
        #expect(record.json.hasPrefix("{\"method\":\"awq4\",\"parameters\":{"))
    }

    @Test(arguments: ["", "[]", "{}", "not json",
                      #"{"method":"q4","text":"t","text_sha256":"abababababababababababababababababababababababababababababababab","text_bytes":1,"tokens":1,"window_tokens":1,"parameters":{}}"#,
                      #"{"method":"gptq4","text":"t","text_sha256":"AB","text_bytes":1,"tokens":1,"window_tokens":1,"parameters":{}}"#,
                      #"{"method":"gptq4","text":"t","text_sha256":"abababababababababababababababababababababababababababababababab","text_bytes":1,"tokens":0,"window_tokens":1,"parameters":{}}"#])
    func aBadRecordIsRefused(_ json: String) {
        #expect(throws: CheckpointError.self) { try CalibrationRecord(json: json, path: "f") }
    }
}

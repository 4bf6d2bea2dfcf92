import CCrypto

/// SHA-256 (FIPS 180-4) of a byte string, as lowercase hex — the content hash a checkpoint records for its
/// calibration text (`CalibrationRecord`). Computed by OpenSSL's libcrypto (`SHA256` one-shot, Debian's
/// libssl-dev); checked against the FIPS 180-4 examples and `sha256sum` in CalibrationRecordTests.
public enum SHA256 {
    /// The 64 hex digits of SHA-256(`bytes`).
    public static func hex<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let message = Array(bytes)
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        message.withUnsafeBufferPointer { m in
            digest.withUnsafeMutableBufferPointer { _ = CCrypto.SHA256(m.baseAddress, m.count, $0.baseAddress) }
        }
        let hexDigits = Array("0123456789abcdef")
        return String(digest.flatMap { [hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 0xF)]] })
    }
}

import Foundation
import Testing
import Offloading
import TestSupport

/// Sizes, hardware profiles and model shapes as users give them.
struct InputTests {
    /// This test's folder, removed when the test ends.
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("hardware-files") }

    @Test func sizesParseInSIAndIECUnits() throws {
        #expect(try ByteSize.parse("512MiB", flag: "--cache-bytes") == 512 << 20)
        #expect(try ByteSize.parse("2GiB", flag: "--cache-bytes") == 2 << 30)
        #expect(try ByteSize.parse("1.5GB", flag: "--cache-bytes") == 1_500_000_000)
        #expect(try ByteSize.parse("16gib", flag: "--ram") == 16 << 30)
        #expect(try ByteSize.parse("4096", flag: "--ram") == 4096)
        #expect(try ByteSize.parse("0", flag: "--vram") == 0)
        for bad in ["", "GiB", "2XB", "-1GiB", "infGB", "two", "1.5", "0.5", "1e3"] {
            #expect(throws: OffloadingError.invalidSize(bad, flag: "--ram")) { try ByteSize.parse(bad, flag: "--ram") }
        }
        // review9 F15: one bound, however the size is written, and a message that says so
        #expect(try ByteSize.parse(String(ByteSize.largest), flag: "--ram") == ByteSize.largest)
        #expect(try ByteSize.parse("1048576TiB", flag: "--ram") == ByteSize.largest)
        for huge in ["9223372036854775807", "99999999999999999999", "5000000000000000000", "1152921504606846977", "1e30GB", "5e18B", "1048577TiB"] {
            #expect(throws: OffloadingError.sizeTooLarge(huge, flag: "--ram", largest: 1 << 60)) { try ByteSize.parse(huge, flag: "--ram") }
        }
        #expect(OffloadingError.sizeTooLarge("9223372036854775807", flag: "--cache-bytes", largest: 1 << 60).description
                == "--cache-bytes 9223372036854775807: too large; a size is at most 1152921504606846976 bytes (1048576TiB)")
        // sizes are whole bytes: a fraction of a unit rounds down, but not to nothing
        #expect(try ByteSize.parse("1.3KiB", flag: "--ram") == 1331)
        #expect(try ByteSize.parse("0KiB", flag: "--ram") == 0)
        for tiny in ["0.0001KiB", "0.5B"] {
            #expect(throws: OffloadingError.sizeBelowOneByte(tiny, flag: "--cache-bytes")) { try ByteSize.parse(tiny, flag: "--cache-bytes") }
        }
        #expect(ByteSize.format(1536 << 20) == "1.50 GiB")
        #expect(ByteSize.format(512) == "512 B")
    }

    private func write(_ text: String) throws -> URL {
        let url = scratch.url.appendingPathComponent("\(UUID().uuidString).json")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func aHardwareFileRoundTrips() throws {
        let data = try JSONEncoder().encode(HardwareProfile.colabT4)
        let url = try write(String(decoding: data, as: UTF8.self))
        #expect(try HardwareProfile.named(url.path) == HardwareProfile.colabT4)
        #expect(try HardwareProfile.named("rtx-3060") == .rtx3060)
        #expect(HardwareProfile.builtInNames == ["colab-t4", "rtx-3060", "rtx-3080-mobile", "a100-80g", "laptop-16gb-nvme"])
    }

    /// The reviewer's profile with a link of 1e300 bytes/s and 1e300 µs printed estimates hundreds of digits long.
    @Test func implausibleRatesAndLatenciesAreRefused() throws {
        let base = #""name": "x", "fast_memory_bytes": 1, "slow_memory_bytes": 1, "compute_flops": 1e12, "memory_bandwidth": 1e9"#
        /// A profile of `base` plus `fields` is refused, naming `field` with `reason`.
        func expectRefused(_ fields: String, field: String, reason: String) throws {
            let file = try self.write("{\(base), \(fields)}")
            #expect(throws: OffloadingError.malformedHardwareFile(path: file.path, field: field, reason: reason)) {
                try HardwareProfile.named(file.path)
            }
        }
        try expectRefused(#""link_bandwidth": 1e300, "link_latency_us": 1"#, field: "link_bandwidth",
                          reason: "1e+300 is beyond any machine (at most 1e+18); rates are in bytes or FLOP per second")
        // review 9, F8: a link of 1e-300 bytes/s made every simulated time infinite
        try expectRefused(#""link_bandwidth": 1e-300, "link_latency_us": 1"#, field: "link_bandwidth",
                          reason: "1e-300 is below any machine (at least 1000.0); rates are in bytes or FLOP per second")
        try expectRefused(#""link_bandwidth": 1e9, "link_latency_us": 1, "decode_weights_per_second": {"fp32": 1e-300}"#,
                          field: "decode_weights_per_second.fp32", reason: "must be a number of weights per second from 1000.0 to 1e+18, got 1e-300")
        try expectRefused(#""link_bandwidth": 1e9, "link_latency_us": 1e300"#, field: "link_latency_us",
                          reason: "1e+300 µs is more than 10 s per read; the latency is in microseconds")
    }

    @Test func malformedHardwareFilesNameTheField() throws {
        let missing = try write(#"{"name": "x", "fast_memory_bytes": 1, "slow_memory_bytes": 1, "compute_flops": 1, "memory_bandwidth": 1, "link_latency_us": 1}"#)
        #expect(throws: OffloadingError.malformedHardwareFile(path: missing.path, field: "link_bandwidth", reason: "missing")) {
            try HardwareProfile.named(missing.path)
        }
        let wrongType = try write(#"{"name": "x", "fast_memory_bytes": "lots", "slow_memory_bytes": 1, "compute_flops": 1, "memory_bandwidth": 1, "link_bandwidth": 1, "link_latency_us": 1}"#)
        #expect(throws: OffloadingError.malformedHardwareFile(path: wrongType.path, field: "fast_memory_bytes", reason: "expected a whole number")) {
            try HardwareProfile.named(wrongType.path)
        }
        // the reasons are in JSON's words, not Swift's type names ("expected Double", "Dictionary<String, Any>")
        let textForNumber = try write(#"{"name": "x", "fast_memory_bytes": 1, "slow_memory_bytes": 1, "compute_flops": "fast", "memory_bandwidth": 1, "link_bandwidth": 1, "link_latency_us": 1}"#)
        #expect(throws: OffloadingError.malformedHardwareFile(path: textForNumber.path, field: "compute_flops", reason: "expected a number")) {
            try HardwareProfile.named(textForNumber.path)
        }
        let array = try write("[1,2]")
        #expect(throws: OffloadingError.malformedHardwareFile(path: array.path, field: nil, reason: #"expected one JSON object ({"name": …, …}) holding the profile"#)) {
            try HardwareProfile.named(array.path)
        }
        let rates = try write(#"{"name": "x", "fast_memory_bytes": 1, "slow_memory_bytes": 1, "compute_flops": 1, "memory_bandwidth": 1, "link_bandwidth": 1, "link_latency_us": 1, "decode_weights_per_second": 5}"#)
        #expect(throws: OffloadingError.malformedHardwareFile(path: rates.path, field: "decode_weights_per_second", reason: "expected a JSON object")) {
            try HardwareProfile.named(rates.path)
        }
        let zero = try write(#"{"name": "x", "fast_memory_bytes": 1, "slow_memory_bytes": 1, "compute_flops": 1, "memory_bandwidth": 1, "link_bandwidth": 0, "link_latency_us": 1}"#)
        #expect(throws: OffloadingError.malformedHardwareFile(path: zero.path, field: "link_bandwidth", reason: "must be a positive number, got 0.0")) {
            try HardwareProfile.named(zero.path)
        }
        let notJSON = try write("name: x")
        #expect(throws: OffloadingError.malformedHardwareFile(path: notJSON.path, field: nil, reason: "not valid JSON")) {
            try HardwareProfile.named(notJSON.path)
        }
        #expect(throws: OffloadingError.unknownHardware("tpu-v9", known: HardwareProfile.builtInNames)) {
            try HardwareProfile.named("tpu-v9")
        }
    }
}

import Testing
import Foundation
import TestSupport
@testable import mixtral_lab
import Offloading

/// `hardware probe`: what it refuses before measuring, and that its profile loads as `--hardware FILE`.
struct HardwareProbeTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("hardware-probe") }

    @Test func anExistingOutIsKeptWithoutForce() throws {
        let out = scratch.url.appendingPathComponent("profile.json")
        try Data("mine".utf8).write(to: out)
        let result = failure(["hardware", "probe", "--out", out.path, "--dir", scratch.url.path])
        #expect(result?.code == 2 && result?.message.contains("pass --force") == true, "\(result?.message ?? "")")
        #expect(try String(contentsOf: out, encoding: .utf8) == "mine")
        let folder = failure(["hardware", "probe", "--out", scratch.url.path, "--force"])
        #expect(folder?.code == 2 && folder?.message.contains("is a folder") == true, "\(folder?.message ?? "")")
        let device = failure(["hardware", "probe", "--out", "/dev/null", "--force"])
        #expect(device?.code == 2 && device?.message.contains("not a regular file") == true, "\(device?.message ?? "")")
    }

    /// The reviewer's probe on a loaded ext4 machine wrote link_bandwidth 6.52 GB/s above memory_bandwidth
    /// 6.03 GB/s without a word: a disk read cannot outrun the memory it lands in.
    @Test func aLinkFasterThanMemoryIsWarnedAbout() {
        var profile = HardwareProfile.laptop16GBNVMe
        profile.memoryBandwidth = 6.03e9
        profile.linkBandwidth = 6.52e9
        let warning = HardwareCommand.Probe.linkAboveMemoryWarning(profile)
        #expect(warning?.hasPrefix("warning: link_bandwidth 6.52 GB/s measured above memory_bandwidth 6.03 GB/s") == true, "\(warning ?? "none")")
        profile.linkBandwidth = 2.25e9
        #expect(HardwareCommand.Probe.linkAboveMemoryWarning(profile) == nil)
    }

    @Test func badSizesAndFoldersAreNamed() {
        for (arguments, words) in [(["--read-size", "1KiB"], "--read-size"), (["--file-size", "1MiB", "--read-size", "8MiB"], "--file-size"),
                                   (["--dir", "/nonexistent-folder"], "--dir"), (["--file-size", "lots"], "--file-size")] {
            let result = failure(["hardware", "probe"] + arguments)
            #expect(result?.code == 2 && result?.message.contains(words) == true, "\(arguments): \(result?.message ?? "")")
        }
    }

    @Test func theDiskProbeRemovesItsFileAndTheProfileLoads() throws {
        let probe = HardwareProbe(directory: scratch.url, fileBytes: 1 << 20, readBytes: 1 << 16, kernelShape: (64, 64), threads: 1)
        let disk = try probe.measureDisk()
        #expect(disk.bandwidth > 0 && disk.latencyUs > 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
        // a profile with measured fields round-trips through --hardware FILE
        let profile = HardwareProfile(name: "probed", fastMemoryBytes: 1 << 30, slowMemoryBytes: 1 << 34, computeFlops: 1e10,
                                      memoryBandwidth: 1e10, linkBandwidth: disk.bandwidth, linkLatencyUs: disk.latencyUs,
                                      decodeWeightsPerSecond: ["fp32": 1e9, "q4": 2e9], threads: 1, measured: "test")
        let file = scratch.url.appendingPathComponent("p.json")
        try JSONEncoder().encode(profile).write(to: file)
        #expect(try HardwareProfile.named(file.path) == profile)
        // an unknown precision in decode_weights_per_second is named
        try Data(String(decoding: try JSONEncoder().encode(profile), as: UTF8.self).replacingOccurrences(of: "\"q4\"", with: "\"q5\"").utf8).write(to: file)
        #expect { try HardwareProfile.named(file.path) } throws: { "\($0)".contains("decode_weights_per_second.q5") }
    }
}

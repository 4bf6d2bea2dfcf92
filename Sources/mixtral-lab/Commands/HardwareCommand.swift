import ArgumentParser
import Foundation
import Checkpoints
import Offloading
import Quantization

/// `mixtral-lab hardware`: profiles of the machine the offloading cost model simulates.
struct HardwareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hardware",
        abstract: "Hardware profiles for the offloading cost model (--hardware).",
        subcommands: [Probe.self])

    /// `mixtral-lab hardware probe`: measure this machine and write a profile for `--hardware FILE`.
    struct Probe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure this machine (disk reads, memory bandwidth, the engine's decode kernels) and write a --hardware profile.",
            discussion: """
            Writes a probe file (--file-size) in a new folder under --dir, drops its pages from the page cache \
            (posix_fadvise DONTNEED) and times positioned reads as the engine reads experts (three adjacent \
            pieces at a time) at two sizes, --read-size and an eighth of it: the slope of time against size \
            is the bandwidth, its intercept the cost of one read; removes the file. Then memory read bandwidth, and the \
            engine's own matrix–vector kernels at every precision on [3584, 1024] matrices (weights per \
            second, one thread per core). The profile's fields are described in the README ("Hardware \
            profiles"). Takes about a minute; run it on a quiet machine — other processes slow every figure.
            """)

        @Option(help: ArgumentHelp("Write the profile (JSON) here; without it the JSON goes to standard output.", valueName: "file"))
        var out: String?
        @Flag(help: "Replace --out if it exists.") var force = false
        @Option(help: ArgumentHelp("Folder for the probe file: put it on the disk the experts will be read from (default: the system's temporary folder).", valueName: "dir"))
        var dir: String?
        @Option(help: ArgumentHelp("Size of the probe file, e.g. 256MiB.", valueName: "size"),
                transform: SizeArgument.parser(flag: "--file-size"))
        var fileSize = SizeArgument("256MiB")
        @Option(help: ArgumentHelp("Bytes per bandwidth read, about one expert projection, e.g. 8MiB.", valueName: "size"),
                transform: SizeArgument.parser(flag: "--read-size"))
        var readSize = SizeArgument("8MiB")
        @Option(help: "Name of the profile.") var name = "this-machine"
        @Option(help: ArgumentHelp("Precisions whose decode kernels are timed, comma-separated (the hqq ones quantize slowly: name them to time them).", valueName: "list"))
        var precisions = "fp32,bf16,f16,int8,q4,nf4,nf4-dq"

        func validate() throws {
            let file = fileSize.bytes, read = readSize.bytes
            guard read >= 4096 else { throw ValidationError("--read-size must be at least 4KiB; got \(readSize)") }
            guard file >= read else { throw ValidationError("--file-size (\(fileSize)) must be at least --read-size (\(readSize))") }
            guard file <= 64 << 30 else { throw ValidationError("--file-size must be at most 64GiB; got \(fileSize)") }
            _ = try parseSinglePrecisionList(precisions)
            if let dir {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: dir, isDirectory: &isFolder), isFolder.boolValue else {
                    throw ValidationError("--dir \(dir): not a folder")
                }
            }
        }

        func run() throws {
            let outURL = out.map { URL(fileURLWithPath: $0) }
            if let outURL {
                do { try checkOutputFile(outURL, overwrite: force) } catch let error as CheckpointWriteError {
                    throw ValidationError("--out: \(error.description)")
                }
                if let type = try? FileManager.default.attributesOfItem(atPath: outURL.path)[.type] as? FileAttributeType,
                   type != .typeRegular {
                    throw ValidationError("--out \(outURL.path): not a regular file; give the path of a file to write")
                }
                // checked before the minute of probing, as export does
                var isFolder: ObjCBool = false
                let folder = outURL.deletingLastPathComponent().path
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                    throw ValidationError("--out \(outURL.path): \(folder): no such folder; create it first")
                }
            }
            let directory = URL(fileURLWithPath: dir ?? FileManager.default.temporaryDirectory.path)
            let probe = HardwareProbe(directory: directory, fileBytes: fileSize.bytes, readBytes: readSize.bytes)
            let kernels = try parseSinglePrecisionList(precisions)
            let profile = try probe.run(name: name, precisions: kernels, progress: { note("probing " + $0) })
            if HardwareProbe.fileSystem(of: directory.path) == "tmpfs" {
                note("note: \(directory.path) is on tmpfs (RAM): its 'disk' figures are memory copies; give --dir on the disk the experts are read from")
            } else if let warning = Self.linkAboveMemoryWarning(profile) {
                note(warning)
            }
            for warning in Self.kernelsAboveRooflineWarnings(profile) { note(warning) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let json = String(decoding: try encoder.encode(profile), as: UTF8.self) + "\n"
            for line in profile.assumptions { note(line) }
            guard let outURL else {
                emit(json, newline: false)
                return
            }
            do {
                try writeThroughPartialFile(outURL, overwrite: force) { try $0.write(contentsOf: Data(json.utf8)) }
            } catch CheckpointWriteError.cannotWrite(_, let reason) {
                // named as the user gave it, not as the .partial file it is written through
                throw ValidationError("--out \(outURL.path): cannot write (\(reason))")
            }
            emit("wrote \(outURL.path)")
        }

        /// A decode kernel cannot read weights faster than memory delivers them, nor multiply faster than
        /// the peak: a precision whose measured decode rate implies more bytes/s (rate × its nominal bits
        /// per weight / 8; the kernels' matrices are ≥ 64 MiB, larger than the caches) than
        /// `memory_bandwidth`, or more FLOP/s (2 per weight) than `compute_flops`, by over 20 % (two
        /// probes a minute apart on this 2-core machine put the fp32 kernels 5–15 % above the read stream),
        /// means one of the two passes was slowed by other processes; the profile's predictions would mix
        /// the two.
        static func kernelsAboveRooflineWarnings(_ profile: HardwareProfile) -> [String] {
            var warnings: [String] = []
            let rates = (profile.decodeWeightsPerSecond ?? [:]).compactMap { name, rate in Precision(rawValue: name).map { ($0, rate) } }
            if let (precision, rate) = rates.max(by: { $0.1 * $0.0.nominalBitsPerWeight < $1.1 * $1.0.nominalBitsPerWeight }),
               rate * precision.nominalBitsPerWeight / 8 > 1.2 * profile.memoryBandwidth {
                warnings.append("warning: the \(precision.rawValue) decode kernels read " + String(format: "%.1f GB/s of weights, above memory_bandwidth %.1f GB/s", rate * precision.nominalBitsPerWeight / 8e9, profile.memoryBandwidth / 1e9)
                                + ": other processes likely slowed the memory pass; probe again on a quiet machine before trusting memory_bandwidth")
            }
            if let (precision, rate) = rates.max(by: { $0.1 < $1.1 }), 2 * rate > 1.2 * profile.computeFlops {
                warnings.append("warning: the \(precision.rawValue) decode kernels do " + String(format: "%.1f GFLOP/s, above compute_flops %.1f GFLOP/s", 2 * rate / 1e9, profile.computeFlops / 1e9)
                                + " (the fp32 matrix–matrix peak): other processes likely slowed the prefill pass; probe again on a quiet machine before trusting compute_flops")
            }
            return warnings
        }

        /// A disk read cannot outrun memory, into which it is read: a link measured faster than memory
        /// means the probe file's reads were served from a cache (a virtual disk's host cache, or pages
        /// the drop did not reach), or the memory figure was depressed by other processes' load.
        static func linkAboveMemoryWarning(_ profile: HardwareProfile) -> String? {
            guard profile.linkBandwidth > profile.memoryBandwidth else { return nil }
            return String(format: "warning: link_bandwidth %.2f GB/s measured above memory_bandwidth %.2f GB/s: the probe's reads were likely served from a cache (a virtual disk's host cache, say) or other processes slowed the memory pass; probe again on a quiet machine, with a larger --file-size, before trusting either figure",
                          profile.linkBandwidth / 1e9, profile.memoryBandwidth / 1e9)
        }
    }
}

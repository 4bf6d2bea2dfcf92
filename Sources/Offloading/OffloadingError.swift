import UserInput

/// Bad offloading input: an unknown policy or hardware profile, a malformed size or profile file.
public enum OffloadingError: UserInputError, Equatable {
    case unknownPolicy(String, known: [String])
    case unknownHardware(String, known: [String])
    /// A hardware profile file that cannot be read or decoded; `field` names the offending key when known.
    case malformedHardwareFile(path: String, field: String?, reason: String)
    /// A size such as `2GiB` that cannot be parsed (or a number of bytes that is not whole); `flag`
    /// names where it came from.
    case invalidSize(String, flag: String)
    /// A size that is not zero but less than one byte, e.g. `0.0001KiB`: sizes are whole bytes.
    case sizeBelowOneByte(String, flag: String)
    /// A size above `ByteSize.largest`, e.g. `9223372036854775807`.
    case sizeTooLarge(String, flag: String, largest: Int)
    /// A setting out of range, e.g. `--prefetch 0` with `lru+prefetch`.
    case invalidSetting(flag: String, reason: String)
    /// `optimal` needs the whole routing in advance; it runs only on a recorded run.
    case needsRecordedRouting(policy: String)
    /// A model shape name for `plan` that is not built in and is not a readable path.
    case unknownModelShape(String, known: [String])
    /// `cpu-compute` on a hardware profile without a host CPU's numbers.
    case noHostCPU(hardware: String, policy: String)

    public var description: String {
        switch self {
        case .unknownPolicy(let name, let known):
            return "--policy \(name): unknown policy; choose one of \(known.joined(separator: ", "))"
        case .unknownHardware(let name, let known):
            return "--hardware \(name): not a built-in profile (\(known.joined(separator: ", "))) and no such file"
        case .malformedHardwareFile(let path, let field, let reason):
            if let field { return "hardware profile \(path): field '\(field)': \(reason)" }
            return "hardware profile \(path): \(reason)"
        case .invalidSize(let text, let flag):
            return "\(flag) \(text): not a size; write a number with a unit, e.g. 512MiB, 2GiB, 1.5GB (KiB/MiB/GiB/TiB are powers of 1024, KB/MB/GB/TB powers of 1000), or a whole number of bytes"
        case .sizeTooLarge(let text, let flag, let largest):
            return "\(flag) \(text): too large; a size is at most \(largest) bytes (\(largest >> 40)TiB)"
        case .sizeBelowOneByte(let text, let flag):
            return "\(flag) \(text): less than one byte; sizes are whole bytes (give 0 or at least 1B)"
        case .invalidSetting(let flag, let reason):
            return "\(flag): \(reason)"
        case .needsRecordedRouting(let policy):
            return "policy \(policy) looks into the future (Belady's rule) and needs the whole routing first: record the run, then replay it"
        case .unknownModelShape(let name, let known):
            return "--model \(name): not a built-in shape (\(known.joined(separator: ", "))) and no config.json there"
        case .noHostCPU(let hardware, let policy):
            return "--policy \(policy): hardware profile \(hardware) has no host CPU (host_compute_flops, host_memory_bandwidth); use a GPU profile that has one or add them to the profile's JSON"
        }
    }
}

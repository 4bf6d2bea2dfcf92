import ArgumentParser
import Engine

/// `--temperature`, `--top-k`, `--top-p`, `--seed`: how a generating command draws each next token from
/// the logits (`Sampler`; greedy by default).
struct SamplingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Sampling temperature; 0 = greedy.") var temperature: Float = 0
    @Option(parsing: .unconditional, help: "Keep only the K most likely tokens when sampling (0 = all).") var topK: Int = 0
    @Option(parsing: .unconditional, help: "Nucleus sampling: keep the most likely tokens up to probability P.") var topP: Float = 1
    @Option(parsing: .unconditional, help: "Random seed for sampling (same seed, same text).", transform: SamplingOptions.seed(parsing:))
    var seed: UInt64 = 0

    /// `--seed`: a whole number 0…2⁶⁴ − 1 (`SplitMix64`'s state), refused with the reason otherwise.
    static func seed(parsing text: String) throws -> UInt64 {
        guard let seed = UInt64(text) else {
            throw ValidationError("not a seed: give a whole number from 0 to \(UInt64.max)")
        }
        return seed
    }

    /// Refuses a `--temperature` that is not a finite number ≥ 0 (logits are divided by it, so `inf` would
    /// flatten every distribution to uniform and `nan` make every probability nan), a negative `--top-k`
    /// and a `--top-p` outside (0, 1]; and `--top-k`/`--top-p` without a `--temperature` above 0, where
    /// greedy decoding would silently ignore them.
    /// - Throws: `ValidationError` naming the flag and the value.
    func validate() throws {
        guard temperature.isFinite, temperature >= 0 else {
            throw ValidationError("--temperature must be ≥ 0 and finite (0 = greedy); got \(temperature)")
        }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]; got \(topP)") }
        if temperature == 0, let flag = topK > 0 ? "--top-k \(topK)" : topP < 1 ? "--top-p \(topP)" : nil {
            throw ValidationError("\(flag) has no effect with --temperature 0 (greedy decoding takes the most likely token); give --temperature above 0 to sample")
        }
    }

    var sampler: Sampler { Sampler(temperature: temperature, topK: topK, topP: topP, seed: seed) }
}

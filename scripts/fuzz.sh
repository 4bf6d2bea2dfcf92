#!/usr/bin/env bash
# Fuzzes one parser of outside input with libFuzzer and AddressSanitizer:
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags…]
# TARGET: safetensors, gguf, tokenizer-json, config-json, lesson, hardware-profile, expert-store-manifest
# (Fuzz/<TARGET>/), or `all` to run each in turn for SECONDS. Builds the fuzz binaries in their own scratch
# path (.build/fuzz, MIXTRAL_LAB_FUZZ=1 adds them to Package.swift), seeds each corpus with the valid files
# the repository already has (fixtures, the default model, the lessons), and fails on the first crash,
# input slower than 1 s, or allocation over 1 GiB (the crashing input is saved under
# .build/fuzz-artifacts/). The corpus grows in .build/fuzz-corpus/TARGET across runs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
targets=(safetensors gguf tokenizer-json config-json lesson hardware-profile expert-store-manifest)
if [[ $# -lt 2 ]]; then
    echo "usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags…]; targets: ${targets[*]}" >&2
    exit 2
fi
target="$1" seconds="$2"
shift 2
if [[ "$target" == all ]]; then
    for each in "${targets[@]}"; do "$0" "$each" "$seconds" "$@"; done
    exit 0
fi
if [[ ! " ${targets[*]} " == *" $target "* ]]; then
    echo "scripts/fuzz.sh: no fuzz target \"$target\"; targets: ${targets[*]}" >&2
    exit 2
fi

# Valid files the repository has, small ones (inputs are capped by max_len below): larger seeds would be cut
# short and slow every run down. GGUF's are whole models of 15 KiB (tools/make_gguf_fuzz_seed.py) besides the
# metadata and K-quant fixtures, not the 97 KiB test models, which made every input ~6× slower.
seeds() {
    case "$1" in
        safetensors) ls Fuzz/seeds/safetensors/* Tests/EngineTests/Fixtures/experts-equal-topk/model.safetensors ;;
        gguf) ls Tests/CheckpointsTests/Fixtures/gguf/*.gguf Fuzz/seeds/gguf/*.gguf ;;
        tokenizer-json) ls Tests/EngineTests/Fixtures/gguf/tiny/tokenizer.json ;;
        config-json) ls models/shakespeare-mixtral/config.json Tests/*/Fixtures/*/config.json Tests/EngineTests/Fixtures/gguf/tiny/config.json ;;
        lesson) ls lessons/*.md ;;
        hardware-profile) ls Fuzz/seeds/hardware-profile/*.json ;;
        expert-store-manifest) ;;  # the target writes the manifest of the store it builds (MIXTRAL_LAB_FUZZ_SEEDS)
    esac
}

"$root/scripts/install-deps.sh"
# SwiftPM passes --sanitize as separate -sanitize=X flags to swiftc, and the last one wins: without the
# combined flag the modules would get AddressSanitizer but no coverage instrumentation for libFuzzer.
build=(swift build -c release --scratch-path .build/fuzz --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address)
MIXTRAL_LAB_FUZZ=1 "${build[@]}" --product "fuzz-$target" >&2
binary="$(MIXTRAL_LAB_FUZZ=1 "${build[@]}" --show-bin-path)/fuzz-$target"

# Inputs up to twice the largest seed: 16 KiB for GGUF and lesson files (the largest lesson is 8.5 KiB), 64 KiB
# for the rest.
max_len=65536
[[ "$target" == gguf || "$target" == lesson ]] && max_len=16384
corpus=".build/fuzz-corpus/$target"
seed_dir=".build/fuzz-seeds/$target"
mkdir -p "$corpus" "$seed_dir" .build/fuzz-artifacts
rm -f "$seed_dir"/*
i=0
for file in $(seeds "$target"); do cp "$file" "$seed_dir/$i-$(basename "$file")"; i=$((i + 1)); done

# -timeout=1: an input taking over 1 s is a failure. -malloc_limit_mb=1024: one allocation over 1 GiB is
# a failure; -rss_limit_mb=2048 bounds the whole process (AddressSanitizer's shadow memory included).
# -max_len: inputs up to max_len, so that a run tries many of them. Statistics (inputs run, seconds)
# are printed at the end.
MIXTRAL_LAB_FUZZ_SEEDS="$root/$seed_dir" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
    "$binary" -timeout=1 -malloc_limit_mb=1024 -rss_limit_mb=2048 -max_len="$max_len" \
    -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=".build/fuzz-artifacts/$target-" \
    "$@" "$corpus" "$seed_dir"

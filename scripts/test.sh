#!/usr/bin/env bash
# Runs the whole test suite: installs missing system packages, then `swift test` in release mode
# (numeric tests on real models are slow in debug builds).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
cd "$root"
# One OpenBLAS thread for the whole run: tests compare logits bit for bit, suites run in parallel in one
# process, and lessons set the count to the default model's recommendation (1); a count that changed while
# another test was computing could change sgemm's blocking and so the last bits of its sums.
export OPENBLAS_NUM_THREADS=1
# Its own build folder: -enable-testing changes every module's compiler flags, so in .build it would
# rebuild everything that ./mixtral-lab built there, and ./mixtral-lab would then rebuild it all again.
swift test -c release --scratch-path "$root/.build/testing" -Xswiftc -enable-testing "$@"

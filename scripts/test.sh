#!/usr/bin/env bash
# Runs the whole test suite: installs missing system packages, then `swift test` in release mode
# (numeric tests on real models are slow in debug builds).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
cd "$root"
swift test -c release -Xswiftc -enable-testing "$@"

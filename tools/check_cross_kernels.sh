#!/usr/bin/env bash
# Runs the product paths of Sources/CKernels that this machine's CPU may lack under QEMU's user-mode
# emulator, bit for bit against the formula (tools/cross_kernels.c says what is checked):
#   - aarch64 with the dot-product extension (the NEON `sdot` path), `qemu-aarch64 -cpu max';
#   - x86-64 with every extension QEMU emulates (the AVX2 and, if QEMU has it, AVX-VNNI paths),
#     `qemu-x86_64 -cpu max'.
# Needs clang (the one of the Swift toolchain will do), an aarch64 cross toolchain for the C library and
# the linker, and qemu-user:   apt-get install -y gcc-aarch64-linux-gnu qemu-user
# Usage: tools/check_cross_kernels.sh [BUILD_DIR]   (default .build/cross-kernels; binaries are written there)
# AARCH64_SYSROOT: the aarch64 C library's root (default /usr/aarch64-linux-gnu, where Debian's package puts it).
# Exit 0 when every path that ran matched; 1 when one differed; 2 when a tool is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/.build/cross-kernels}"
for tool in clang aarch64-linux-gnu-gcc qemu-aarch64 qemu-x86_64; do
    command -v "$tool" >/dev/null || { echo "check_cross_kernels: $tool not found (apt-get install -y gcc-aarch64-linux-gnu qemu-user)" >&2; exit 2; }
done
mkdir -p "$out"
sources=("$root"/Sources/CKernels/*.c "$root/tools/cross_kernels.c")
include="$root/Sources/CKernels/include"
sysroot="${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}"
status=0

echo "== aarch64 (armv8.2-a + dotprod), qemu-aarch64 -cpu max"
objects=()
for source in "${sources[@]}"; do
    object="$out/aarch64-$(basename "$source" .c).o"
    clang --target=aarch64-linux-gnu --sysroot="$sysroot" -march=armv8.2-a+dotprod -O2 \
        -I "$include" -c "$source" -o "$object"
    objects+=("$object")
done
aarch64-linux-gnu-gcc -static "${objects[@]}" -lm -o "$out/kernels-aarch64"
qemu-aarch64 -cpu max "$out/kernels-aarch64" || status=1

echo "== x86-64, qemu-x86_64 -cpu max"
clang -O2 -I "$include" "${sources[@]}" -lm -o "$out/kernels-x86_64"
qemu-x86_64 -cpu max "$out/kernels-x86_64" || status=1

echo "== x86-64, this CPU (no emulator)"
"$out/kernels-x86_64" || status=1
exit $status

#!/usr/bin/env bash
# Builds llama.cpp (the copy vendored in llama-cpp-python's sdist) on CPU with cmake + ninja, and
# installs llama-cpp-python's Python binding pointing at that build (no second compile).
#
# Why not `pip install llama-cpp-python`: it compiles with -DGGML_NATIVE=ON, and on this machine
# ggml's AMX path then dies with "Illegal instruction" on Q8_0/Q4_0 files
# (see the oracles notes in the project's shared notes). Here the instruction sets are chosen explicitly: AVX2/FMA/F16C,
# no AVX-512 (this machine's AMD EPYC has none: a build with -DGGML_AVX512=ON dies with "Illegal
# instruction" as soon as the library loads), AMX off.
#
# Usage: tools/build_llama_cpp.sh [WORKDIR]   (default: the folder holding the checkout; about 15–25 min on
# 2 cores). VENV (default tools/.venv, see tools/requirements.txt) gets cmake, ninja and llama-cpp-python.
# Result:
#   WORKDIR/llama.cpp/                     sources, incl. convert_hf_to_gguf.py and gguf-py/
#   WORKDIR/llama.cpp/build/bin/           llama-bench, llama-quantize, llama-simple, llama-completion,
#                                          llama-tokenize, libllama.so, libggml*.so
#   llama_cpp (Python) in VENV; run it with LLAMA_CPP_LIB_PATH=WORKDIR/llama.cpp/build/bin
set -euo pipefail

TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORKDIR="${1:-$(dirname "$(dirname "$TOOLS")")}"
VENV="${VENV:-$TOOLS/.venv}"
[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
VERSION=0.3.36           # llama-cpp-python sdist used; its vendor/llama.cpp is the llama.cpp built
JOBS=2

"$VENV/bin/pip" install cmake==4.4.5 ninja==1.13.2
export PATH="$VENV/bin:$PATH"

# 1. The sdist (only llama-cpp-python from source; its build tools come as wheels).
mkdir -p "$WORKDIR/llama-sdist"
if [ ! -d "$WORKDIR/llama-sdist/llama_cpp_python-$VERSION" ]; then
    "$VENV/bin/pip" download --no-deps --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -d "$WORKDIR/llama-sdist"
    tar xzf "$WORKDIR/llama-sdist/llama_cpp_python-$VERSION.tar.gz" -C "$WORKDIR/llama-sdist"
fi
if [ ! -d "$WORKDIR/llama.cpp" ]; then
    cp -a "$WORKDIR/llama-sdist/llama_cpp_python-$VERSION/vendor/llama.cpp" "$WORKDIR/llama.cpp"
fi

# 2. llama.cpp itself: shared libraries plus the tools the benchmarks and fixtures use.
cd "$WORKDIR/llama.cpp"
cmake -S . -B build -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON \
    -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF \
    -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF
# The two tools other scripts wait for first, then the rest.
nice -n 10 cmake --build build -j "$JOBS" --target llama-bench llama-quantize
nice -n 10 cmake --build build -j "$JOBS" --target llama-simple llama-tokenize llama-completion

# 3. The Python binding without compiling llama.cpp again (LLAMA_BUILD=OFF; its ctypes loader
#    finds the libraries through LLAMA_CPP_LIB_PATH at run time).
CMAKE_ARGS="-DLLAMA_BUILD=OFF -DLLAVA_BUILD=OFF" \
    "$VENV/bin/pip" install "$WORKDIR/llama-sdist/llama_cpp_python-$VERSION"

echo "built: $WORKDIR/llama.cpp/build/bin"

#!/usr/bin/env python3
"""Time gguf-py's numpy Q4_0 quantizer on the tensors of the `bench` preset, and (when wired) ours.

Usage:
    /work/venv/bin/python tools/bench_quantize.py [--repeats 3] [--mixtral-lab .build/release/mixtral-lab]

The `bench` preset (tools/make_bench_model.py): hidden 1024, 8 layers, 8 experts, intermediate 3584,
16 heads / 4 KV heads (head_dim 64), vocab 32000. Quantized to q4 are the attention projections, the
expert w1/w3/w2, the embedding and lm_head (the router stays fp32), ≈ 791 M weights. gguf-py is timed on
one random tensor of each distinct shape (best of --repeats) and scaled by how many tensors have that
shape, so the run needs ~0.5 GB rather than the checkpoint's 3.2 GB.

With --mixtral-lab, the script also runs `mixtral-lab quantize-bench --precision q4`, which must print
one JSON object {"seconds": <float>, "weights": <int>} for quantizing the same set of tensors, and
prints the speed-up (the issue asks for at least 10×).
"""
import argparse
import json
import subprocess
import time

import numpy as np
from gguf import GGMLQuantizationType, quants

HIDDEN, INTERMEDIATE, LAYERS, EXPERTS, HEADS, KV_HEADS, VOCAB = 1024, 3584, 8, 8, 16, 4, 32000
HEAD_DIM = HIDDEN // HEADS

# (shape [out, in], how many tensors of the preset have it)
TENSORS = {
    "attn q_proj, o_proj": ((HIDDEN, HIDDEN), 2 * LAYERS),
    "attn k_proj, v_proj": ((KV_HEADS * HEAD_DIM, HIDDEN), 2 * LAYERS),
    "experts w1, w3": ((INTERMEDIATE, HIDDEN), 2 * EXPERTS * LAYERS),
    "experts w2": ((HIDDEN, INTERMEDIATE), EXPERTS * LAYERS),
    "embed_tokens, lm_head": ((VOCAB, HIDDEN), 2),
}


def time_gguf_py(shape, repeats, rng):
    """Best wall-clock and CPU seconds of one quantization (CPU time is steadier on a shared machine)."""
    x = (rng.standard_normal(shape, dtype=np.float32) * 0.02)
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        quants.quantize(x, GGMLQuantizationType.Q4_0)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mixtral-lab", help="path to a release mixtral-lab binary with quantize-bench")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    total_seconds, total_cpu, total_weights = 0.0, 0.0, 0
    print(f"gguf-py {quants.__name__} Q4_0, numpy {np.__version__}, best of {args.repeats}")
    for name, (shape, count) in TENSORS.items():
        seconds, cpu = time_gguf_py(shape, args.repeats, rng)
        weights = shape[0] * shape[1]
        total_seconds += seconds * count
        total_cpu += cpu * count
        total_weights += weights * count
        print(f"  {name:24s} [{shape[0]}, {shape[1]}] × {count:3d}: {seconds * 1e3:8.1f} ms each "
              f"({cpu * 1e3:8.1f} ms CPU), {weights / seconds / 1e6:6.1f} M weights/s")
    print(f"gguf-py total (scaled): {total_seconds:.2f} s wall, {total_cpu:.2f} s CPU "
          f"for {total_weights / 1e6:.1f} M weights")

    if args.mixtral_lab:
        out = subprocess.run([args.mixtral_lab, "quantize-bench", "--precision", "q4"],
                             check=True, capture_output=True, text=True).stdout
        ours = json.loads(out.strip().splitlines()[-1])
        print(f"mixtral-lab: {ours['seconds']:.2f} s for {ours['weights'] / 1e6:.1f} M weights")
        print(f"speed-up: {total_seconds / ours['seconds'] * ours['weights'] / total_weights:.1f}× "
              "(per weight; the issue asks for ≥ 10×)")


if __name__ == "__main__":
    main()

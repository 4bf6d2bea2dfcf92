#!/usr/bin/env python3
"""Time gguf-py's numpy Q4_0 quantizer and `mixtral-lab bench --quantize q4` on the same checkpoint's tensors.

Usage:
    swift build -c release --product mixtral-lab --scratch-path .build-bench
    tools/.venv/bin/python tools/bench_quantize.py MODEL_DIR --mixtral-lab .build-bench/release/mixtral-lab
                                                  [--repeats 2]

MODEL_DIR is a transformers Mixtral checkpoint, e.g. the `bench` preset (tools/make_bench_model.py: hidden
1024, 8 layers, 8 experts, intermediate 3584, vocab 32000; ≈ 791 M weights quantized). Quantized to q4
are the tensors a uniform `q4` precision spec quantizes: the attention projections, the expert w1/w3/w2,
the embedding and lm_head (the router and the norms stay fp32). Both sides read each tensor from the
safetensors file untimed, then time quantizing it (best of --repeats per tensor) and sum over tensors, so
only one tensor at a time is held in fp32. gguf-py (`gguf.quants.quantize`, numpy) runs on one core;
mixtral-lab splits rows over every core, so CPU seconds are printed next to wall seconds for both.

Runs gguf-py first, then `mixtral-lab bench --model MODEL_DIR --quantize q4 --repeats N --format json`
(which prints {"seconds", "cpu_seconds", "weights", "tensors", …}), and prints both, the 1-minute load
average at the start of each, and the speed-up per weight (issue 4 asks for at least 10×).
"""
import argparse
import json
import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, quants
import torch
from safetensors import safe_open

# The tensors `PrecisionSpec(uniform: .q4)` quantizes (Sources/Quantization/Precision.swift: TensorClass).
QUANTIZED = re.compile(r"(self_attn\.[qkvo]_proj|block_sparse_moe\.experts\.\d+\.w[123]|embed_tokens|^lm_head)\.weight$")


def time_gguf_py(model_dir: Path, repeats: int) -> dict:
    """Seconds (wall and CPU) gguf-py takes to quantize every q4 tensor of the checkpoint to Q4_0."""
    seconds, cpu_seconds, weights, tensors = 0.0, 0.0, 0, 0
    for path in sorted(model_dir.glob("*.safetensors")):
        with safe_open(path, "pt") as f:  # torch reads bf16, which numpy cannot
            for name in sorted(f.keys()):
                if not QUANTIZED.search(name):
                    continue
                x = f.get_tensor(name).to(torch.float32).numpy()
                best_wall, best_cpu = float("inf"), float("inf")
                for _ in range(repeats):
                    wall, cpu = time.perf_counter(), time.process_time()
                    quants.quantize(x, GGMLQuantizationType.Q4_0)
                    best_wall = min(best_wall, time.perf_counter() - wall)
                    best_cpu = min(best_cpu, time.process_time() - cpu)
                seconds += best_wall
                cpu_seconds += best_cpu
                weights += x.size
                tensors += 1
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "weights": weights, "tensors": tensors}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--mixtral-lab", required=True, help="path to a release mixtral-lab binary")
    parser.add_argument("--repeats", type=int, default=2, help="timed quantizations per tensor; the best counts")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    load_gguf = os.getloadavg()[0]
    theirs = time_gguf_py(args.model_dir, args.repeats)
    load_ours = os.getloadavg()[0]
    out = subprocess.run([args.mixtral_lab, "bench", "--model", str(args.model_dir), "--quantize", "q4",
                          "--repeats", str(args.repeats), "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    ours = json.loads(out.strip().splitlines()[-1])
    if ours["weights"] != theirs["weights"]:
        raise SystemExit(f"mixtral-lab quantized {ours['weights']} weights, gguf-py {theirs['weights']}: "
                         "not the same tensors")

    print(f"model {args.model_dir}: {theirs['tensors']} tensors, {theirs['weights'] / 1e6:.1f} M weights to Q4_0, "
          f"best of {args.repeats} per tensor")
    print(f"{'quantizer':36s} {'wall s':>8s} {'CPU s':>8s} {'M weights/s':>12s} {'load 1m':>8s}")
    for label, r, load in ((f"gguf-py {quants.__name__} (numpy {np.__version__})", theirs, load_gguf),
                           (f"mixtral-lab ({ours['cores']} cores)", ours, load_ours)):
        print(f"{label:36s} {r['seconds']:8.2f} {r['cpu_seconds']:8.2f} {r['weights'] / r['seconds'] / 1e6:12.1f} "
              f"{load:8.2f}")
    print(f"speed-up (wall): {theirs['seconds'] / ours['seconds']:.1f}×; per CPU second: "
          f"{theirs['cpu_seconds'] / ours['cpu_seconds']:.1f}× (issue 4 asks for ≥ 10×)")


if __name__ == "__main__":
    main()

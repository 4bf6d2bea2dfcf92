#!/usr/bin/env python3
"""Golden fixtures for the Quantization module (Tests/QuantizationTests/Fixtures/quant_fixtures.json).

Re-create with:
    tools/.venv/bin/python tools/make_quant_fixtures.py
Needs numpy, gguf (PyPI `gguf`, module gguf.quants) and torch + bitsandbytes (CPU is enough).

Oracles:
  - Q8_0 / Q4_0: gguf-py `gguf.quants.quantize` / `dequantize` (bit-exact port of ggml-quants.c).
  - NF4: bitsandbytes `functional.quantize_4bit(..., quant_type="nf4")` on CPU (pure-torch default
    backend) and `functional.dequantize_4bit`; with `compress_statistics=True` for nf4-dq, whose absmax
    double quantization runs bitsandbytes' C kernel `quantize_cpu` (csrc/cpu_ops.cpp, csrc/common.cpp).

Encoding: float32 arrays are little-endian base64; packed bytes are hex.
"""
import base64
import json
import os
import warnings

import numpy as np
import torch
import bitsandbytes.functional as bnbf
from gguf import GGMLQuantizationType as QT
from gguf import quants

warnings.filterwarnings("ignore")
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "QuantizationTests", "Fixtures",
                   "quant_fixtures.json")
rng = np.random.default_rng(20261129)


def f32(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def normal(r, c, s=0.02):
    return (rng.standard_normal((r, c)) * s).astype(np.float32)


def student_t(r, c):
    return (rng.standard_t(df=3, size=(r, c)) * 0.02).astype(np.float32)


def with_outlier(r, c):
    x = normal(r, c)
    x[r // 2, c // 3] = 1.7
    return x


def subnormal(r, c):
    # float32 subnormals (< 1.18e-38): 1/d overflows to inf in Q8_0/Q4_0; plus a block just above that.
    x = (rng.uniform(-1, 1, (r, c)) * 1e-39).astype(np.float32)
    x[-1, -32:] = (rng.uniform(-1, 1, 32) * 1e-36).astype(np.float32)
    return x


def plus_minus_max(r, c):
    # blocks where +m and -m both occur (argmax takes the first), ties at q = k + 0.5, and
    # magnitudes close to (but below) the fp16 scale limit of each format.
    x = normal(r, c)
    x[0, 0], x[0, 1] = 3.0, -3.0
    x[0, 32], x[0, 33] = -3.0, 3.0
    if r > 1:
        x[1, :32] = 0
        x[1, :8] = [127.0, 2.5, -2.5, 0.5, -0.5, 1.5, -1.5, 126.5]   # Q8_0: d = 1, ties
        x[1, 32:40] = [-8.0, 0.5, -0.5, 7.5, -7.5, 7.6, 3.5, -4.5]    # Q4_0: d = 1, ties
    if r > 2:
        x[2, :32] = np.float32(65000 * 127) * np.sign(rng.standard_normal(32)).astype(np.float32)
        x[2, 32:64] = np.float32(65000 * 8) * rng.uniform(-1, 1, 32).astype(np.float32)
        x[2, 32] = np.float32(-65000 * 8)
    return x


def constant(r, c):
    x = np.full((r, c), 0.37, dtype=np.float32)
    x[-1] = -1.5
    return x


INPUTS = [
    ("normal_8x64", normal(8, 64)),
    ("student_t_4x96", student_t(4, 96)),
    ("all_zero_2x32", np.zeros((2, 32), np.float32)),
    ("subnormal_2x64", subnormal(2, 64)),
    ("constant_2x64", constant(2, 64)),
    ("plus_minus_max_4x64", plus_minus_max(4, 64)),
    ("outlier_6x128", with_outlier(6, 128)),
]


def ggml_case(name, x, qtype):
    packed = quants.quantize(x, qtype)
    deq = quants.dequantize(packed, qtype)
    return {"name": name, "rows": x.shape[0], "cols": x.shape[1], "input": f32(x),
            "bytes": packed.tobytes().hex(), "dequantized": f32(deq)}


def nf4_case(name, x, blocksize, dq):
    t = torch.from_numpy(x.copy())
    packed, state = bnbf.quantize_4bit(t, blocksize=blocksize, quant_type="nf4", compress_statistics=dq)
    deq = bnbf.dequantize_4bit(packed, state).numpy()
    case = {"name": name, "rows": x.shape[0], "cols": x.shape[1], "blocksize": blocksize, "input": f32(x),
            "packed": packed.numpy().tobytes().hex(), "dequantized": f32(deq)}
    if dq:
        case.update(dq_fields(state))
    else:
        case["absmax"] = f32(state.absmax.numpy())
    return case


def dq_fields(state):
    absmax_dq = bnbf.dequantize_blockwise(state.absmax, state.state2) + state.offset
    return {"absmax_codes": state.absmax.numpy().tobytes().hex(),
            "absmax2": f32(state.state2.absmax.numpy()),
            "offset": f32(np.array([state.offset.item()], np.float32)),
            "absmax_dequantized": f32(absmax_dq.numpy())}


def absmax_dq_case(name, x, blocksize):
    """Only the double-quantization stage (absmax vector in, codes/absmax2/offset out), on a tensor
    too large to store: several 256-blocks of absmax values and a tail."""
    t = torch.from_numpy(x)
    _, plain = bnbf.quantize_4bit(t, blocksize=blocksize, quant_type="nf4", compress_statistics=False)
    _, state = bnbf.quantize_4bit(t, blocksize=blocksize, quant_type="nf4", compress_statistics=True)
    case = {"name": name, "absmax": f32(plain.absmax.numpy())}
    case.update(dq_fields(state))
    return case


def main():
    fixtures = {
        "q8_0": [ggml_case(n, x, QT.Q8_0) for n, x in INPUTS],
        "q4_0": [ggml_case(n, x, QT.Q4_0) for n, x in INPUTS],
        "nf4": [nf4_case(n, x, 64, False) for n, x in INPUTS] + [
            nf4_case("tail_5x13_bs64", normal(5, 13), 64, False),         # 65 values: one tail value, odd count
            nf4_case("tail_3x50_bs32", student_t(3, 50), 32, False),      # blocks cross rows, tail of 22
            nf4_case("zero_tail_3x30_bs64", np.vstack([normal(2, 30), np.zeros((1, 30), np.float32)]), 64, False),
            nf4_case("normal_4x256_bs32", normal(4, 256), 32, False),
            nf4_case("normal_4x256_bs128", normal(4, 256), 128, False),
            nf4_case("normal_1x4096_bs4096", normal(1, 4096), 4096, False),
        ],
        "nf4_dq": [
            nf4_case("normal_8x256_bs64", normal(8, 256), 64, True),
            nf4_case("student_t_6x100_bs32", student_t(6, 100), 32, True),
        ],
        "absmax_dq": [
            absmax_dq_case("normal_1100_blocks", normal(1100, 64), 64),
            absmax_dq_case("student_t_700_blocks", student_t(350, 64), 32),
            absmax_dq_case("outlier_300_blocks", with_outlier(150, 128), 64),
        ],
        "nf4_codebook": f32(bnbf.get_4bit_type("nf4", device="cpu").numpy()),
    }
    fixtures["dynamic_map"] = f32(bnbf.create_dynamic_map().numpy())
    with open(OUT, "w") as f:
        json.dump(fixtures, f, indent=1)
    print(f"wrote {OUT}: {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()

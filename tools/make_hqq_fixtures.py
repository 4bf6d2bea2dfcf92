#!/usr/bin/env python3
"""Golden HQQ outputs from the `hqq` library, for Tests/QuantizationTests/HQQFixtureTests.swift.

Re-create (CPU only; `pip install hqq==0.2.8`, which pulls torch):

    python tools/make_hqq_fixtures.py Tests/QuantizationTests/Fixtures/hqq_fixtures.json

For each input tensor and each (bits, group size) in {2, 3, 4} x {16, 64}, it records what
`hqq.core.quantize.Quantizer.quantize(W, nbits, group_size=g, optimize=True, round_zero=(nbits == 4),
axis=1, device="cpu")` returns -- the weight parameters of `BaseQuantizeConfig(nbits, g)` in hqq 0.2.8 --
unpacked: one code per weight, and the stored scale (hqq's meta["scale"], the reciprocal of the scale it
optimises) and zero-point per group (`Quantizer.dequantize` is `(code - zero) * scale`).

With the paper's metadata settings (Eliseev & Mazur 2023; mixtral-offloading's quant configs:
`quant_zero=True, quant_scale=True`, scale groups 256 for 4-bit and 128 for 3- and 2-bit) it also
records what `HQQLinear.quantize` does with the scales and zero-points: the scales quantized by
`Quantizer.quantize(scale, nbits=8, channel_wise=True, group_size=m, optimize=False)` (axis 0) and the
zero-points by `Quantizer.quantize(zero, nbits=8, channel_wise=False, group_size=None, optimize=False)`.

Inputs: a normal tensor with an all-zero group, constant groups (positive, negative, tiny range) and
large outliers, and a heavier-tailed Student-t tensor. One torch thread, so that reductions sum in one
fixed order.

Arrays are base64 of little-endian float32 (codes: uint8).
"""

import base64
import json
import sys

import numpy as np
import torch
import hqq
from hqq.core.quantize import Quantizer

torch.set_num_threads(1)

PAPER_META_GROUP = {4: 256, 3: 128, 2: 128}


def b64(array, dtype):
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode()


def special_tensor():
    """[64, 256] N(0, 0.02) with an all-zero group, constant groups and outliers (see the docstring)."""
    rng = np.random.default_rng(17)
    w = rng.normal(0.0, 0.02, size=(64, 256)).astype(np.float32)
    w[0, 0:64] = 0.0                     # an all-zero group (at group size 16 and 64)
    w[1, 64:128] = 0.25                  # a constant positive group
    w[2, 128:192] = -0.0625              # a constant negative group
    w[3, 0:64] = 0.01 + rng.uniform(0, 5e-5, 64).astype(np.float32)   # range below hqq's 1e-4 threshold
    w[4, 7] = 1.5                        # outliers, several times the bulk
    w[9, 200] = -2.0
    w[30, 31] = 0.9
    w[40, 100:116] = np.linspace(-0.3, 0.3, 16, dtype=np.float32)
    return w


def student_tensor():
    """[16, 128] Student-t (3 degrees of freedom) scaled by 0.01: heavy tails in every group."""
    rng = np.random.default_rng(23)
    return (rng.standard_t(3, size=(16, 128)) * 0.01).astype(np.float32)


def quantize(w, bits, group):
    W = torch.from_numpy(w)
    W_q, meta = Quantizer.quantize(W, nbits=bits, channel_wise=True, group_size=group, optimize=True,
                                   round_zero=(bits == 4), axis=1, bitpack=False, device="cpu")
    case = {
        "bits": bits,
        "group_size": group,
        "codes": b64(W_q.numpy().reshape(-1), np.uint8),
        "scales": b64(meta["scale"].numpy().reshape(-1), np.float32),
        "zeros": b64(meta["zero"].numpy().reshape(-1), np.float32),
    }
    groups = meta["scale"].numel()
    m = PAPER_META_GROUP[bits]
    if groups % m == 0:   # hqq asserts that the scales divide into its groups
        s_q, s_meta = Quantizer.quantize(meta["scale"], nbits=8, channel_wise=True, group_size=m, optimize=False,
                                         bitpack=False, device="cpu")
        z_q, z_meta = Quantizer.quantize(meta["zero"], nbits=8, channel_wise=False, group_size=None, optimize=False,
                                         bitpack=False, device="cpu")
        for m_ in (s_meta, z_meta):
            m_["compute_dtype"] = torch.float32
        scale_dq = Quantizer.dequantize(s_q, s_meta)
        case["meta"] = {
            "scale_group_size": m,
            "scale_codes": b64(s_q.numpy().reshape(-1), np.uint8),
            "scale_scales": b64(s_meta["scale"].numpy().reshape(-1), np.float32),
            "scale_zeros": b64(s_meta["zero"].numpy().reshape(-1), np.float32),
            "scales_dequantized": b64(scale_dq.numpy().reshape(-1), np.float32),
            "zero_codes": b64(z_q.numpy().reshape(-1), np.uint8),
            "zero_scale": float(z_meta["scale"]),
            "zero_zero": float(z_meta["zero"]),
        }
    return case


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_hqq_fixtures.py OUTPUT.json")
    tensors = [("special", special_tensor()), ("student_t", student_tensor())]
    out = {"hqq_version": hqq.__version__ if hasattr(hqq, "__version__") else "0.2.8",
           "torch_version": torch.__version__, "tensors": []}
    for name, w in tensors:
        cases = [quantize(w, bits, group) for bits in (4, 3, 2) for group in (64, 16)]
        out["tensors"].append({"name": name, "rows": w.shape[0], "cols": w.shape[1],
                               "input": b64(w.reshape(-1), np.float32), "cases": cases})
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Golden fixtures for the GGML decoders Q4_1, Q5_0, Q4_K, Q6_K (Sources/Quantization/Q4_1.swift …),
written to Tests/QuantizationTests/Fixtures/ggml_decoder_fixtures.json.

Re-create with:
    tools/.venv/bin/python tools/make_gguf_quant_fixtures.py
Needs numpy and gguf (PyPI `gguf`, module gguf.quants).

Oracle: gguf-py `gguf.quants.dequantize` (a numpy port of ggml-quants.c `dequantize_row_*`).
Blocks per format:
  - Q4_1, Q5_0: gguf-py's own `quantize` of random normal rows (with an outlier, a constant row and a
    row of zeros), then random blocks as below;
  - every format: random blocks — every byte random except the fp16 scale fields (d, m, dmin), which
    are random finite values (normal, a few subnormal, zero, negative) — so that every bit of the
    layout is exercised, plus one block with all code/scale bytes 0xFF.
gguf-py has no quantizer for the k-quants; decoding is a pure function of the block bytes, so random
valid blocks test it completely.

Encoding (as tools/make_quant_fixtures.py): packed bytes are hex, float32 arrays little-endian base64.
"""
import base64
import importlib.metadata
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import quants

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "QuantizationTests", "Fixtures",
                   "ggml_decoder_fixtures.json")
rng = np.random.default_rng(20261129)

# (type, block size, bytes per block, byte offsets of the fp16 scale fields)
FORMATS = {
    "Q4_1": (QT.Q4_1, 32, 20, [0, 2]),
    "Q5_0": (QT.Q5_0, 32, 22, [0]),
    "Q4_K": (QT.Q4_K, 256, 144, [0, 2]),
    "Q6_K": (QT.Q6_K, 256, 210, [208]),
}


def f32_b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def random_scales(n):
    """fp16 scale values: mostly normal magnitudes of either sign, plus zero and subnormals."""
    values = (rng.standard_normal(n) * 0.05).astype(np.float16)
    special = np.array([0.0, -0.0, 6e-8, -3e-6, 1.0, -2.5], dtype=np.float16)
    values[: min(n, len(special))] = special[: min(n, len(special))]
    return rng.permutation(values)


def random_blocks(block_bytes, scale_offsets, n_blocks):
    blocks = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    blocks[-1, :] = 0xFF  # every code and scale bit set
    for offset in scale_offsets:
        blocks[:, offset:offset + 2] = random_scales(n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return blocks


def quantized_blocks(qtype, block_size):
    rows = [rng.standard_normal(4 * block_size).astype(np.float32),
            np.full(block_size, 0.75, dtype=np.float32),
            np.zeros(block_size, dtype=np.float32)]
    rows[0][5] = 9.0  # an outlier sets one block's scale
    data = np.concatenate(rows)
    return quants.quantize(data.reshape(1, -1), qtype).reshape(-1)


def main():
    fixture = {"source": "gguf-py gguf.quants.dequantize (gguf %s)" % importlib.metadata.version("gguf")}
    for name, (qtype, block_size, block_bytes, scale_offsets) in FORMATS.items():
        packed = [random_blocks(block_bytes, scale_offsets, 8 if block_size == 32 else 4).reshape(-1)]
        if name in ("Q4_1", "Q5_0"):
            packed.insert(0, quantized_blocks(qtype, block_size))
        packed = np.concatenate(packed)
        n_blocks = packed.size // block_bytes
        values = quants.dequantize(packed.reshape(1, -1), qtype).reshape(-1).astype(np.float32)
        assert values.size == n_blocks * block_size
        fixture[name] = {"count": int(values.size), "bytes": packed.tobytes().hex(), "dequantized": f32_b64(values)}
        print(f"{name}: {n_blocks} blocks, {int(np.isnan(values).sum())} NaN")
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()

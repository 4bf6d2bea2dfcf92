#!/usr/bin/env python3
"""Writes the small safetensors seeds of the safetensors fuzz target (Fuzz/seeds/safetensors/), standard
library only: an F32/BF16/F16 file with transformers' {"format": "pt"} metadata, and one tagged the way
`mixtral-lab quantize` tags a GGML Q4_0 weight (QuantizedTensorLayout). Small seeds keep the fuzzer fast;
the fixtures' real checkpoints are seeds too (scripts/fuzz.sh).

    python3 tools/make_fuzz_seeds.py
"""
import json
import os
import struct

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fuzz", "seeds", "safetensors")


def write(path, tensors, metadata=None):
    """safetensors layout: 8-byte little-endian header length, JSON header (padded with spaces to 8), data."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def floats(n):
    return struct.pack("<%df" % n, *[0.5 * i - 1 for i in range(n)])


def main():
    os.makedirs(FOLDER, exist_ok=True)
    write(os.path.join(FOLDER, "f32-bf16-f16.safetensors"), {
        "model.norm.weight": ("F32", [8], floats(8)),
        "model.layers.0.self_attn.q_proj.weight": ("BF16", [2, 4], b"\x80\x3f" * 8),
        "lm_head.weight": ("F16", [4, 2], b"\x00\x3c" * 8),
    }, {"format": "pt"})
    weight = "model.layers.0.block_sparse_moe.experts.0.w1.weight"
    write(os.path.join(FOLDER, "ggml-tagged.safetensors"), {
        weight: ("U8", [1, 18], bytes(range(18))),
        "model.norm.weight": ("F32", [2], floats(2)),
    }, {"format": "pt", "mixtral-lab.format": "ggml", weight: "Q4_0"})


if __name__ == "__main__":
    main()

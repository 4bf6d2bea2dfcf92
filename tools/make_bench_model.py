#!/usr/bin/env python3
"""The `bench` preset: a random-weight Mixtral checkpoint for decode benchmarks (not committed, ~3.2 GB).

    tools/.venv/bin/python tools/make_bench_model.py OUTDIR [--numpy]   # e.g. ../bench-model

Shape (issue 2, "Performance"): hidden 1024, 8 layers, 8 experts (top-2), intermediate 3584, 16 heads,
4 KV heads (head_dim 64), vocab 32000, rope_theta 1e6, untied lm_head. About 791 M parameters, of which
about 230 M are active per token (≈ 0.92 GB of fp32 weights read per decoded token).

Writes OUTDIR/config.json and OUTDIR/model.safetensors (fp32, one file, written by transformers'
`MixtralForCausalLM.save_pretrained` from its own random init, seed 0) and OUTDIR/tokenizer.json.
Without torch and transformers (`--numpy`, or when they are not installed), numpy draws the same
shapes with the same distribution as transformers' init (weights normal(0, 0.02), norms 1; seed 0,
other values than torch's) and they are streamed into model.safetensors one tensor at a time, in the
classic Mixtral names (model.layers.N.block_sparse_moe.experts.E.w1 …), using about 0.3 GB of memory.
The tokenizer is a minimal Mixtral-style one (Hub form: normalizer Prepend("▁") + Replace(" ", "▁"),
BPE with byte_fallback and no merges, decoder Replace + ByteFallback + Fuse + Strip, "<s> $A" template)
whose vocabulary has exactly 32000 entries: <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF>, "▁",
then filler pieces "▁tok259" … "▁tok31999". Text therefore encodes to byte tokens; that is all a benchmark
on random weights needs.

Idempotent: when OUTDIR already holds this config, a complete model.safetensors and the tokenizer, it only
says so. Uses 2 threads and about 7 GB of memory while saving.
"""

import importlib.util
import json
import os
import struct
import sys

VOCAB_SIZE = 32000
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>"]

# The preset's shape; config.json must hold exactly these values for the checkpoint to count as present.
BENCH_SHAPE = {
    "vocab_size": VOCAB_SIZE,
    "hidden_size": 1024,
    "intermediate_size": 3584,
    "num_hidden_layers": 8,
    "num_attention_heads": 16,
    "num_key_value_heads": 4,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1e6},
}


def make_tokenizer():
    """Minimal Mixtral-style tokenizer with a 32000-entry vocabulary (see the module docstring)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, processors

    pieces = SPECIAL_TOKENS + [f"<0x{b:02X}>" for b in range(256)] + ["▁"]
    pieces += [f"▁tok{i}" for i in range(len(pieces), VOCAB_SIZE)]
    vocab = {piece: i for i, piece in enumerate(pieces)}
    assert len(vocab) == VOCAB_SIZE
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tokenizer.decoder = decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0),
    ])
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return tokenizer


def check_tokenizer(tokenizer) -> None:
    assert tokenizer.get_vocab_size() == VOCAB_SIZE
    text = "Hello, wörld €"
    encoding = tokenizer.encode(text)
    assert encoding.ids[0] == 1 and all(3 <= i <= 259 for i in encoding.ids[1:]), encoding.ids
    assert tokenizer.decode(encoding.ids) == text, tokenizer.decode(encoding.ids)


def safetensors_complete(path: str) -> bool:
    """True when the file's size matches its header (8-byte length, JSON header, then the data)."""
    if not os.path.exists(path):
        return False
    with open(path, "rb") as f:
        header_length = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_length))
    end = max(entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__")
    return os.path.getsize(path) == 8 + header_length + end


def up_to_date(out_dir: str) -> bool:
    config_path = os.path.join(out_dir, "config.json")
    if not (os.path.exists(config_path) and os.path.exists(os.path.join(out_dir, "tokenizer.json"))):
        return False
    with open(config_path) as f:
        saved = json.load(f)
    return all(saved.get(key) == value for key, value in BENCH_SHAPE.items()) and safetensors_complete(
        os.path.join(out_dir, "model.safetensors"))


def write_model(out_dir: str) -> int:
    """Random-init MixtralForCausalLM saved as one fp32 model.safetensors; returns the parameter count."""
    # Imported here so that the up-to-date check above runs in well under a second.
    import torch
    from transformers import MixtralConfig, MixtralForCausalLM
    from transformers.utils import logging as transformers_logging

    torch.set_num_threads(2)
    transformers_logging.disable_progress_bar()
    torch.manual_seed(0)
    config = MixtralConfig(
        **BENCH_SHAPE, max_position_embeddings=4096, rms_norm_eps=1e-5, tie_word_embeddings=False,
        bos_token_id=1, eos_token_id=2,
    )
    model = MixtralForCausalLM(config).eval()  # transformers' init: normal(0, initializer_range = 0.02)
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, max_shard_size="100GB")  # one model.safetensors
    generation_config = os.path.join(out_dir, "generation_config.json")
    if os.path.exists(generation_config):
        os.remove(generation_config)
    return sum(p.numel() for p in model.parameters())


def numpy_tensors():
    """(name, shape, kind) of every tensor of the preset in the classic Mixtral layout; kind "norm" is all ones."""
    hidden, inter, vocab = BENCH_SHAPE["hidden_size"], BENCH_SHAPE["intermediate_size"], VOCAB_SIZE
    head_dim = hidden // BENCH_SHAPE["num_attention_heads"]
    q, kv = BENCH_SHAPE["num_attention_heads"] * head_dim, BENCH_SHAPE["num_key_value_heads"] * head_dim
    yield "model.embed_tokens.weight", (vocab, hidden), "weight"
    for layer in range(BENCH_SHAPE["num_hidden_layers"]):
        prefix = f"model.layers.{layer}"
        yield f"{prefix}.input_layernorm.weight", (hidden,), "norm"
        yield f"{prefix}.self_attn.q_proj.weight", (q, hidden), "weight"
        yield f"{prefix}.self_attn.k_proj.weight", (kv, hidden), "weight"
        yield f"{prefix}.self_attn.v_proj.weight", (kv, hidden), "weight"
        yield f"{prefix}.self_attn.o_proj.weight", (hidden, q), "weight"
        yield f"{prefix}.post_attention_layernorm.weight", (hidden,), "norm"
        yield f"{prefix}.block_sparse_moe.gate.weight", (BENCH_SHAPE["num_local_experts"], hidden), "weight"
        for expert in range(BENCH_SHAPE["num_local_experts"]):
            yield f"{prefix}.block_sparse_moe.experts.{expert}.w1.weight", (inter, hidden), "weight"
            yield f"{prefix}.block_sparse_moe.experts.{expert}.w2.weight", (hidden, inter), "weight"
            yield f"{prefix}.block_sparse_moe.experts.{expert}.w3.weight", (inter, hidden), "weight"
    yield "model.norm.weight", (hidden,), "norm"
    yield "lm_head.weight", (vocab, hidden), "weight"


def write_model_numpy(out_dir: str) -> int:
    """The preset drawn by numpy (see the module docstring) and streamed into model.safetensors; returns
    the parameter count."""
    import numpy as np

    tensors = list(numpy_tensors())
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in tensors:
        size = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    header_bytes = json.dumps(header).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(0)
    path = os.path.join(out_dir, "model.safetensors")
    with open(path + ".partial", "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)) + header_bytes)
        for _, shape, kind in tensors:
            if kind == "norm":
                f.write(np.ones(shape, dtype="<f4").tobytes())
                continue
            for row in range(0, shape[0], 1024):   # at most 1024 rows (≤ 15 MB) at a time
                rows = min(1024, shape[0] - row)
                chunk = rng.standard_normal((rows,) + shape[1:], dtype=np.float32) * np.float32(0.02)
                f.write(chunk.astype("<f4").tobytes())
    os.replace(path + ".partial", path)
    config = dict(BENCH_SHAPE, architectures=["MixtralForCausalLM"], model_type="mixtral",
                  max_position_embeddings=4096, rms_norm_eps=1e-5, tie_word_embeddings=False,
                  bos_token_id=1, eos_token_id=2, hidden_act="silu", initializer_range=0.02,
                  torch_dtype="float32", sliding_window=None, attention_dropout=0.0)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return offset // 4


def main() -> int:
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(__doc__)
        return 0
    arguments = [a for a in sys.argv[1:] if a != "--numpy"]
    if len(arguments) != 1 or arguments[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = arguments[0]
    if up_to_date(out_dir):
        print(f"{out_dir}: bench model already present, nothing to do")
        return 0

    try:
        use_numpy = "--numpy" in sys.argv or not (importlib.util.find_spec("torch") and importlib.util.find_spec("transformers"))
    except ValueError:
        use_numpy = True
    parameters = write_model_numpy(out_dir) if use_numpy else write_model(out_dir)
    tokenizer = make_tokenizer()
    check_tokenizer(tokenizer)
    tokenizer.save(os.path.join(out_dir, "tokenizer.json"))
    assert up_to_date(out_dir)
    size = os.path.getsize(os.path.join(out_dir, "model.safetensors"))
    print(f"{out_dir}: {parameters / 1e6:.1f} M parameters, model.safetensors {size / 1e9:.2f} GB, tokenizer.json "
          f"{VOCAB_SIZE} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())

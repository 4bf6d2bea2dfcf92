#!/usr/bin/env python3
"""The `bench` preset: a random-weight Mixtral checkpoint for decode benchmarks (not committed, ~3.2 GB).

    /work/venv/bin/python tools/make_bench_model.py OUTDIR        # e.g. /work/bench-model

Shape (issue 2, "Performance"): hidden 1024, 8 layers, 8 experts (top-2), intermediate 3584, 16 heads,
4 KV heads (head_dim 64), vocab 32000, rope_theta 1e6, untied lm_head. About 791 M parameters, of which
about 230 M are active per token (≈ 0.92 GB of fp32 weights read per decoded token).

Writes OUTDIR/config.json and OUTDIR/model.safetensors (fp32, one file, written by transformers'
`MixtralForCausalLM.save_pretrained` from its own random init, seed 0) and OUTDIR/tokenizer.json.
The tokenizer is a minimal Mixtral-style one (Hub form: normalizer Prepend("▁") + Replace(" ", "▁"),
BPE with byte_fallback and no merges, decoder Replace + ByteFallback + Fuse + Strip, "<s> $A" template)
whose vocabulary has exactly 32000 entries: <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF>, "▁",
then filler pieces "▁tok259" … "▁tok31999". Text therefore encodes to byte tokens; that is all a benchmark
on random weights needs.

Idempotent: when OUTDIR already holds this config, a complete model.safetensors and the tokenizer, it only
says so. Uses 2 threads and about 7 GB of memory while saving.
"""

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


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    if up_to_date(out_dir):
        print(f"{out_dir}: bench model already present, nothing to do")
        return 0

    parameters = write_model(out_dir)
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

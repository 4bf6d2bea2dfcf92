#!/usr/bin/env python3
"""Very small whole GGUF Mixtrals for the gguf fuzz target's seed corpus (Fuzz/seeds/gguf/), written by gguf-py.

The test fixtures' smallest whole models (Tests/EngineTests/Fixtures/gguf/tiny-q8_0.gguf, 97 KiB, 384-token
vocabulary) make every fuzz input decode ~100 KiB of blocks and build a 384-piece tokenizer; these seeds are
the same model cut down — 1 layer, 2 experts (top-2), feed-forward 32, a 32-piece vocabulary (the 3 special
pieces, the byte pieces of "\n" and "☃" for byte fallback, the first 25 ordinary pieces), Q8_0 weights re-quantized by gguf-py from tiny-q8_0's values — so that a
fuzz input reaches every stage (header, metadata, tensor infos, config, tokenizer, every tensor decoded) in a
tenth of the bytes.

Re-create (from the repository root; needs gguf and numpy, tools/requirements.txt):

    tools/.venv/bin/python tools/make_gguf_fuzz_seed.py

Writes Fuzz/seeds/gguf/micro-q8_0.gguf (stacked experts, ffn_*_exps, GGUF version 3) and
micro-per-expert-v2.gguf (the older layout, blk.0.ffn_gate.E.weight …, version field set to 2, as
tools/make_gguf_fixtures.py makes tiny-per-expert-v2.gguf).
"""

import os

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFWriter
from gguf.quants import dequantize, quantize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "Tests/EngineTests/Fixtures/gguf/tiny-q8_0.gguf")
OUT = os.path.join(ROOT, "Fuzz/seeds/gguf")
VOCAB, EXPERTS, FEED_FORWARD = 32, 2, 32


def values(reader, name):
    """The tensor's dequantized values in numpy order (outermost dimension first)."""
    tensor = next(t for t in reader.tensors if t.name == name)
    return dequantize(tensor.data, tensor.tensor_type).reshape(list(reversed(tensor.shape.tolist())))


def write(out, per_expert):
    reader = GGUFReader(SOURCE)
    field = lambda key: reader.fields[key].contents()
    tokens = field("tokenizer.ggml.tokens")
    types = field("tokenizer.ggml.token_type")
    scores = field("tokenizer.ggml.scores")
    # the special pieces, the byte pieces of "\n" and of the fuzz target's "☃" (byte fallback), ordinary pieces
    byte_pieces = [tokens.index(f"<0x{b:02X}>") for b in b"\n" + "☃".encode()]
    ordinary = [i for i in range(len(tokens)) if types[i] == 1]
    keep = [i for i in range(len(tokens)) if types[i] == 3] + byte_pieces
    keep += ordinary[: VOCAB - len(keep)]

    writer = GGUFWriter(out, "llama")
    writer.add_name("Micro")
    writer.add_block_count(1)
    writer.add_context_length(field("llama.context_length"))
    writer.add_embedding_length(field("llama.embedding_length"))
    writer.add_feed_forward_length(FEED_FORWARD)
    writer.add_head_count(field("llama.attention.head_count"))
    writer.add_head_count_kv(field("llama.attention.head_count_kv"))
    writer.add_rope_freq_base(field("llama.rope.freq_base"))
    writer.add_layer_norm_rms_eps(field("llama.attention.layer_norm_rms_epsilon"))
    writer.add_expert_count(EXPERTS)
    writer.add_expert_used_count(2)
    writer.add_key_length(field("llama.attention.key_length"))
    writer.add_value_length(field("llama.attention.value_length"))
    writer.add_vocab_size(VOCAB)
    writer.add_rope_dimension_count(field("llama.rope.dimension_count"))
    writer.add_tokenizer_model("llama")
    writer.add_token_list([tokens[i] for i in keep])
    writer.add_token_scores([scores[i] for i in keep])
    writer.add_token_types([types[i] for i in keep])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)

    def add(name, array):
        array = np.ascontiguousarray(array, dtype=np.float32)
        if array.ndim >= 2 and array.shape[-1] % 32 == 0 and not name.endswith("ffn_gate_inp.weight"):
            writer.add_tensor(name, quantize(array, GGMLQuantizationType.Q8_0), raw_dtype=GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(name, array)

    add("token_embd.weight", values(reader, "token_embd.weight")[keep])
    add("output.weight", values(reader, "output.weight")[keep])
    add("output_norm.weight", values(reader, "output_norm.weight"))
    for part in ["attn_norm", "ffn_norm", "attn_q", "attn_k", "attn_v", "attn_output"]:
        add(f"blk.0.{part}.weight", values(reader, f"blk.0.{part}.weight"))
    add("blk.0.ffn_gate_inp.weight", values(reader, "blk.0.ffn_gate_inp.weight")[:EXPERTS])
    experts = {"gate": values(reader, "blk.0.ffn_gate_exps.weight")[:EXPERTS, :FEED_FORWARD],
               "up": values(reader, "blk.0.ffn_up_exps.weight")[:EXPERTS, :FEED_FORWARD],
               "down": values(reader, "blk.0.ffn_down_exps.weight")[:EXPERTS, :, :FEED_FORWARD]}
    for part, array in experts.items():
        if per_expert:
            for e in range(EXPERTS):
                add(f"blk.0.ffn_{part}.{e}.weight", array[e])
        else:
            add(f"blk.0.ffn_{part}_exps.weight", array)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    if per_expert:
        with open(out, "r+b") as f:
            f.seek(4)
            f.write((2).to_bytes(4, "little"))
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


def main():
    write(os.path.join(OUT, "micro-q8_0.gguf"), per_expert=False)
    write(os.path.join(OUT, "micro-per-expert-v2.gguf"), per_expert=True)


if __name__ == "__main__":
    main()

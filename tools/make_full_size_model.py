#!/usr/bin/env python3
"""Writes a GGUF file with Mixtral-8x7B's exact shape and random weights, for measuring offloading at
full size (26.3 GB at Q4_0) without downloading the real model.

    tools/.venv/bin/python tools/make_full_size_model.py OUT.gguf                 # Mixtral-8x7B, Q4_0, stacked experts
    tools/.venv/bin/python tools/make_full_size_model.py OUT.gguf --type q8_0     # Q8_0 (49.9 GB)
    tools/.venv/bin/python tools/make_full_size_model.py OUT.gguf --per-expert    # blk.N.ffn_gate.E.weight … (older conversions, Ollama blobs)
    tools/.venv/bin/python tools/make_full_size_model.py OUT.gguf --small         # hidden 64, 2 layers: a few MB, for quick checks

Packages: numpy, gguf (gguf-py), sentencepiece. Network: one `pip download mistral-common --no-deps` for
the vocabulary, unless --tokenizer-model PATH names `mistral_common/data/tokenizer.model.v1` already
unpacked. Memory: one tensor at a time (the largest, a layer's stacked experts, is 264 MB at Q4_0), and the
written pages are dropped from the page cache as the file grows, so other processes keep theirs.

The shape (Mixtral-8x7B-v0.1 config.json on the Hub): vocab 32000, hidden 4096, 32 layers, 32 query and 8
KV heads of 128, intermediate 14336, 8 experts top-2, RoPE theta 1e6, RMSNorm eps 1e-5, context 32768.

The weights:
- norms: F32 ones; routers (`ffn_gate_inp`): F32, normal with std 1.5/sqrt(hidden), as llama.cpp keeps
  both in F32 in its quantized files;
- every other matrix (embedding, attention, experts, output head): Q4_0 (or Q8_0), each block's codes
  uniformly random and its scale of random sign with magnitude uniform in [0.75, 1.25]·s. Uniform Q4_0
  codes average 7.5 against the zero level 8 (ggml `dequantize_row_q4_0`: d·(q − 8)), so with positive
  scales every weight would carry −0.5·d, a common offset that swamps the router's token-dependent input:
  every token then routes to the same two experts, which flatters any cache. Random signs remove it.
- s gives each weight the standard deviation gain/sqrt(fan_in) (Q4_0 codes: E[(q − 8)²] = 21.5 over the
  16 levels; Q8_0 codes uniform in −127…127: E[q²] = 5376), so a product keeps its input's scale: gain 1
  for q, k, v and the experts, 2 for the output head (logits of standard deviation ≈ 2: a spread-out
  distribution that sampling explores). Routing must stay token-dependent in every layer, so the token's
  own embedding must dominate the residual stream that the routers read: embedding rows of standard
  deviation 4 (variance 16) and attention outputs at gain 0.5. Causal attention averages the values of
  all earlier positions, a part nearly the same for neighbouring tokens; at gain 1 with embedding rows of
  standard deviation 1/sqrt(hidden), that part took over and the deep layers routed 80 % of the tokens of
  a varied text to one expert, some layers using only 4 of the 8 (a 26 GB file made that way). With these
  gains, a 32-layer file of hidden 256 (`--hidden 256 --ffn 512 --heads 8 --kv-heads 2 --head-dim 32`)
  routes the same 169-token text over all 8 experts in every layer, no expert taking more than 20 % of
  the choices (uniform: 12.5 %). Activations stay finite: each block adds about one unit of variance.

The vocabulary is the real Mixtral one: the SentencePiece model that `mistral-common` ships, written as
llama.cpp's convert_hf_to_gguf.py writes a sentencepiece vocabulary (`tokenizer.ggml.model = "llama"`,
tokens, scores, token types from the model's piece types; bos 1, eos 2, unknown 0, add_bos_token).

Refuses to overwrite an existing file without --force; bad arguments exit 2 with one message.
"""

import argparse
import glob
import math
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T

FULL = dict(hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, ffn=14336, experts=8, top_k=2,
            rope_theta=1e6, context=32768)
SMALL = dict(hidden=64, layers=2, heads=4, kv_heads=2, head_dim=16, ffn=128, experts=8, top_k=2,
             rope_theta=1e6, context=4096)

# E[code²] of a uniformly random code around the format's zero level (see the module docstring).
CODE_VARIANCE = {T.Q4_0: sum((q - 8) ** 2 for q in range(16)) / 16,
                 T.Q8_0: sum(q * q for q in range(-127, 128)) / 255}
BLOCK = 32
TYPE_SIZE = {T.Q4_0: 2 + 16, T.Q8_0: 2 + 32}
DROP_EVERY = 1 << 30   # drop written pages from the page cache every GiB


def fail(message):
    print(f"make_full_size_model.py: {message}", file=sys.stderr)
    sys.exit(2)


def spm_model(path, scratch):
    """The Mixtral SentencePiece model: `path` if given, else unpacked from the mistral-common wheel."""
    if path:
        if not os.path.isfile(path):
            fail(f"--tokenizer-model {path}: no such file")
        return path
    subprocess.run([sys.executable, "-m", "pip", "download", "mistral-common", "--no-deps", "--quiet", "-d", scratch],
                   check=True)
    wheel = glob.glob(os.path.join(scratch, "mistral_common-*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        return z.extract("mistral_common/data/tokenizer.model.v1", scratch)


def vocabulary(model_path):
    """(tokens, scores, token types) as convert_hf_to_gguf.py's `_create_vocab_sentencepiece` makes them."""
    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(model_file=model_path)
    tokens, scores, types = [], [], []
    for i in range(sp.vocab_size()):
        tokens.append(sp.id_to_piece(i).encode("utf-8"))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(gguf.TokenType.UNKNOWN)
        elif sp.is_control(i):
            types.append(gguf.TokenType.CONTROL)
        elif sp.is_unused(i):
            types.append(gguf.TokenType.UNUSED)
        elif sp.is_byte(i):
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    return tokens, scores, types


def random_blocks(rng, qtype, rows, cols, gain):
    """`rows × cols` weights as GGML blocks `[rows · cols/32, typeSize]` uint8: random codes, scales of
    random sign and magnitude uniform in [0.75, 1.25]·s, s chosen for a weight std of gain/sqrt(cols)."""
    blocks = rows * cols // BLOCK
    s = gain / math.sqrt(cols) / math.sqrt(CODE_VARIANCE[qtype])
    out = np.empty((blocks, TYPE_SIZE[qtype]), dtype=np.uint8)
    step = 1 << 22
    for start in range(0, blocks, step):
        n = min(step, blocks - start)
        scale = (rng.uniform(0.75, 1.25, n) * s * rng.choice([-1.0, 1.0], n)).astype(np.float16)
        out[start:start + n, 0:2] = scale.view(np.uint8).reshape(n, 2)
        codes = np.frombuffer(rng.bytes(n * (TYPE_SIZE[qtype] - 2)), dtype=np.uint8).reshape(n, -1)
        if qtype == T.Q8_0:
            # int8 codes uniform in −127…127 (−128 is never produced by ggml's quantizer)
            codes = np.where(codes == 128, np.uint8(0), codes)
        out[start:start + n, 2:] = codes
    return out


class Plan:
    """The tensors in llama.cpp's order: (name, GGML dims fastest first, type, how to make the bytes)."""

    def __init__(self, shape, qtype, per_expert, vocab):
        self.items = []
        h, f, e = shape["hidden"], shape["ffn"], shape["experts"]
        q_rows, kv_rows = shape["heads"] * shape["head_dim"], shape["kv_heads"] * shape["head_dim"]

        def matrix(name, rows, cols, gain):
            self.items.append((name, [cols, rows], qtype, ("blocks", rows, cols, gain)))

        def f32(name, dims, kind):
            self.items.append((name, dims, T.F32, kind))

        matrix("token_embd.weight", vocab, h, 4 * math.sqrt(h))   # rows of standard deviation 4 (see the docstring)
        for layer in range(shape["layers"]):
            b = f"blk.{layer}"
            f32(f"{b}.attn_norm.weight", [h], ("ones",))
            # q/k rows of random weights need no RoPE permutation (any order is equally random)
            matrix(f"{b}.attn_q.weight", q_rows, h, 1.0)
            matrix(f"{b}.attn_k.weight", kv_rows, h, 1.0)
            matrix(f"{b}.attn_v.weight", kv_rows, h, 1.0)
            matrix(f"{b}.attn_output.weight", h, q_rows, 0.5)
            f32(f"{b}.ffn_gate_inp.weight", [h, e], ("normal", 1.5 / math.sqrt(h)))
            for ffn, rows, cols in (("ffn_gate", f, h), ("ffn_down", h, f), ("ffn_up", f, h)):
                if per_expert:
                    for x in range(e):
                        matrix(f"{b}.{ffn}.{x}.weight", rows, cols, 1.0)
                else:
                    self.items.append((f"{b}.{ffn}_exps.weight", [cols, rows, e], qtype, ("blocks", e * rows, cols, 1.0)))
            f32(f"{b}.ffn_norm.weight", [h], ("ones",))
        f32("output_norm.weight", [h], ("ones",))
        matrix("output.weight", vocab, h, 2.0)

    @staticmethod
    def nbytes(dims, qtype):
        count = int(np.prod(dims))
        return count * 4 if qtype == T.F32 else count // BLOCK * TYPE_SIZE[qtype]

    @staticmethod
    def make(rng, dims, qtype, kind):
        if kind[0] == "ones":
            return np.ones(dims[::-1], dtype=np.float32)
        if kind[0] == "normal":
            return rng.normal(0, kind[1], dims[::-1]).astype(np.float32)
        _, rows, cols, gain = kind
        return random_blocks(rng, qtype, rows, cols, gain)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", help="the GGUF file to write")
    parser.add_argument("--type", choices=["q4_0", "q8_0"], default="q4_0", help="type of every matrix but the routers")
    parser.add_argument("--per-expert", action="store_true",
                        help="one tensor per expert projection (blk.N.ffn_gate.E.weight) instead of stacked ffn_*_exps")
    parser.add_argument("--small", action="store_true", help="a tiny model of the same kind: " + ", ".join(f"{k} {v}" for k, v in SMALL.items()))
    for key in ("hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "experts", "top_k"):
        parser.add_argument("--" + key.replace("_", "-"), type=int, help=f"override {key} (Mixtral-8x7B: {FULL[key]})")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tokenizer-model", help="Mixtral's tokenizer.model.v1 (default: downloaded from mistral-common)")
    parser.add_argument("--force", action="store_true", help="replace an existing output file")
    args = parser.parse_args()

    shape = dict(SMALL if args.small else FULL)
    for key in ("hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "experts", "top_k"):
        value = getattr(args, key)
        if value is not None:
            if value <= 0:
                fail(f"--{key.replace('_', '-')} must be positive, got {value}")
            shape[key] = value
    for key in ("hidden", "ffn"):
        if shape[key] % BLOCK:
            fail(f"--{key} {shape[key]} is not a multiple of {BLOCK} (GGML blocks)")
    if (shape["heads"] * shape["head_dim"]) % BLOCK:
        fail(f"heads × head-dim = {shape['heads'] * shape['head_dim']} is not a multiple of {BLOCK}")
    if shape["heads"] % shape["kv_heads"]:
        fail(f"--heads {shape['heads']} is not a multiple of --kv-heads {shape['kv_heads']}")
    if shape["top_k"] > shape["experts"]:
        fail(f"--top-k {shape['top_k']} is more than --experts {shape['experts']}")
    output = os.path.abspath(args.output)
    if not os.path.isdir(os.path.dirname(output)):
        fail(f"{args.output}: the folder {os.path.dirname(output)} does not exist")
    if os.path.isdir(output):
        fail(f"{args.output} is a folder; give a file name")
    if os.path.exists(output) and not args.force:
        fail(f"{args.output} exists; pass --force to replace it")
    if os.path.exists(output) and not os.path.isfile(output):
        fail(f"{args.output} is not a regular file; refusing to replace it")
    qtype = T.Q4_0 if args.type == "q4_0" else T.Q8_0

    with tempfile.TemporaryDirectory() as scratch:
        tokens, scores, types = vocabulary(spm_model(args.tokenizer_model, scratch))
    vocab = len(tokens)
    plan = Plan(shape, qtype, args.per_expert, vocab)
    total = sum(Plan.nbytes(dims, t) for _, dims, t, _ in plan.items)
    print(f"writing {args.output}: {len(plan.items)} tensors, {total / 1e9:.2f} GB of weights "
          f"({args.type.upper()}, {'per-expert' if args.per_expert else 'stacked'} experts)", file=sys.stderr)

    writer = gguf.GGUFWriter(output + ".partial", "llama")
    writer.add_name("random Mixtral-8x7B shape" if not args.small else "random small Mixtral")
    writer.add_block_count(shape["layers"])
    writer.add_context_length(shape["context"])
    writer.add_embedding_length(shape["hidden"])
    writer.add_feed_forward_length(shape["ffn"])
    writer.add_head_count(shape["heads"])
    writer.add_head_count_kv(shape["kv_heads"])
    writer.add_rope_freq_base(shape["rope_theta"])
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_expert_count(shape["experts"])
    writer.add_expert_used_count(shape["top_k"])
    writer.add_key_length(shape["head_dim"])
    writer.add_value_length(shape["head_dim"])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0 if qtype == T.Q4_0 else gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_vocab_size(vocab)
    writer.add_rope_dimension_count(shape["head_dim"])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    for name, dims, t, _ in plan.items:
        nbytes = Plan.nbytes(dims, t)
        if t == T.F32:
            writer.add_tensor_info(name, dims[::-1], np.dtype(np.float32), nbytes)
        else:
            # byte shape: rows of blocks; gguf-py turns it into the weight shape
            writer.add_tensor_info(name, dims[::-1][:-1] + [dims[0] // BLOCK * TYPE_SIZE[t]], np.dtype(np.uint8), nbytes, raw_dtype=t)
    started = time.time()
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        fout = writer.fout[0]
        written, dropped = 0, 0
        for i, (name, dims, t, kind) in enumerate(plan.items):
            data = Plan.make(np.random.default_rng([args.seed, i]), dims, t, kind)
            writer.write_tensor_data(data)
            written += data.nbytes
            if written - dropped >= DROP_EVERY:
                fout.flush()
                os.fdatasync(fout.fileno())
                os.posix_fadvise(fout.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                dropped = written
                print(f"\r{written / 1e9:6.2f} of {total / 1e9:.2f} GB, {time.time() - started:.0f} s", end="", file=sys.stderr)
        writer.close()
        os.replace(output + ".partial", output)
    except BaseException:
        if os.path.exists(output + ".partial"):
            os.remove(output + ".partial")
        raise
    print(f"\rwrote {args.output}: {os.path.getsize(output) / 1e9:.2f} GB in {time.time() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

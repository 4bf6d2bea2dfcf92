#!/usr/bin/env python3
"""GGUF fixtures for the Swift GGUF reader, loader and exporter, written by gguf-py and llama.cpp's converter.

Re-create (from the repository root; needs torch, transformers, tokenizers, gguf — see tools/requirements.txt — a
llama.cpp checkout for convert_hf_to_gguf.py, and for the cross-check llama.cpp built by
tools/build_llama_cpp.sh plus a release build of mixtral-lab):

    swift build -c release
    LLAMA_CPP_LIB_PATH=../llama.cpp/build/bin tools/.venv/bin/python tools/make_gguf_fixtures.py \
        [--llama-cpp ../llama.cpp] [--mixtral-lab .build/release/mixtral-lab] [--skip-llama-cpp]

Writes
  Tests/CheckpointsTests/Fixtures/gguf/
    metadata-types.gguf   gguf-py GGUFWriter: one key of every metadata value type, arrays of each, nested
                          arrays, general.alignment 64, and small F32/F16/BF16/Q8_0/Q4_0 tensors
    metadata-types.json   what gguf-py's GGUFReader reads back from it: {"keys": [[key, type, value]],
                          "tensors": [{name, type, dims (ggml order), values (dequantized)}]}
    k-quants.gguf/.json   random (finite-scale) Q4_K and Q6_K blocks [2, 256] each, and gguf-py's
                          dequantized values (gguf-py cannot quantize K-quants; decoding is what is tested)
  Tests/EngineTests/Fixtures/gguf/
    tiny/                 a tiny random-weight Mixtral (transformers save_pretrained, fp32): hidden 32,
                          intermediate 64, 2 layers, 4 heads / 2 KV heads (head_dim 8), 4 experts top-2,
                          and a 384-token BPE tokenizer in Mixtral's layout (tools/shakespeare_tokenizer.py)
                          trained on the default model's held-out text
    tiny-f32.gguf         convert_hf_to_gguf.py tiny --outtype f32 (stacked experts, permuted q/k)
    tiny-q8_0.gguf        convert_hf_to_gguf.py tiny --outtype q8_0
    tiny-per-expert-v2.gguf  the tensors of tiny-q8_0.gguf rewritten by gguf-py GGUFWriter in the older
                          per-expert layout (blk.N.ffn_gate.E.weight …), version field set to 2
    tiny-mixed.gguf       tiny-f32.gguf's tensors re-encoded by gguf-py in the types the loader decodes:
                          attn_q Q4_1, attn_k Q5_0, attn_v F16, attn_output BF16, ffn_gate_exps Q4_1,
                          ffn_up_exps Q5_0, ffn_down_exps Q4_0, token_embd Q8_0 (output, norms, router F32)
    tiny-mixed.json       per tensor of tiny-mixed.gguf, gguf-py's dequantized values (stored order): count,
                          sum, sum of squares, first 16
    llama-cpp-default-{fp32,q4}.json  llama.cpp's logits (tools/llama_cpp_logits.py, llama-cpp-python) for
                          PROMPT on the default model exported by `mixtral-lab export --precision fp32|q4`:
                          {"tokens", "precision", "gguf_bytes", "positions", "logits": [last 4 positions][vocab]}
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from transformers import MixtralConfig, MixtralForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shakespeare_tokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKPOINTS_OUT = os.path.join(ROOT, "Tests/CheckpointsTests/Fixtures/gguf")
ENGINE_OUT = os.path.join(ROOT, "Tests/EngineTests/Fixtures/gguf")
TOKENIZER_VOCAB = 384
SEED = 99


def gguf_module(llama_cpp: str):
    """gguf-py from the llama.cpp checkout (the one its converter uses), else the installed package."""
    local = os.path.join(llama_cpp, "gguf-py")
    if os.path.isdir(local):
        sys.path.insert(0, local)
    import gguf
    return gguf


def make_metadata_types(gguf) -> None:
    path = os.path.join(CHECKPOINTS_OUT, "metadata-types.gguf")
    w = gguf.GGUFWriter(path, arch="test")
    T = gguf.GGUFValueType
    w.add_custom_alignment(64)
    w.add_uint8("t.uint8", 200)
    w.add_int8("t.int8", -100)
    w.add_uint16("t.uint16", 60000)
    w.add_int16("t.int16", -30000)
    w.add_uint32("t.uint32", 4_000_000_000)
    w.add_int32("t.int32", -2_000_000_000)
    w.add_float32("t.float32", 0.1)
    w.add_bool("t.bool", True)
    w.add_string("t.string", "héllo ▁wörld")
    w.add_uint64("t.uint64", 18_000_000_000_000_000_000)
    w.add_int64("t.int64", -9_000_000_000_000_000_000)
    w.add_float64("t.float64", 3.141592653589793)
    w.add_key_value("t.array.uint8", [1, 2, 255], T.ARRAY, sub_type=T.UINT8)
    w.add_key_value("t.array.int16", [-1, 2], T.ARRAY, sub_type=T.INT16)
    w.add_key_value("t.array.uint64", [0, 2**63], T.ARRAY, sub_type=T.UINT64)
    w.add_key_value("t.array.float32", [0.5, -1.25], T.ARRAY, sub_type=T.FLOAT32)
    w.add_key_value("t.array.float64", [1e-300], T.ARRAY, sub_type=T.FLOAT64)
    w.add_key_value("t.array.bool", [True, False], T.ARRAY, sub_type=T.BOOL)
    w.add_key_value("t.array.string", ["a", "", "▁b"], T.ARRAY, sub_type=T.STRING)
    w.add_key_value("t.array.nested", [[1, 2], [3]], T.ARRAY)
    w.add_key_value("t.array.nested.strings", [["x"], ["y", "z"]], T.ARRAY)
    rng = np.random.default_rng(SEED)
    w.add_tensor("f32", rng.standard_normal((2, 32)).astype(np.float32))
    w.add_tensor("f16", rng.standard_normal((3, 4)).astype(np.float16))
    for name, qtype in [("bf16", gguf.GGMLQuantizationType.BF16), ("q8_0", gguf.GGMLQuantizationType.Q8_0),
                        ("q4_0", gguf.GGMLQuantizationType.Q4_0)]:
        values = rng.standard_normal((2, 64)).astype(np.float32)
        w.add_tensor(name, gguf.quants.quantize(values, qtype), raw_dtype=qtype)
    w.add_tensor("vector", np.arange(5, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    reader = gguf.GGUFReader(path)
    keys = []
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        value = field.contents()
        if isinstance(value, float) and field.types[0] == T.FLOAT32:
            value = float(np.float32(value))
        keys.append([key, [t.name for t in field.types], value])
    tensors = []
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64).reshape(-1)
        tensors.append({"name": t.name, "type": t.tensor_type.name, "dims": [int(d) for d in t.shape],
                        "values": [float(v) for v in values]})
    with open(os.path.join(CHECKPOINTS_OUT, "metadata-types.json"), "w") as f:
        json.dump({"keys": keys, "tensors": tensors}, f, indent=1, ensure_ascii=False)
        f.write("\n")


def make_k_quants(gguf) -> None:
    path = os.path.join(CHECKPOINTS_OUT, "k-quants.gguf")
    rng = np.random.default_rng(SEED + 1)
    w = gguf.GGUFWriter(path, arch="test")
    tensors = []
    for name, qtype, scale_offsets in [("q4_K", gguf.GGMLQuantizationType.Q4_K, (0, 2)),
                                       ("q6_K", gguf.GGMLQuantizationType.Q6_K, (208,))]:
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        blocks = rng.integers(0, 256, size=(2, type_size), dtype=np.uint8)
        for offset in scale_offsets:  # fp16 super-block scales: small finite values
            blocks[:, offset:offset + 2] = np.frombuffer(np.float16(rng.uniform(0.001, 0.05, 2)).tobytes(), np.uint8).reshape(2, 2)
        w.add_tensor(name, blocks, raw_dtype=qtype)
        values = gguf.quants.dequantize(blocks, qtype).reshape(-1)
        tensors.append({"name": name, "type": qtype.name, "values": [float(v) for v in values]})
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open(os.path.join(CHECKPOINTS_OUT, "k-quants.json"), "w") as f:
        json.dump({"tensors": tensors}, f)
        f.write("\n")


MIXED_TYPES = {"attn_q": "Q4_1", "attn_k": "Q5_0", "attn_v": "F16", "attn_output": "BF16", "ffn_gate_exps": "Q4_1",
               "ffn_up_exps": "Q5_0", "ffn_down_exps": "Q4_0", "token_embd": "Q8_0"}


def make_mixed_types(gguf, source: str, outfile: str) -> None:
    reader = gguf.GGUFReader(source)
    w = gguf.GGUFWriter(outfile, arch=reader.fields["general.architecture"].contents())
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        main = field.types[0]
        w.add_key_value(key, field.contents(), main, sub_type=field.types[-1] if main == gguf.GGUFValueType.ARRAY else None)
    summary = []
    for t in reader.tensors:
        kind = t.name.split(".")[-2]
        qtype = gguf.GGMLQuantizationType[MIXED_TYPES.get(kind, "F32")]
        values = np.array(t.data, dtype=np.float32)
        data = values.astype(np.float16) if qtype == gguf.GGMLQuantizationType.F16 else \
            values if qtype == gguf.GGMLQuantizationType.F32 else gguf.quants.quantize(values, qtype)
        w.add_tensor(t.name, data, raw_dtype=None if qtype in (gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.F32) else qtype)
        decoded = gguf.quants.dequantize(data if data.dtype == np.uint8 else data.view(np.uint8), qtype).astype(np.float64).reshape(-1)
        summary.append({"name": t.name, "type": qtype.name, "count": int(decoded.size), "sum": float(decoded.sum()),
                        "sum_of_squares": float((decoded ** 2).sum()), "first": [float(v) for v in decoded[:16]]})
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open(outfile[: -len(".gguf")] + ".json", "w") as f:
        json.dump({"tensors": summary}, f)
        f.write("\n")


def make_tiny_checkpoint(directory: str) -> None:
    with open(os.path.join(ROOT, "models/shakespeare-mixtral/heldout.txt"), encoding="utf-8") as f:
        texts = [line for line in f.read().split("\n") if line.strip()]
    tokenizer = shakespeare_tokenizer.train_tokenizer(texts, TOKENIZER_VOCAB)
    os.makedirs(directory, exist_ok=True)
    tokenizer.save(os.path.join(directory, "tokenizer.json"))
    with open(os.path.join(ROOT, "models/shakespeare-mixtral/tokenizer_config.json")) as f:
        tokenizer_config = json.load(f)
    tokenizer_config["model_max_length"] = 256
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config, f, indent=2)
        f.write("\n")

    torch.manual_seed(SEED)
    config = MixtralConfig(
        vocab_size=TOKENIZER_VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, num_local_experts=4, num_experts_per_tok=2,
        max_position_embeddings=256, rope_theta=1e6, rms_norm_eps=1e-5, tie_word_embeddings=False,
        bos_token_id=1, eos_token_id=2, sliding_window=None)
    model = MixtralForCausalLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * 1.5 / p.shape[-1] ** 0.5)
    model.save_pretrained(directory)


def convert(llama_cpp: str, directory: str, outtype: str, outfile: str) -> None:
    script = os.path.join(llama_cpp, "convert_hf_to_gguf.py")
    subprocess.run([sys.executable, script, directory, "--outtype", outtype, "--outfile", outfile],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rewrite_per_expert(gguf, source: str, outfile: str) -> None:
    """The tensors of `source` in the older layout: each `_exps` tensor [E, rows, cols] split into
    blk.N.ffn_{gate,down,up}.E.weight; metadata copied; then the version field set to 2."""
    reader = gguf.GGUFReader(source)
    arch = reader.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(outfile, arch=arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = field.contents()
        main = field.types[0]
        sub = field.types[-1] if main == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, value, main, sub_type=sub)
    for t in reader.tensors:
        if "_exps." in t.name:
            base = t.name.replace("_exps.weight", "")
            for e in range(t.data.shape[0]):
                w.add_tensor(f"{base}.{e}.weight", np.ascontiguousarray(t.data[e]), raw_dtype=t.tensor_type)
        else:
            w.add_tensor(t.name, np.ascontiguousarray(t.data), raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open(outfile, "r+b") as f:
        f.seek(4)
        f.write((2).to_bytes(4, "little"))


PROMPT = "ROMEO:\nBut soft, what light through yonder window breaks?"
LOGIT_POSITIONS = 4


def make_llama_cpp_logits(mixtral_lab: str) -> None:
    """Exports the default model with mixtral-lab and records llama.cpp's logits on the exported files."""
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(os.path.join(ROOT, "models/shakespeare-mixtral/tokenizer.json"))
    tokens = tokenizer.encode(PROMPT).ids
    with tempfile.TemporaryDirectory() as folder:
        for precision in ("fp32", "q4"):
            gguf_path = os.path.join(folder, f"default-{precision}.gguf")
            subprocess.run([mixtral_lab, "export", "--format", "gguf", "--precision", precision, "--output", gguf_path],
                           check=True, stdout=subprocess.DEVNULL)
            raw = os.path.join(folder, f"logits-{precision}.json")
            subprocess.run([sys.executable, os.path.join(ROOT, "tools/llama_cpp_logits.py"), gguf_path,
                            "--tokens", ",".join(map(str, tokens)), "--output", raw, "--threads", "2"],
                           check=True, stdout=subprocess.DEVNULL)
            with open(raw) as f:
                result = json.load(f)
            fixture = {"prompt": PROMPT, "tokens": tokens, "precision": precision,
                       "gguf_bytes": os.path.getsize(gguf_path), "llama_cpp_python": result["llama_cpp_python"],
                       "positions": result["positions"][-LOGIT_POSITIONS:], "logits": result["logits"][-LOGIT_POSITIONS:]}
            with open(os.path.join(ENGINE_OUT, f"llama-cpp-default-{precision}.json"), "w") as f:
                json.dump(fixture, f)
                f.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llama-cpp", default=str(Path(__file__).resolve().parents[2] / "llama.cpp"), help="llama.cpp checkout (convert_hf_to_gguf.py, gguf-py)")
    parser.add_argument("--mixtral-lab", default=os.path.join(ROOT, ".build/release/mixtral-lab"), help="mixtral-lab binary")
    parser.add_argument("--skip-llama-cpp", action="store_true", help="keep the committed llama.cpp logits")
    parser.add_argument("--only-llama-cpp", action="store_true", help="only re-record the llama.cpp logits")
    args = parser.parse_args()
    if not args.skip_llama_cpp:
        make_llama_cpp_logits(args.mixtral_lab)
    if args.only_llama_cpp:
        return
    gguf = gguf_module(args.llama_cpp)
    os.makedirs(CHECKPOINTS_OUT, exist_ok=True)
    os.makedirs(ENGINE_OUT, exist_ok=True)
    make_metadata_types(gguf)
    make_k_quants(gguf)
    tiny = os.path.join(ENGINE_OUT, "tiny")
    make_tiny_checkpoint(tiny)
    convert(args.llama_cpp, tiny, "f32", os.path.join(ENGINE_OUT, "tiny-f32.gguf"))
    convert(args.llama_cpp, tiny, "q8_0", os.path.join(ENGINE_OUT, "tiny-q8_0.gguf"))
    rewrite_per_expert(gguf, os.path.join(ENGINE_OUT, "tiny-q8_0.gguf"), os.path.join(ENGINE_OUT, "tiny-per-expert-v2.gguf"))
    make_mixed_types(gguf, os.path.join(ENGINE_OUT, "tiny-f32.gguf"), os.path.join(ENGINE_OUT, "tiny-mixed.gguf"))
    for folder in (CHECKPOINTS_OUT, ENGINE_OUT):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                print(f"{os.path.relpath(path, ROOT)}  {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()

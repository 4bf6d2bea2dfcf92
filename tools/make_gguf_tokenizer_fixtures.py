#!/usr/bin/env python3
"""Golden fixture for the GGUF SentencePiece tokenizer (`Tokenizer(sentencePiece:)`).

Re-create with (needs network for the one `pip download`, and llama.cpp built by
tools/build_llama_cpp.sh):

    LLAMA_CPP_LIB_PATH=../llama.cpp/build/bin tools/.venv/bin/python tools/make_gguf_tokenizer_fixtures.py

Environment: LLAMA_CPP_DIR (default: llama.cpp beside the checkout, where tools/build_llama_cpp.sh puts it) is the llama.cpp source tree whose
`conversion/` (convert_hf_to_gguf.py's model classes) and `gguf-py/` are used.
Packages: sentencepiece, numpy, torch, transformers (imported by llama.cpp's converter), llama-cpp-python.

What it does:
1. Downloads the real Mixtral tokenizer.model (mistral-common, as tools/make_tokenizer_fixtures.py)
   and puts it in a folder as the Hub's Mixtral-8x7B has it: with tokenizer.json (the fixture
   mixtral-tokenizer.json), tokenizer_config.json (add_bos_token, added_tokens_decoder for <unk>,
   <s>, </s>) and config.json (bos 1, eos 2).
2. Builds the vocabulary exactly as convert_hf_to_gguf.py does for a llama model with a
   tokenizer.model: `TextModel._create_vocab_sentencepiece` (tokens, scores, token types) and
   `_set_vocab_sentencepiece`'s metadata (`tokenizer.ggml.model = "llama"`, gguf.SpecialVocab for
   BOS/EOS/unknown ids and add_bos_token), and writes a vocabulary-only GGUF file.
3. Reads that file back with gguf-py's GGUFReader and checks its tokens equal, id by id, the pieces
   of Tests/CheckpointsTests/Fixtures/tokenizer/mixtral-tokenizer.json (so the test takes the tokens
   from there instead of storing them twice).
4. Tokenizes every string of cases.json with llama.cpp (llama-cpp-python, `vocab_only=True`,
   `tokenize(add_bos=True, special=False)`) and records the ids; prints where they differ from
   sentencepiece's ids in cases.json.
5. The same for the vocabulary the converter writes for a model that has only a tokenizer.json
   (`_set_vocab_llama_hf`, gguf-py `LlamaHfVocab`): same tokens, every score −1000, so llama.cpp merges
   the leftmost mergeable pair first — different ids from sentencepiece's on many strings.

Writes Tests/CheckpointsTests/Fixtures/tokenizer/gguf-vocabulary.json:
  scores, token_types ([32000] each, as the GGUF file holds them), bos/eos/unknown ids, add_bos_token,
  add_space_prefix (llama.cpp's default when the key is absent), and "cases": [{text, ids}] from
  llama.cpp; "llama_hf": the tokenizer.json-only vocabulary — "score" (every token's), the token
  types that differ from the first vocabulary's ({id: type}), its special ids, and llama.cpp's ids.
"""

import json
import os
import sys
import tempfile
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "CheckpointsTests" / "Fixtures" / "tokenizer"
LLAMA_CPP_DIR = Path(os.environ.get("LLAMA_CPP_DIR", Path(__file__).resolve().parents[2] / "llama.cpp"))
sys.path[:0] = [str(LLAMA_CPP_DIR), str(LLAMA_CPP_DIR / "gguf-py"), str(ROOT / "tools")]

import gguf  # noqa: E402  (llama.cpp's gguf-py, the converter's own)
from conversion.base import TextModel  # noqa: E402
from make_tokenizer_fixtures import download_spm_model  # noqa: E402

# The Hub's Mixtral-8x7B-v0.1 tokenizer_config.json, the parts the converter reads.
HUB_TOKENIZER_CONFIG = {
    "add_bos_token": True,
    "add_eos_token": False,
    "added_tokens_decoder": {
        str(i): {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
                 "single_word": False, "special": True}
        for i, content in enumerate(["<unk>", "<s>", "</s>"])
    },
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "tokenizer_class": "LlamaTokenizer",
}


def write_vocab_gguf(model_dir: Path, path: Path):
    """convert_hf_to_gguf.py's `_set_vocab_sentencepiece` on a vocabulary-only GGUF file (with the
    llama.* hyperparameters llama.cpp needs to open it; no tensors)."""
    converter = types.SimpleNamespace(dir_model=model_dir, find_hparam=lambda keys, optional=False: None,
                                      does_token_look_special=None)
    converter.does_token_look_special = lambda token: TextModel.does_token_look_special(converter, token)
    tokens, scores, toktypes = TextModel._create_vocab_sentencepiece(converter)
    writer = tiny_llama_writer(path)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(toktypes)
    gguf.SpecialVocab(model_dir, n_vocab=len(tokens)).add_to_gguf(writer)
    finish(writer)


def write_llama_hf_vocab_gguf(model_dir: Path, path: Path):
    """convert_hf_to_gguf.py's `_set_vocab_llama_hf` (a model folder without tokenizer.model)."""
    writer = tiny_llama_writer(path)
    TextModel._set_vocab_llama_hf(types.SimpleNamespace(dir_model=model_dir, gguf_writer=writer))
    finish(writer)


def tiny_llama_writer(path: Path) -> gguf.GGUFWriter:
    """A GGUF writer with the llama.* keys llama.cpp needs to open a vocabulary-only file (no tensors)."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(64)
    writer.add_embedding_length(64)
    writer.add_block_count(1)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_head_count_kv(4)
    writer.add_rope_dimension_count(16)
    writer.add_layer_norm_rms_eps(1e-5)
    return writer


def finish(writer: gguf.GGUFWriter):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def llama_cpp_cases(gguf_path: Path, texts):
    from llama_cpp import Llama
    llama = Llama(model_path=str(gguf_path), vocab_only=True, verbose=False)
    cases = [{"text": text, "ids": llama.tokenize(text.encode("utf-8"), add_bos=True, special=False)}
             for text in texts]
    del llama
    return cases


def read_vocab(path: Path):
    reader = gguf.GGUFReader(str(path))

    def field(key):
        f = reader.fields.get(key)
        return None if f is None else f.contents()

    return {
        "tokens": field("tokenizer.ggml.tokens"),
        "scores": field("tokenizer.ggml.scores"),
        "token_types": field("tokenizer.ggml.token_type"),
        "bos_token_id": field("tokenizer.ggml.bos_token_id"),
        "eos_token_id": field("tokenizer.ggml.eos_token_id"),
        "unknown_token_id": field("tokenizer.ggml.unknown_token_id"),
        "add_bos_token": field("tokenizer.ggml.add_bos_token"),
        "add_space_prefix": field("tokenizer.ggml.add_space_prefix"),
    }


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = tmp / "mixtral"
        model_dir.mkdir()
        (model_dir / "tokenizer.model").write_bytes(Path(download_spm_model(str(tmp))).read_bytes())
        (model_dir / "tokenizer_config.json").write_text(json.dumps(HUB_TOKENIZER_CONFIG))
        (model_dir / "config.json").write_text(json.dumps({"bos_token_id": 1, "eos_token_id": 2}))
        (model_dir / "tokenizer.json").write_bytes((FIXTURES / "mixtral-tokenizer.json").read_bytes())
        gguf_path = tmp / "mixtral-vocab.gguf"
        write_vocab_gguf(model_dir, gguf_path)
        vocab = read_vocab(gguf_path)
        cases = json.loads((FIXTURES / "cases.json").read_text())["cases"]
        llama_cases = llama_cpp_cases(gguf_path, [case["text"] for case in cases])

        (model_dir / "tokenizer.model").unlink()
        hf_gguf_path = tmp / "mixtral-vocab-llama-hf.gguf"
        write_llama_hf_vocab_gguf(model_dir, hf_gguf_path)
        hf_vocab = read_vocab(hf_gguf_path)
        hf_cases = llama_cpp_cases(hf_gguf_path, [case["text"] for case in cases])

    hf = json.loads((FIXTURES / "mixtral-tokenizer.json").read_text())
    pieces = {i: piece for piece, i in hf["model"]["vocab"].items()}
    for v in (vocab, hf_vocab):
        assert v["tokens"] == [pieces[i] for i in range(len(v["tokens"]))], \
            "GGUF tokens differ from mixtral-tokenizer.json's vocabulary"
    assert set(hf_vocab["scores"]) == {-1000.0}, "LlamaHfVocab no longer writes −1000 for every score"
    differing = sum(a["ids"] != b["ids"] for a, b in zip(hf_cases, cases))
    print(f"tokenizer.json-only vocabulary: llama.cpp differs from sentencepiece on {differing} strings")

    for spm_case, llama_case in zip(cases, llama_cases):
        if spm_case["ids"] != llama_case["ids"]:
            print(f"llama.cpp differs from sentencepiece on {spm_case['text']!r}: "
                  f"{llama_case['ids']} vs {spm_case['ids']}")

    add_space_prefix = vocab["add_space_prefix"]
    fixture = {
        "source": "convert_hf_to_gguf.py _create_vocab_sentencepiece + SpecialVocab on mistral-common "
                  "tokenizer.model.v1 with the Hub's Mixtral tokenizer_config.json; ids from llama.cpp "
                  "(llama-cpp-python, vocab_only, tokenize(add_bos=True, special=False)); tokens are "
                  "mixtral-tokenizer.json's pieces by id",
        "bos_token_id": vocab["bos_token_id"],
        "eos_token_id": vocab["eos_token_id"],
        "unknown_token_id": vocab["unknown_token_id"],
        "add_bos_token": vocab["add_bos_token"],
        "add_space_prefix": True if add_space_prefix is None else add_space_prefix,
        "scores": [int(s) if float(s).is_integer() else float(s) for s in vocab["scores"]],
        "token_types": [int(t) for t in vocab["token_types"]],
        "cases": llama_cases,
        "llama_hf": {
            "score": -1000,
            "token_types_differing": {str(i): int(b) for i, (a, b) in
                                      enumerate(zip(vocab["token_types"], hf_vocab["token_types"])) if a != b},
            "bos_token_id": hf_vocab["bos_token_id"],
            "eos_token_id": hf_vocab["eos_token_id"],
            "unknown_token_id": hf_vocab["unknown_token_id"],
            "add_bos_token": hf_vocab["add_bos_token"],
            "cases": hf_cases,
        },
    }
    out = FIXTURES / "gguf-vocabulary.json"
    out.write_text(json.dumps(fixture, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes, {len(llama_cases)} cases)")


if __name__ == "__main__":
    main()

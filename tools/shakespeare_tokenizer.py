"""A BPE tokenizer in the style of Mixtral's tokenizer.json, trained with Hugging Face `tokenizers`.

The saved tokenizer.json has the same pipeline as the Hub's mistralai/Mixtral-8x7B-v0.1 tokenizer.json:
  normalizer     Sequence[Prepend("▁"), Replace(" ", "▁")]          (SentencePiece add_dummy_prefix)
  pre_tokenizer  null                                               (BPE runs over the whole text)
  model          BPE, byte_fallback=True, fuse_unk=True, unk <unk>; ids 0-2 = <unk>, <s>, </s>,
                 ids 3-258 = the byte tokens <0x00>..<0xFF>, then the learned pieces
  post_processor TemplateProcessing "<s> $A" (adds BOS, id 1)
  decoder        Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0)]

Training uses a pre-tokenizer that is removed afterwards: it isolates "\n" and splits before every "▁",
as SentencePiece does when it trains (split_by_whitespace). So no learned piece contains "\n" or a
"▁" after its first character, and no merge can cross a word boundary; BPE over the whole text (the
saved pipeline) therefore gives the same pieces as BPE word by word. Newlines and characters outside
the learned alphabet are encoded as byte tokens, like "\n" -> <0x0A> in Mixtral.
Used by tools/train_default_model.py.
"""

import json

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

SPECIAL_TOKENS = ("<unk>", "<s>", "</s>")
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
BYTE_TOKENS = tuple(f"<0x{b:02X}>" for b in range(256))


def train_tokenizer(texts: list[str], vocab_size: int) -> Tokenizer:
    """Trains the BPE on `texts` (one document each) and returns it with the Mixtral-style pipeline.

    vocab_size counts everything: 3 special tokens, 256 byte tokens, the alphabet and the merges.
    Only the 3 special tokens are "added tokens"; the byte tokens are plain vocabulary entries, as in
    Mixtral's tokenizer.json (so decode(skip_special_tokens=True) keeps them).
    """
    learner = Tokenizer(models.BPE(unk_token="<unk>"))
    learner.normalizer = _normalizer()
    learner.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("\n", behavior="removed"),
        pre_tokenizers.Split(Regex("▁"), behavior="merged_with_next"),
    ])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(BYTE_TOKENS),
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
        min_frequency=2,
    )
    learner.train_from_iterator(texts, trainer=trainer)
    learned = json.loads(learner.to_str())["model"]

    # Re-number: specials keep 0-2, bytes take 3-258, learned pieces follow in their learned order.
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + BYTE_TOKENS)}
    for token, _ in sorted(learned["vocab"].items(), key=lambda item: item[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in learned["merges"]]

    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>",
                                     byte_fallback=True, fuse_unk=True))
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer.normalizer = _normalizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", BOS_ID)])
    tokenizer.decoder = decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    _check_layout(tokenizer, vocab_size)
    return tokenizer


def _normalizer() -> normalizers.Normalizer:
    return normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])


def _check_layout(tokenizer: Tokenizer, vocab_size: int) -> None:
    vocab = tokenizer.get_vocab()
    for expected_id, token in enumerate(SPECIAL_TOKENS + BYTE_TOKENS):
        if vocab.get(token) != expected_id:
            raise ValueError(f"tokenizer: {token!r} has id {vocab.get(token)}, expected {expected_id}")
    if len(vocab) != vocab_size:
        raise ValueError(f"tokenizer: vocabulary has {len(vocab)} entries, asked for {vocab_size}")
    if "\n" in vocab:
        raise ValueError("tokenizer: a learned piece is a bare newline; newlines must use <0x0A>")


def round_trip_failures(tokenizer: Tokenizer, lines: list[str]) -> list[str]:
    """The lines for which decode(encode(line)) != line (BOS is skipped by decode)."""
    failures = []
    for line in lines:
        ids = tokenizer.encode(line).ids
        if tokenizer.decode(ids, skip_special_tokens=True) != line:
            failures.append(line)
    return failures

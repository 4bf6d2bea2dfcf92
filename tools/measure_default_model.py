"""Measures the saved default model with transformers, as mixtral-lab's Swift engine will run it.

Re-create (from the repository root, after tools/train_default_model.py):
    tools/.venv/bin/python tools/measure_default_model.py --model models/shakespeare-mixtral
Writes models/shakespeare-mixtral/measurements.json and the Swift test fixture
Tests/EngineTests/Fixtures/default-model-excerpt.json.

The checkpoint is loaded as saved (bfloat16 safetensors) and upcast to float32 before any computation.

Perplexity protocol (PROTOCOL below, also written into both JSON files):
  ids = tokenizer.json encoding of the whole text WITHOUT the post-processor's <s> (the normalizer
  prepends "▁" once, at the start of the text). ids are cut into consecutive, non-overlapping chunks of
  WINDOW - 1 tokens (the last chunk may be shorter); each chunk is run as its own sequence
  [<s>] + chunk, with positions starting at 0 and an empty KV cache. Every chunk token is predicted
  from the tokens before it in its sequence. perplexity = exp(sum of -ln p(token) / len(ids)).

Routing statistics use the same sequences: at each layer, the top-2 experts of the router logits
(softmax does not change the order) at every position, <s> included.
  usage      fraction of the 2 * positions selections that went to each expert; entropy in bits
             (uniform over 8 experts = 3.0 bits).
  reuse      over consecutive positions (t-1, t) within a sequence: the fraction whose top-2 sets share
             at least one expert. Uniform random top-2 gives 1 - C(6,2)/C(8,2) = 13/28. "independent"
             is the value if each position drew its pair independently from the measured pair frequencies.
Unigram baseline: p(t) = (count of t in the training-split stream + 1) / (N + V), V = vocabulary size,
evaluated on the same predicted tokens.
"""

import argparse
import itertools
import json
import math
import pathlib
import sys

import torch
from tokenizers import Tokenizer
from transformers import MixtralForCausalLM

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import shakespeare_corpus  # noqa: E402
import shakespeare_tokenizer  # noqa: E402
from train_default_model import encode_plays  # noqa: E402

WINDOW = 256
PROTOCOL = (
    f"ids = tokenizer.json encoding of the whole text without BOS (normalizer prepends '▁' once at the "
    f"start); cut into consecutive non-overlapping chunks of {WINDOW - 1} tokens (last may be shorter); "
    f"each chunk is scored as its own sequence [<s>] + chunk (positions from 0, fresh KV cache), every "
    f"chunk token predicted from the tokens before it; perplexity = exp(sum of -ln p / len(ids)). "
    f"Weights: saved bfloat16 upcast to float32.")
FIXTURE_PROTOCOL = (
    "token_ids = tokenizer.json encoding of text WITH the post-processor's <s> (id 1) first; one sequence, "
    "positions from 0; perplexity = exp(mean over positions i >= 1 of -ln p(token_ids[i] | token_ids[:i])). "
    "Weights: saved bfloat16 upcast to float32; computed by transformers MixtralForCausalLM.")
PROMPTS = ("ROMEO:\n", "KING HENRY:\n", "First Witch:\n")
NEW_TOKENS = 100
FIXTURE_CHARS = 600


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=pathlib.Path, default=pathlib.Path("models/shakespeare-mixtral"))
    p.add_argument("--fixture", type=pathlib.Path,
                   default=pathlib.Path("Tests/EngineTests/Fixtures/default-model-excerpt.json"))
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def load_fp32(model_dir: pathlib.Path) -> MixtralForCausalLM:
    """The saved checkpoint in its stored dtype (must be bfloat16), then upcast to float32."""
    model = MixtralForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16)
    stored = {p.dtype for p in model.parameters()}
    if stored != {torch.bfloat16}:
        raise SystemExit(f"{model_dir}: expected bfloat16 weights, found {stored}")
    return model.to(torch.float32).eval()


def sequences(ids: list[int]) -> list[list[int]]:
    """[<s>] + chunk for consecutive chunks of WINDOW - 1 ids."""
    step = WINDOW - 1
    return [[shakespeare_tokenizer.BOS_ID] + ids[i: i + step] for i in range(0, len(ids), step)]


@torch.no_grad()
def score(model: MixtralForCausalLM, ids: list[int], top_k: int) -> dict:
    """Sum of -ln p over ids under PROTOCOL, and per layer the top-k expert sets at every position."""
    nll, count = 0.0, 0
    routes = None  # per layer: list of [positions, top_k] tensors, one per sequence
    for seq in sequences(ids):
        x = torch.tensor([seq])
        out = model(input_ids=x, output_router_logits=True)
        logp = torch.log_softmax(out.logits[0, :-1].double(), dim=-1)
        nll -= logp.gather(1, x[0, 1:, None]).sum().item()
        count += len(seq) - 1
        chosen = [torch.topk(r, top_k, dim=-1).indices for r in out.router_logits]
        routes = [[c] for c in chosen] if routes is None else [r + [c] for r, c in zip(routes, chosen)]
    return {"nll": nll, "tokens": count, "routes": routes}


def routing_statistics(routes: list[list[torch.Tensor]], num_experts: int, top_k: int) -> list[dict]:
    uniform_reuse = 1.0 - math.comb(num_experts - top_k, top_k) / math.comb(num_experts, top_k)
    layers = []
    for layer, per_sequence in enumerate(routes):
        chosen = torch.cat(per_sequence)
        counts = torch.bincount(chosen.reshape(-1), minlength=num_experts).double()
        usage = counts / counts.sum()
        entropy = -sum(p * math.log2(p) for p in usage.tolist() if p > 0)

        reused, pairs = 0, 0
        for seq in per_sequence:
            prev, cur = seq[:-1], seq[1:]
            shared = (prev[:, :, None] == cur[:, None, :]).any(dim=2).any(dim=1)
            reused += int(shared.sum())
            pairs += len(shared)

        pair_freq = {}
        for row in chosen.tolist():
            key = tuple(sorted(row))
            pair_freq[key] = pair_freq.get(key, 0) + 1
        total = sum(pair_freq.values())
        independent = sum(
            (na / total) * (nb / total)
            for (a, na), (b, nb) in itertools.product(pair_freq.items(), repeat=2) if set(a) & set(b))
        layers.append({
            "layer": layer,
            "usage": [round(u, 4) for u in usage.tolist()],
            "entropy_bits": round(entropy, 4),
            "reuse_fraction": round(reused / pairs, 4),
            "reuse_fraction_uniform_random": round(uniform_reuse, 4),
            "reuse_fraction_independent_same_pair_frequencies": round(independent, 4),
            "positions": int(chosen.shape[0]),
            "consecutive_pairs": pairs,
        })
    return layers


def unigram_perplexity(train_ids: torch.Tensor, eval_ids: list[int], vocab_size: int) -> float:
    counts = torch.bincount(train_ids, minlength=vocab_size).double()
    logp = torch.log((counts + 1.0) / (counts.sum() + vocab_size))
    return math.exp(-logp[torch.tensor(eval_ids)].mean().item())


@torch.no_grad()
def greedy_samples(model: MixtralForCausalLM, tokenizer: Tokenizer) -> list[dict]:
    samples = []
    for prompt in PROMPTS:
        prompt_ids = tokenizer.encode(prompt).ids
        out = model.generate(torch.tensor([prompt_ids]), max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                             do_sample=False, pad_token_id=shakespeare_tokenizer.EOS_ID)
        ids = out[0].tolist()
        samples.append({"prompt": prompt, "prompt_ids": prompt_ids, "new_tokens": NEW_TOKENS,
                        "token_ids": ids, "text": tokenizer.decode(ids, skip_special_tokens=True)})
    return samples


def fixture(model: MixtralForCausalLM, tokenizer: Tokenizer, heldout: str) -> dict:
    cut = heldout.rfind("\n", 0, FIXTURE_CHARS)
    text = heldout[: cut + 1]
    ids = tokenizer.encode(text).ids
    if ids[0] != shakespeare_tokenizer.BOS_ID or len(ids) > WINDOW:
        raise SystemExit(f"fixture: {len(ids)} tokens starting with {ids[0]}; need <s> first and <= {WINDOW}")
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].double()
    nll = -torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(ids[1:])[:, None]).mean().item()
    return {"text": text, "token_ids": ids, "perplexity": math.exp(nll), "protocol": FIXTURE_PROTOCOL}


def fixture_json(values: dict) -> str:
    """Indented JSON with token_ids kept on one line."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tokenizer = Tokenizer.from_file(str(args.model / "tokenizer.json"))
    model = load_fp32(args.model)
    config = model.config
    heldout_excerpt = (args.model / "heldout.txt").read_text(encoding="utf-8")

    excerpt_ids = tokenizer.encode(heldout_excerpt, add_special_tokens=False).ids
    excerpt = score(model, excerpt_ids, config.num_experts_per_tok)
    train_plays, heldout_plays = shakespeare_corpus.load_splits()
    full_ids = tokenizer.encode(shakespeare_corpus.join_plays(heldout_plays), add_special_tokens=False).ids
    full = score(model, full_ids, config.num_experts_per_tok)
    train_stream = encode_plays(tokenizer, train_plays)

    files = {p.name: p.stat().st_size for p in sorted(args.model.iterdir()) if p.is_file()}
    result = {
        "model": str(args.model),
        "computed_by": "transformers MixtralForCausalLM, saved bfloat16 weights upcast to float32",
        "parameters": sum(p.numel() for p in model.parameters()),
        "files_bytes": files,
        "protocol": PROTOCOL,
        "window": WINDOW,
        "heldout_txt": {
            "chars": len(heldout_excerpt), "tokens": excerpt["tokens"],
            "perplexity": math.exp(excerpt["nll"] / excerpt["tokens"]),
            "unigram_perplexity": unigram_perplexity(train_stream, excerpt_ids, config.vocab_size),
        },
        "heldout_plays_full": {
            "plays": list(heldout_plays), "tokens": full["tokens"],
            "perplexity": math.exp(full["nll"] / full["tokens"]),
            "unigram_perplexity": unigram_perplexity(train_stream, full_ids, config.vocab_size),
        },
        "unigram_protocol": "p(t) = (count of t in the training-split token stream + 1) / (N + V), V = "
                            f"{config.vocab_size}; perplexity = exp(mean -ln p) over the same ids as the model",
        "routing_text": "heldout.txt, sequences of the perplexity protocol, every position including <s>",
        "routing": routing_statistics(excerpt["routes"], config.num_local_experts, config.num_experts_per_tok),
        "greedy_samples": greedy_samples(model, tokenizer),
    }
    (args.model / "measurements.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    args.fixture.parent.mkdir(parents=True, exist_ok=True)
    args.fixture.write_text(fixture_json(fixture(model, tokenizer, heldout_excerpt)))
    summary = {k: result[k] for k in ("heldout_txt", "heldout_plays_full")}
    print(json.dumps(summary, indent=2))
    for layer in result["routing"]:
        print(layer["layer"], layer["entropy_bits"], layer["reuse_fraction"],
              layer["reuse_fraction_independent_same_pair_frequencies"])
    for s in result["greedy_samples"]:
        print("----\n" + s["text"])


if __name__ == "__main__":
    main()

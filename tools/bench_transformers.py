#!/usr/bin/env python3
"""Hugging Face transformers' fp32 CPU prefill and decode speed on a Mixtral checkpoint.

    tools/.venv/bin/python tools/bench_transformers.py MODEL_DIR [--threads 2] [--prompt-tokens 8]
                                                     [--decode-steps 64] [--runs 1]
                                                     [--experts-implementation eager|grouped_mm|batched_mm]

MODEL_DIR is a transformers Mixtral checkpoint, e.g. the `bench` preset from tools/make_bench_model.py.
The comparison partner of `mixtral-lab bench`: the same model, prompt length and decode steps, run side by
side in the same session (runs on this 2-core machine vary by up to 30 %).

Method: `MixtralForCausalLM.from_pretrained(MODEL_DIR, dtype=float32)` with transformers' default attention
and experts implementations (or `--experts-implementation`), torch.inference_mode, `--threads` intra-op threads. The prompt is <s> followed
by fixed pseudo-random ids. One untimed warm-up (prefill + 2 decode steps), then per run: prefill = one
forward pass over the prompt with a fresh KV cache; decode = `--decode-steps` forward passes of one token
each (greedy: argmax of the previous logits) against that cache. Prefill tokens/s = prompt tokens / prefill
time; decode tokens/s = decode steps / total decode time; the best run is reported.

Prints one JSON object on stdout: {"engine", "transformers", "torch", "threads", "prompt_tokens",
"decode_steps", "runs", "attn_implementation", "experts_implementation", "load_seconds", "load_average_1min",
"prefill_tokens_per_second", "decode_tokens_per_second", "decode_tokens_per_second_runs"}.
"""

import argparse
import json
import os
import sys
import time

import torch
import transformers
from transformers import MixtralForCausalLM
from transformers.utils import logging as transformers_logging


def prompt_ids(length: int, vocab_size: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    ids = [1] + torch.randint(3, vocab_size, (length - 1,), generator=generator).tolist()
    return torch.tensor([ids])


def prefill_and_decode(model, prompt: torch.Tensor, decode_steps: int) -> tuple[float, float]:
    """Seconds for the prefill forward pass and for all decode steps (greedy, one token per step)."""
    start = time.perf_counter()
    output = model(input_ids=prompt, use_cache=True)
    prefill_seconds = time.perf_counter() - start
    cache = output.cache
    token = output.logits[:, -1].argmax(dim=-1, keepdim=True)
    start = time.perf_counter()
    for _ in range(decode_steps):
        output = model(input_ids=token, cache=cache, use_cache=True)
        cache = output.cache
        token = output.logits[:, -1].argmax(dim=-1, keepdim=True)
    decode_seconds = time.perf_counter() - start
    return prefill_seconds, decode_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=8)
    parser.add_argument("--decode-steps", type=int, default=64)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--experts-implementation", default=None,
                        help="transformers' experts_implementation (eager, grouped_mm, batched_mm); default: its own")
    args = parser.parse_args()
    if args.prompt_tokens < 1 or args.decode_steps < 1 or args.runs < 1:
        parser.error("--prompt-tokens, --decode-steps and --runs must be at least 1")

    torch.set_num_threads(args.threads)
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    start = time.perf_counter()
    options = {"experts_implementation": args.experts_implementation} if args.experts_implementation else {}
    model = MixtralForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32, **options).eval()
    load_seconds = time.perf_counter() - start
    prompt = prompt_ids(args.prompt_tokens, model.config.vocab_size)

    with torch.inference_mode():
        prefill_and_decode(model, prompt, 2)  # warm-up
        timings = [prefill_and_decode(model, prompt, args.decode_steps) for _ in range(args.runs)]

    decode_rates = [args.decode_steps / decode for _, decode in timings]
    result = {
        "engine": "transformers",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "threads": args.threads,
        "prompt_tokens": args.prompt_tokens,
        "decode_steps": args.decode_steps,
        "runs": args.runs,
        "attn_implementation": model.config._attn_implementation,
        "experts_implementation": getattr(model.config, "_experts_implementation", None),
        "load_seconds": round(load_seconds, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),  # other processes competing for the cores
        "prefill_tokens_per_second": round(max(args.prompt_tokens / prefill for prefill, _ in timings), 2),
        "decode_tokens_per_second": round(max(decode_rates), 2),
        "decode_tokens_per_second_runs": [round(rate, 2) for rate in decode_rates],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark of real expert offloading (issue #6): mixtral-lab generating under a RAM budget, experts
streamed from disk, next to the all-resident run and a plain-mmap run.

For each precision it runs, each in its own process (so that peak RSS is the run's own: VmHWM from
/proc/self/status, printed by `--timing`): `generate` with every weight resident; `generate --mmap-experts` (fp32 only: experts
computed straight from the memory-mapped checkpoint, no budget); and `generate --ram-budget B --policy P`
for each policy, with B = --fraction of the model's weight bytes at that precision (nominal sizes from
config.json: fp32 32 bits, int8 8.5, q4 4.5 per weight; routers and norms fp32). It prints hit rate,
decode tokens/s and peak RSS per run, and the overhead of each budget run: peak RSS minus what the budget
accounts for (weights, slots, KV cache and scratch). Not a test; the figures go in the issue's closing note.

Usage (from the repository, after `swift build -c release`):
    tools/bench_offload.py --model ../bench-model --precisions fp32,q4 --fraction 0.25
The expert store for q4 is written once under $XDG_CACHE_HOME (or ~/.cache)/mixtral-lab/expert-stores
before the first q4 budget run; its build time is not part of any figure.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

BITS = {"fp32": 32.0, "int8": 8.5, "q4": 4.5}


def weight_bytes(config, precision):
    """Nominal bytes of every weight at `precision` (router and norms fp32), as the budget's 100 %."""
    h, i, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    heads, kv, experts = config["num_attention_heads"], config["num_key_value_heads"], config["num_local_experts"]
    head_dim = config.get("head_dim") or h // heads
    vocab = config["vocab_size"]
    bits = BITS[precision]
    attention = h * (heads + 2 * kv) * head_dim + heads * head_dim * h
    quantized = layers * (attention + experts * 3 * h * i) + vocab * h * (1 if config.get("tie_word_embeddings") else 2)
    fp32 = layers * (experts * h + 2 * h) + h
    return int(quantized * bits / 8 + fp32 * 4)


def run(binary, args):
    """Runs mixtral-lab; returns (stdout, stderr, wall seconds)."""
    start = time.monotonic()
    process = subprocess.run([binary] + args, capture_output=True, text=True)
    if process.returncode != 0:
        sys.exit(f"mixtral-lab {' '.join(args)} failed:\n{process.stderr}")
    return process.stdout, process.stderr, time.monotonic() - start


def peak_rss(err):
    """Peak RSS in bytes from the `timing:` line on standard error (VmHWM of the run's own process)."""
    match = re.search(r"peak RSS [^(]*\((\d+) B\)", err)
    return int(match.group(1)) if match else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/mixtral-lab")
    parser.add_argument("--model", required=True, help="the bench preset (tools/make_bench_model.py)")
    parser.add_argument("--precisions", default="fp32,q4")
    parser.add_argument("--policies", default="lru,lfu,static,lru+prefetch")
    parser.add_argument("--fraction", type=float, default=0.25, help="budget as a fraction of the weight bytes")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--prompt", default="The history of the city begins")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)
    common = ["generate", "--model", args.model, "--prompt", args.prompt, "--max-tokens", str(args.max_tokens), "--timing"]
    results = []
    print(f"model {args.model}, {args.max_tokens} tokens, budget {args.fraction:.0%} of the weights; "
          f"peak RSS = VmHWM of each run's process")
    print(f"{'precision':9} {'run':22} {'budget MiB':>10} {'slots':>5} {'hit rate':>8} {'decode tok/s':>12} "
          f"{'peak RSS MiB':>12} {'accounted MiB':>13} {'overhead MiB':>12}")
    for precision in args.precisions.split(","):
        total = weight_bytes(config, precision)
        budget = int(total * args.fraction)
        runs = [("all resident", [])]
        if precision == "fp32":
            runs.append(("plain mmap", ["--mmap-experts"]))
        runs += [(policy, ["--ram-budget", str(budget), "--policy", policy]) for policy in args.policies.split(",")]
        for name, extra in runs:
            if extra[:1] == ["--ram-budget"] and not any(r["precision"] == precision and r.get("budget") for r in results):
                # write the expert store (if this precision needs one) outside the timed runs
                run(args.binary, common[:3] + ["--precision", precision, "--max-tokens", "1", "--ram-budget", str(budget)])
            _, err, wall = run(args.binary, common + ["--precision", precision] + extra)
            timing = re.search(r"decode (\d+) tokens in ([\d.]+) s \(([\d.]+) tokens/s\)", err)
            real = re.search(r"real offloading: .*?(\d+) of \d+ experts per layer in RAM · hit rate ([\d.]+) \(decode ([\d.]+)\)", err)
            accounted = re.search(r"= [^(]*\((\d+) B\)", err)
            result = {
                "precision": precision, "run": name, "budget": budget if real else None,
                "weight_bytes": total, "decode_tokens_per_second": float(timing.group(3)),
                "peak_rss": peak_rss(err), "wall_seconds": wall,
                "slots_per_layer": int(real.group(1)) if real else None,
                "hit_rate": float(real.group(2)) if real else None,
                "decode_hit_rate": float(real.group(3)) if real else None,
                "accounted_bytes": int(accounted.group(1)) if accounted else None,
                "summary": next((line for line in err.splitlines() if line.startswith("real offloading")), None),
            }
            results.append(result)
            mib = lambda b: f"{b / 2**20:.0f}" if b is not None else "-"
            overhead = result["peak_rss"] - result["accounted_bytes"] if result["accounted_bytes"] else None
            print(f"{precision:9} {name:22} {mib(result['budget']):>10} {result['slots_per_layer'] or '-':>5} "
                  f"{result['hit_rate'] if result['hit_rate'] is not None else '-':>8} "
                  f"{result['decode_tokens_per_second']:12.2f} {mib(result['peak_rss']):>12} "
                  f"{mib(result['accounted_bytes']):>13} {mib(overhead):>12}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()

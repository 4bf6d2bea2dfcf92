#!/usr/bin/env python3
"""mixtral-lab and Hugging Face transformers decode speed on one model, interleaved in one run, with the
memory-bandwidth roofline measured in the same run.

    swift build -c release --product mixtral-lab --scratch-path .build-bench
    /work/venv/bin/python tools/bench_side_by_side.py MODEL_DIR --mixtral-lab .build-bench/release/mixtral-lab
                          [--threads 2] [--rounds 2] [--precisions fp32,int8,q4] [--prompt-tokens 8]
                          [--decode-steps 64] [--repeats 2]

MODEL_DIR is a transformers Mixtral checkpoint, e.g. the `bench` preset (tools/make_bench_model.py).

Method:
- Rounds alternate the engines (round 1: mixtral-lab then transformers, round 2: transformers then
  mixtral-lab, …), so both see the same machine load on average. Each engine is a separate process:
  `mixtral-lab bench --model MODEL_DIR --precisions … --threads N --format json` (OPENBLAS_NUM_THREADS=N)
  and tools/bench_transformers.py (torch.set_num_threads(N), OMP_WAIT_POLICY=PASSIVE), same prompt length and decode steps, best of
  `--repeats` inside each process. The table reports, per engine and precision, the best round, and the
  1-minute load average (os.getloadavg) at the start of that round's run.
- Bandwidth: numpy copy of a 1 GB float32 array into a pre-touched one, split over N threads (numpy
  releases the GIL in copies), and on one thread, best of 5 each; counted as bytes read + bytes written
  per second (STREAM's "Copy" convention). The roofline uses the larger of the two.
- fp32 bytes read per decode token, from config.json: every weight except the idle experts
  (num_local_experts − num_experts_per_tok per layer) and the embedding table (one row is read), at 4
  bytes each. Roofline tokens/s = bandwidth / those bytes. For int8 and q4 the bytes per token are
  mixtral-lab's own (its "weights read GB/s" divided by its decode tokens/s).

Prints the per-run log on stderr and one table on stdout. Needs the model's RAM once per engine at a time
(about 3.2 GB for the `bench` preset; the engines never run concurrently), plus 2 GB for the copy.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

TRANSFORMERS_SCRIPT = Path(__file__).with_name("bench_transformers.py")


def fp32_decode_bytes_per_token(model_dir: Path) -> int:
    """Bytes of fp32 weights one decode step reads: all but the idle experts and the embedding table."""
    c = json.loads((model_dir / "config.json").read_text())
    hidden, inter = c["hidden_size"], c["intermediate_size"]
    head_dim = c.get("head_dim") or hidden // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * head_dim, c["num_key_value_heads"] * head_dim
    attention = hidden * q + 2 * hidden * kv + q * hidden
    router = c["num_local_experts"] * hidden
    active_experts = c["num_experts_per_tok"] * 3 * hidden * inter
    norms = 2 * hidden
    per_layer = attention + router + active_experts + norms
    lm_head = c["vocab_size"] * hidden
    return 4 * (c["num_hidden_layers"] * per_layer + hidden + lm_head + hidden)  # final norm + one embedding row


def copy_bandwidth(gigabytes: float, threads: int, repeats: int = 5) -> float:
    """Best copy bandwidth in bytes/s (read + write) of a `gigabytes` float32 array over `threads` threads."""
    count = int(gigabytes * 1e9) // 4
    src = np.ones(count, dtype=np.float32)
    dst = np.zeros(count, dtype=np.float32)  # np.zeros maps lazily: the first copy below touches it
    bounds = np.linspace(0, count, threads + 1, dtype=np.int64)
    best = float("inf")
    for attempt in range(repeats + 1):  # the first pass faults dst's pages in and is not counted
        workers = [threading.Thread(target=np.copyto, args=(dst[a:b], src[a:b]))
                   for a, b in zip(bounds[:-1], bounds[1:])]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
        if attempt > 0:
            best = min(best, elapsed)
    return 2 * count * 4 / best


def run_json(command: list[str], env: dict) -> dict:
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_mixtral_lab(args) -> list[dict]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    report = run_json([args.mixtral_lab, "bench", "--model", str(args.model_dir), "--precisions", args.precisions,
                       "--threads", str(args.threads), "--prompt-tokens", str(args.prompt_tokens),
                       "--decode-tokens", str(args.decode_steps), "--repeats", str(args.repeats),
                       "--format", "json"], env)
    return [{"precision": r["precision"], "prefill": r["prefill_tokens_per_second"],
             "decode": r["decode_tokens_per_second"],
             "bytes_per_token": r["decode_weight_gb_per_second"] * 1e9 / r["decode_tokens_per_second"]}
            for r in report["results"]]


def run_transformers(args) -> list[dict]:
    # Passive OpenMP waiting: with the default spin-waiting, torch's threads burn the cores other processes
    # on this shared machine need, and 2-thread decode fell to half of its 1-thread speed.
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="PASSIVE")
    r = run_json([sys.executable, str(TRANSFORMERS_SCRIPT), str(args.model_dir), "--threads", str(args.threads),
                  "--prompt-tokens", str(args.prompt_tokens), "--decode-steps", str(args.decode_steps),
                  "--runs", str(args.repeats)], env)
    return [{"precision": "fp32", "prefill": r["prefill_tokens_per_second"], "decode": r["decode_tokens_per_second"],
             "version": f"transformers {r['transformers']}, torch {r['torch']}"}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--mixtral-lab", required=True, help="release mixtral-lab binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precisions", default="fp32,int8,q4")
    parser.add_argument("--prompt-tokens", type=int, default=8)
    parser.add_argument("--decode-steps", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="timed repetitions inside each engine run")
    parser.add_argument("--copy-gb", type=float, default=1.0, help="size of the array the bandwidth copy moves")
    args = parser.parse_args()
    if min(args.threads, args.rounds, args.prompt_tokens, args.decode_steps, args.repeats) < 1:
        parser.error("--threads, --rounds, --prompt-tokens, --decode-steps and --repeats must be at least 1")

    def log(text):
        print(text, file=sys.stderr, flush=True)

    load_copy = os.getloadavg()[0]
    bandwidth_n = copy_bandwidth(args.copy_gb, args.threads)
    bandwidth_1 = bandwidth_n if args.threads == 1 else copy_bandwidth(args.copy_gb, 1)
    bandwidth = max(bandwidth_n, bandwidth_1)  # on a busy machine the extra thread can lose more than it gains
    log(f"copy bandwidth: {bandwidth_n / 1e9:.1f} GB/s ({args.threads} thread(s)), {bandwidth_1 / 1e9:.1f} GB/s "
        f"(1 thread), load {load_copy:.2f}")

    engines = {"mixtral-lab": run_mixtral_lab, "transformers": run_transformers}
    best: dict[tuple[str, str], dict] = {}   # (engine, precision) → best row, with its round's load average
    pairs = []                               # per round: (mixtral-lab fp32 decode, transformers fp32 decode)
    for round_index in range(args.rounds):
        order = list(engines) if round_index % 2 == 0 else list(reversed(engines))
        fp32 = {}
        for engine in order:
            load = os.getloadavg()[0]
            start = time.perf_counter()
            rows = engines[engine](args)
            log(f"round {round_index + 1} {engine} ({time.perf_counter() - start:.0f} s, load {load:.2f}): "
                + ", ".join(f"{r['precision']} prefill {r['prefill']:.1f} decode {r['decode']:.1f}" for r in rows))
            for row in rows:
                row.update(load=load, round=round_index + 1)
                key = (engine, row["precision"])
                if key not in best or row["decode"] > best[key]["decode"]:
                    best[key] = row
                if row["precision"] == "fp32":
                    fp32[engine] = row["decode"]
        pairs.append((fp32["mixtral-lab"], fp32["transformers"]))
    load_end = os.getloadavg()[0]

    fp32_bytes = fp32_decode_bytes_per_token(args.model_dir)
    print(f"model {args.model_dir}, {args.threads} thread(s) each, prompt {args.prompt_tokens} tokens, "
          f"{args.decode_steps} decode steps, best of {args.repeats} per run, {args.rounds} interleaved rounds")
    print(f"{best[('transformers', 'fp32')]['version']}; mixtral-lab {args.mixtral_lab}")
    print(f"copy bandwidth {bandwidth_n / 1e9:.1f} GB/s on {args.threads} thread(s), {bandwidth_1 / 1e9:.1f} GB/s on 1 "
          f"(load {load_copy:.2f}; the roofline uses the larger); fp32 weights read per decode token "
          f"{fp32_bytes / 1e9:.3f} GB → fp32 roofline {bandwidth / fp32_bytes:.1f} tok/s")
    print()
    print(f"{'engine':13s} {'precision':9s} {'prefill tok/s':>13s} {'decode tok/s':>12s} {'GB/token':>9s} "
          f"{'roofline tok/s':>14s} {'% roofline':>10s} {'round':>5s} {'load 1m':>7s}")
    for (engine, precision), row in best.items():
        per_token = row.get("bytes_per_token", fp32_bytes if precision == "fp32" else None)
        roofline = bandwidth / per_token
        print(f"{engine:13s} {precision:9s} {row['prefill']:13.1f} {row['decode']:12.1f} {per_token / 1e9:9.3f} "
              f"{roofline:14.1f} {100 * row['decode'] / roofline:9.0f}% {row['round']:5d} {row['load']:7.2f}")
    ratio = best[("mixtral-lab", "fp32")]["decode"] / best[("transformers", "fp32")]["decode"]
    print()
    print(f"mixtral-lab fp32 decode / transformers fp32 decode: {ratio:.2f} (best vs best); per round: "
          + ", ".join(f"{m / t:.2f}" for m, t in pairs) + f"; load at the end {load_end:.2f}")
    if fp32_bytes < 64 << 20:
        print("(weights this small stay in the CPU caches: decode is bound by per-token overhead, not by memory "
              "bandwidth, and the roofline is only a reference)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""mixtral-lab, Hugging Face transformers and (optionally) llama.cpp decode speed on one model, interleaved
in one run, with the memory-bandwidth roofline measured in the same run.

    swift build -c release --product mixtral-lab --scratch-path .build-bench
    /work/venv/bin/python tools/bench_side_by_side.py MODEL_DIR --mixtral-lab .build-bench/release/mixtral-lab
                          [--threads 2] [--rounds 2] [--precisions fp32,int8,q4] [--prompt-tokens 8]
                          [--decode-steps 64] [--repeats 2] [--llama-bench PATH --gguf-dir DIR]

MODEL_DIR is a transformers Mixtral checkpoint, e.g. the `bench` preset (tools/make_bench_model.py).

With --llama-bench (llama.cpp's `llama-bench` binary) and --gguf-dir, llama.cpp runs on the same weights
as GGUF files in DIR named f32.gguf, q8_0.gguf and q4_0.gguf (the ones present are used, for the
precisions fp32, int8 and q4 of --precisions), made from MODEL_DIR with llama.cpp's own tools:

    python convert_hf_to_gguf.py MODEL_DIR --outtype f32 --outfile DIR/f32.gguf
    llama-quantize --pure DIR/f32.gguf DIR/q8_0.gguf Q8_0
    llama-quantize --pure DIR/f32.gguf DIR/q4_0.gguf Q4_0

(--pure: every tensor in that type, as mixtral-lab's uniform int8/q4; without it llama-quantize keeps
output.weight at Q6_K in a Q4_0 file.) mixtral-lab then also runs on those same files (engine
"mixtral-lab/gguf": `mixtral-lab bench --model FILE`, which computes on the file's stored F32/Q8_0/Q4_0
tensors), so the two engines are compared on identical bytes as well.

Method:
- Rounds rotate the order of the engines (round 1: mixtral-lab, transformers, llama.cpp; round 2:
  transformers, llama.cpp, mixtral-lab; …), so all see the same machine load on average. Each engine is
  a separate process: `mixtral-lab bench --model MODEL_DIR --precisions … --threads N --format json`
  (OPENBLAS_NUM_THREADS=N), tools/bench_transformers.py (torch.set_num_threads(N), OMP_WAIT_POLICY=PASSIVE)
  and, per GGUF file, `llama-bench -m FILE -t N -p PROMPT -n STEPS -r REPEATS -o json` (its decode figure
  is the mean over its repetitions of the `-n` test, which generates STEPS tokens from an empty context;
  its prefill figure is the `-p` test). Same prompt length and decode steps, best of `--repeats` inside
  each mixtral-lab and transformers process. The table reports, per engine and precision, the best round,
  and the 1-minute load average (os.getloadavg) at the start of that round's run; with llama.cpp, the
  ratio mixtral-lab / llama.cpp decode per precision follows (best vs best, and per round).
- Bandwidth: numpy copy of a 1 GB float32 array into a pre-touched one, split over N threads (numpy
  releases the GIL in copies), and on one thread, best of 5 each; counted as bytes read + bytes written
  per second (STREAM's "Copy" convention). The roofline uses the larger of the two.
- fp32 bytes read per decode token, from config.json: every weight except the idle experts
  (num_local_experts − num_experts_per_tok per layer) and the embedding table (one row is read), at 4
  bytes each. Roofline tokens/s = bandwidth / those bytes. For int8 and q4 the bytes per token are
  mixtral-lab's own (its "weights read GB/s" divided by its decode tokens/s), also used for llama.cpp's
  Q8_0 and Q4_0 rows (the same GGML blocks).

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


def run_mixtral_lab_gguf(args) -> list[dict]:
    """mixtral-lab on each GGUF file llama.cpp runs: the file's stored tensor types set the precision."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    rows = []
    for precision in args.precisions.split(","):
        path = args.gguf_dir / GGUF_FILES.get(precision, "")
        if precision not in GGUF_FILES or not path.is_file():
            continue
        report = run_json([args.mixtral_lab, "bench", "--model", str(path), "--precisions", "fp32",
                           "--threads", str(args.threads), "--prompt-tokens", str(args.prompt_tokens),
                           "--decode-tokens", str(args.decode_steps), "--repeats", str(args.repeats),
                           "--format", "json"], env)
        r = report["results"][0]
        rows.append({"precision": precision, "prefill": r["prefill_tokens_per_second"],
                     "decode": r["decode_tokens_per_second"],
                     "bytes_per_token": r["decode_weight_gb_per_second"] * 1e9 / r["decode_tokens_per_second"]})
    return rows


def run_transformers(args) -> list[dict]:
    # Passive OpenMP waiting: with the default spin-waiting, torch's threads burn the cores other processes
    # on this shared machine need, and 2-thread decode fell to half of its 1-thread speed.
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="PASSIVE")
    r = run_json([sys.executable, str(TRANSFORMERS_SCRIPT), str(args.model_dir), "--threads", str(args.threads),
                  "--prompt-tokens", str(args.prompt_tokens), "--decode-steps", str(args.decode_steps),
                  "--runs", str(args.repeats)], env)
    return [{"precision": "fp32", "prefill": r["prefill_tokens_per_second"], "decode": r["decode_tokens_per_second"],
             "version": f"transformers {r['transformers']}, torch {r['torch']}"}]


# mixtral-lab precision → the GGUF file llama.cpp runs for it (tools/bench_side_by_side.py docstring).
GGUF_FILES = {"fp32": "f32.gguf", "int8": "q8_0.gguf", "q4": "q4_0.gguf"}


def run_llama_cpp(args) -> list[dict]:
    rows = []
    for precision in args.precisions.split(","):
        path = args.gguf_dir / GGUF_FILES.get(precision, "")
        if precision not in GGUF_FILES or not path.is_file():
            continue
        out = subprocess.run([args.llama_bench, "-m", str(path), "-t", str(args.threads), "-p", str(args.prompt_tokens),
                              "-n", str(args.decode_steps), "-r", str(args.repeats), "-o", "json"],
                             check=True, capture_output=True, text=True).stdout
        tests = json.loads(out)
        decode = next(t for t in tests if t["n_gen"] > 0 and t["n_prompt"] == 0)
        prefill = next(t for t in tests if t["n_prompt"] > 0 and t["n_gen"] == 0)
        rows.append({"precision": precision, "prefill": prefill["avg_ts"], "decode": decode["avg_ts"],
                     "version": f"llama.cpp {decode.get('build_commit', '?')} ({path.name})"})
    if not rows:
        raise SystemExit(f"--gguf-dir {args.gguf_dir}: none of {', '.join(GGUF_FILES.values())} for the precisions "
                         f"{args.precisions}")
    return rows


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
    parser.add_argument("--llama-bench", help="llama.cpp's llama-bench binary (with --gguf-dir)")
    parser.add_argument("--gguf-dir", type=Path, help="folder with f32.gguf, q8_0.gguf, q4_0.gguf of MODEL_DIR")
    args = parser.parse_args()
    if min(args.threads, args.rounds, args.prompt_tokens, args.decode_steps, args.repeats) < 1:
        parser.error("--threads, --rounds, --prompt-tokens, --decode-steps and --repeats must be at least 1")
    if (args.llama_bench is None) != (args.gguf_dir is None):
        parser.error("--llama-bench and --gguf-dir go together")

    def log(text):
        print(text, file=sys.stderr, flush=True)

    load_copy = os.getloadavg()[0]
    bandwidth_n = copy_bandwidth(args.copy_gb, args.threads)
    bandwidth_1 = bandwidth_n if args.threads == 1 else copy_bandwidth(args.copy_gb, 1)
    bandwidth = max(bandwidth_n, bandwidth_1)  # on a busy machine the extra thread can lose more than it gains
    log(f"copy bandwidth: {bandwidth_n / 1e9:.1f} GB/s ({args.threads} thread(s)), {bandwidth_1 / 1e9:.1f} GB/s "
        f"(1 thread), load {load_copy:.2f}")

    engines = {"mixtral-lab": run_mixtral_lab, "transformers": run_transformers}
    if args.llama_bench:
        engines["llama.cpp"] = run_llama_cpp
        engines["mixtral-lab/gguf"] = run_mixtral_lab_gguf
    best: dict[tuple[str, str], dict] = {}   # (engine, precision) → best row, with its round's load average
    pairs = []                               # per round: (mixtral-lab fp32 decode, transformers fp32 decode)
    per_round: list[dict] = []               # per round: {(engine, precision): decode tok/s}
    for round_index in range(args.rounds):
        names = list(engines)
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        fp32 = {}
        per_round.append({})
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
                per_round[-1][key] = row["decode"]
                if row["precision"] == "fp32":
                    fp32[engine] = row["decode"]
        pairs.append((fp32["mixtral-lab"], fp32["transformers"]))
    load_end = os.getloadavg()[0]

    fp32_bytes = fp32_decode_bytes_per_token(args.model_dir)
    print(f"model {args.model_dir}, {args.threads} thread(s) each, prompt {args.prompt_tokens} tokens, "
          f"{args.decode_steps} decode steps, best of {args.repeats} per run, {args.rounds} interleaved rounds")
    print(f"{best[('transformers', 'fp32')]['version']}; mixtral-lab {args.mixtral_lab}"
          + "".join(f"; {row['version']}" for (engine, _), row in best.items() if engine == "llama.cpp"))
    print(f"copy bandwidth {bandwidth_n / 1e9:.1f} GB/s on {args.threads} thread(s), {bandwidth_1 / 1e9:.1f} GB/s on 1 "
          f"(load {load_copy:.2f}; the roofline uses the larger); fp32 weights read per decode token "
          f"{fp32_bytes / 1e9:.3f} GB → fp32 roofline {bandwidth / fp32_bytes:.1f} tok/s")
    print()
    print(f"{'engine':16s} {'precision':9s} {'prefill tok/s':>13s} {'decode tok/s':>12s} {'GB/token':>9s} "
          f"{'roofline tok/s':>14s} {'% roofline':>10s} {'round':>5s} {'load 1m':>7s}")
    ours = {precision: row for (engine, precision), row in best.items() if engine == "mixtral-lab"}
    for (engine, precision), row in best.items():
        per_token = fp32_bytes if precision == "fp32" else row.get("bytes_per_token", ours[precision]["bytes_per_token"])
        roofline = bandwidth / per_token
        print(f"{engine:16s} {precision:9s} {row['prefill']:13.1f} {row['decode']:12.1f} {per_token / 1e9:9.3f} "
              f"{roofline:14.1f} {100 * row['decode'] / roofline:9.0f}% {row['round']:5d} {row['load']:7.2f}")
    ratio = best[("mixtral-lab", "fp32")]["decode"] / best[("transformers", "fp32")]["decode"]
    print()
    print(f"mixtral-lab fp32 decode / transformers fp32 decode: {ratio:.2f} (best vs best); per round: "
          + ", ".join(f"{m / t:.2f}" for m, t in pairs) + f"; load at the end {load_end:.2f}")
    for engine in ("mixtral-lab", "mixtral-lab/gguf"):
        for precision in ours:
            if ("llama.cpp", precision) not in best or (engine, precision) not in best:
                continue
            theirs = best[("llama.cpp", precision)]
            rounds = [f"{r[(engine, precision)] / r[('llama.cpp', precision)]:.2f}" for r in per_round
                      if (engine, precision) in r and ("llama.cpp", precision) in r]
            print(f"{engine} {precision} decode / llama.cpp {theirs['version'].split('(')[-1].rstrip(')')} decode: "
                  f"{best[(engine, precision)]['decode'] / theirs['decode']:.2f} (best vs best); per round: {', '.join(rounds)}")
    if fp32_bytes < 64 << 20:
        print("(weights this small stay in the CPU caches: decode is bound by per-token overhead, not by memory "
              "bandwidth, and the roofline is only a reference)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

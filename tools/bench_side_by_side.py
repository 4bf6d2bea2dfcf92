#!/usr/bin/env python3
"""mixtral-lab (with fp32 and with 8-bit activations), llama.cpp and optionally Hugging Face transformers:
decode and prefill speed on the same weights, interleaved in one run, with the memory-bandwidth roofline
measured in the same run.

    swift build -c release --product mixtral-lab
    tools/.venv/bin/python tools/bench_side_by_side.py MODEL_DIR --mixtral-lab .build/release/mixtral-lab
                          [--threads 2] [--rounds 2] [--precisions fp32,int8,q4] [--prompt-tokens 8,64,512]
                          [--decode-steps 64] [--repeats 2] [--activations fp32,q8]
                          [--llama-bench PATH --gguf-dir DIR] [--transformers]

MODEL_DIR is a transformers Mixtral checkpoint, e.g. the `bench` preset (tools/make_bench_model.py).

With --llama-bench (llama.cpp's `llama-bench` binary) and --gguf-dir, llama.cpp runs on the same weights
as GGUF files in DIR named f32.gguf, q8_0.gguf and q4_0.gguf (the ones present are used, for the
precisions fp32, int8 and q4 of --precisions), and mixtral-lab runs on those very files (it computes on
a file's stored F32/Q8_0/Q4_0 tensors), so both engines multiply identical bytes. The files:

    python convert_hf_to_gguf.py MODEL_DIR --outtype f32 --outfile DIR/f32.gguf
      (or, without torch: mixtral-lab export --model MODEL_DIR --precision fp32 --output DIR/f32.gguf)
    llama-quantize --pure DIR/f32.gguf DIR/q8_0.gguf Q8_0
    llama-quantize --pure DIR/f32.gguf DIR/q4_0.gguf Q4_0

(--pure: every tensor in that type, as mixtral-lab's uniform int8/q4; without it llama-quantize keeps
output.weight at Q6_K in a Q4_0 file.) Without llama.cpp, mixtral-lab runs on MODEL_DIR at --precisions.

Engines, each a separate process per round:
- `mixtral-lab`  `mixtral-lab bench --activations fp32 …` (activations kept in fp32: the reference);
- `mixtral-lab q8`  the same with `--activations q8` (activations rounded to 8 bits per block of 32 as
  llama.cpp does, integer dot products); both with `--model FILE --precisions fp32` per GGUF file (its
  stored types run) or `--model MODEL_DIR --precisions …`, `--prompt-tokens 8,64,512 --threads N`
  (OPENBLAS_NUM_THREADS=N), best of --repeats inside the process;
- `llama.cpp`  `llama-bench -m FILE -t N -p 8,64,512 -n STEPS -r REPEATS -o json` per GGUF file (decode:
  its `-n` test, STEPS tokens from an empty context; prefill: its `-p` tests; means over its repetitions);
- `transformers` (--transformers; needs torch) tools/bench_transformers.py, fp32, first prompt length.

Method: rounds rotate the order of the engines, so all see the same machine load on average. Per engine
and precision the table reports the best round for decode and the best for each prompt length, and the
1-minute load average (os.getloadavg) at the start of the best decode round's run. Ratios mixtral-lab /
llama.cpp follow per precision, best vs best and per round.

Bandwidth (the roofline's yardstick): what decode needs is to stream weights it only reads, so the run
measures a read-only stream on the engines' thread count — a float32 matrix–vector product (OpenBLAS
sgemv through numpy, one thread per part, each part a contiguous slice) over a 1 GB matrix, much larger
than the caches, counted as matrix bytes read per second; best of 5, at the start of the run and again at
the end (the larger is used; both are printed). A copy (bytes read + bytes written) is printed beside it
for comparison with earlier runs, which used it: it counts writes, which decode does not do, and on this
machine it swung 1.6× between runs at unchanged decode speeds. Bytes read per decode token: fp32 from
config.json (every weight except the idle experts and the embedding table, 4 bytes each); int8 and q4
from mixtral-lab's own report (its "weights read GB/s" over its decode tokens/s), also used for
llama.cpp's Q8_0 and Q4_0 rows (the same GGML blocks). Weights read = decode tokens/s × bytes per token;
% of roofline = weights read / read bandwidth.

Prints the per-run log on stderr and the tables on stdout. Needs the model's RAM once per engine at a time
(about 3.2 GB for the `bench` preset at fp32; the engines never run concurrently), plus 2 GB for the copy.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

# The read stream below runs one sgemv per Python thread: numpy's OpenBLAS must not start threads of its
# own for them (set before numpy loads it). The engines get their own settings (ENGINE_ENV).
ENGINE_ENV = dict(os.environ)
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402

TRANSFORMERS_SCRIPT = Path(__file__).with_name("bench_transformers.py")

# mixtral-lab precision → the GGUF file llama.cpp runs for it (see the docstring).
GGUF_FILES = {"fp32": "f32.gguf", "int8": "q8_0.gguf", "q4": "q4_0.gguf"}


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


def best_parallel_seconds(work, bounds, repeats: int) -> float:
    """Best wall time of `work(a, b)` run on one thread per part [a, b) of `bounds`, over `repeats` timed
    passes after one untimed pass (which faults pages in). numpy releases the GIL in the work used here."""
    best = float("inf")
    for attempt in range(repeats + 1):
        workers = [threading.Thread(target=work, args=(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
        if attempt > 0:
            best = min(best, elapsed)
    return best


def copy_bandwidth(gigabytes: float, threads: int, repeats: int = 5) -> float:
    """Best copy bandwidth in bytes/s (read + write) of a `gigabytes` float32 array over `threads` threads."""
    count = int(gigabytes * 1e9) // 4
    src = np.ones(count, dtype=np.float32)
    dst = np.zeros(count, dtype=np.float32)  # np.zeros maps lazily: the untimed first copy touches it
    bounds = np.linspace(0, count, threads + 1, dtype=np.int64)
    best = best_parallel_seconds(lambda a, b: np.copyto(dst[a:b], src[a:b]), bounds, repeats)
    return 2 * count * 4 / best


def read_bandwidth(gigabytes: float, threads: int, repeats: int = 5) -> float:
    """Best read bandwidth in bytes/s of a float32 matrix–vector product over a `gigabytes` matrix split
    into `threads` contiguous parts, one OpenBLAS sgemv per part on its own thread (numpy releases the GIL)."""
    cols = 1024
    rows = int(gigabytes * 1e9) // (4 * cols)
    matrix = np.ones((rows, cols), dtype=np.float32)   # written, so every page is in RAM before timing
    vector = np.ones(cols, dtype=np.float32)
    bounds = np.linspace(0, rows, threads + 1, dtype=np.int64)
    best = best_parallel_seconds(lambda a, b: np.dot(matrix[a:b], vector), bounds, repeats)
    return rows * cols * 4 / best


def run_json(command: list[str], env: dict) -> dict:
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def gguf_files(args) -> list[tuple[str, Path]]:
    """(precision, file) for the precisions of --precisions whose GGUF file is in --gguf-dir."""
    found = [(p, args.gguf_dir / GGUF_FILES[p]) for p in args.precisions.split(",") if p in GGUF_FILES]
    return [(p, path) for p, path in found if path.is_file()]


def mixtral_lab_row(args, report: dict, precision: str) -> dict:
    r = report["results"][0] if precision is None else next(
        r for r in report["results"] if r["requested_precision"] == precision)
    by_length = r["prefill_tokens_per_second_by_prompt_tokens"]
    return {"precision": precision or r["precision"], "decode": r["decode_tokens_per_second"],
            "prefill": {int(k): v for k, v in by_length.items()},
            "bytes_per_token": r["decode_weight_gb_per_second"] * 1e9 / r["decode_tokens_per_second"]}


def mixtral_lab_engine(activations: str):
    """The mixtral-lab engine at `activations`: on the GGUF files when given, else on MODEL_DIR."""
    def run(args) -> list[dict]:
        env = dict(ENGINE_ENV, OPENBLAS_NUM_THREADS=str(args.threads))
        common = ["--threads", str(args.threads), "--prompt-tokens", args.prompt_tokens,
                  "--decode-tokens", str(args.decode_steps), "--repeats", str(args.repeats),
                  "--activations", activations, "--format", "json"]
        if args.gguf_dir is None:
            report = run_json([args.mixtral_lab, "bench", "--model", str(args.model_dir),
                               "--precisions", args.precisions] + common, env)
            return [mixtral_lab_row(args, report, p) for p in args.precisions.split(",")]
        rows = []
        for precision, path in gguf_files(args):
            report = run_json([args.mixtral_lab, "bench", "--model", str(path), "--precisions", "fp32"] + common, env)
            rows.append(dict(mixtral_lab_row(args, report, None), precision=precision))
        return rows
    return run


def run_transformers(args) -> list[dict]:
    # Passive OpenMP waiting: with the default spin-waiting, torch's threads burn the cores other processes
    # on this shared machine need, and 2-thread decode fell to half of its 1-thread speed.
    env = dict(ENGINE_ENV, OMP_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="PASSIVE")
    first = int(args.prompt_tokens.split(",")[0])
    r = run_json([sys.executable, str(TRANSFORMERS_SCRIPT), str(args.model_dir), "--threads", str(args.threads),
                  "--prompt-tokens", str(first), "--decode-steps", str(args.decode_steps),
                  "--runs", str(args.repeats)], env)
    return [{"precision": "fp32", "prefill": {first: r["prefill_tokens_per_second"]},
             "decode": r["decode_tokens_per_second"], "version": f"transformers {r['transformers']}, torch {r['torch']}"}]


def run_llama_cpp(args) -> list[dict]:
    rows = []
    for precision, path in gguf_files(args):
        out = subprocess.run([args.llama_bench, "-m", str(path), "-t", str(args.threads), "-p", args.prompt_tokens,
                              "-n", str(args.decode_steps), "-r", str(args.repeats), "-o", "json"],
                             check=True, capture_output=True, text=True, env=ENGINE_ENV).stdout
        tests = json.loads(out)
        decode = next(t for t in tests if t["n_gen"] > 0 and t["n_prompt"] == 0)
        prefill = {t["n_prompt"]: t["avg_ts"] for t in tests if t["n_prompt"] > 0 and t["n_gen"] == 0}
        rows.append({"precision": precision, "prefill": prefill, "decode": decode["avg_ts"],
                     "version": f"llama.cpp {decode.get('build_commit', '?')}"})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--mixtral-lab", required=True, help="release mixtral-lab binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precisions", default="fp32,int8,q4")
    parser.add_argument("--prompt-tokens", default="8,64,512", help="prefill prompt lengths, comma-separated")
    parser.add_argument("--decode-steps", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="timed repetitions inside each engine run")
    parser.add_argument("--activations", default="fp32,q8", help="mixtral-lab's --activations to run, comma-separated")
    parser.add_argument("--bandwidth-gb", type=float, default=1.0,
                        help="size of the matrix the read stream reads (and of the array the copy moves)")
    parser.add_argument("--llama-bench", help="llama.cpp's llama-bench binary (with --gguf-dir)")
    parser.add_argument("--gguf-dir", type=Path, help="folder with f32.gguf, q8_0.gguf, q4_0.gguf of MODEL_DIR")
    parser.add_argument("--transformers", action="store_true", help="also run tools/bench_transformers.py (fp32)")
    args = parser.parse_args()
    if min(args.threads, args.rounds, args.decode_steps, args.repeats) < 1:
        parser.error("--threads, --rounds, --decode-steps and --repeats must be at least 1")
    try:
        lengths = [int(n) for n in args.prompt_tokens.split(",")]
    except ValueError:
        parser.error(f"--prompt-tokens {args.prompt_tokens}: expected comma-separated integers, e.g. 8,64,512")
    if min(lengths) < 1:
        parser.error("--prompt-tokens: every length must be at least 1")
    activations = args.activations.split(",")
    if not activations or any(a not in ("fp32", "q8") for a in activations):
        parser.error(f"--activations {args.activations}: expected fp32, q8 or fp32,q8")
    if (args.llama_bench is None) != (args.gguf_dir is None):
        parser.error("--llama-bench and --gguf-dir go together")
    if args.gguf_dir is not None and not gguf_files(args):
        parser.error(f"--gguf-dir {args.gguf_dir}: none of {', '.join(GGUF_FILES.values())} for the precisions "
                     f"{args.precisions}")

    def log(text):
        print(text, file=sys.stderr, flush=True)

    def measure_bandwidth():
        """(read on N threads, read on 1, copy on N, load)."""
        load = os.getloadavg()[0]
        read_n = read_bandwidth(args.bandwidth_gb, args.threads)
        read_1 = read_n if args.threads == 1 else read_bandwidth(args.bandwidth_gb, 1)
        copy_n = copy_bandwidth(args.bandwidth_gb, args.threads)
        log(f"read bandwidth {read_n / 1e9:.1f} GB/s ({args.threads} thread(s)), {read_1 / 1e9:.1f} GB/s (1 thread); "
            f"copy {copy_n / 1e9:.1f} GB/s ({args.threads} thread(s)); load {load:.2f}")
        return read_n, read_1, copy_n, load

    bandwidth_start = measure_bandwidth()

    engines = {("mixtral-lab" if a == "fp32" else f"mixtral-lab {a}"): mixtral_lab_engine(a) for a in activations}
    if args.llama_bench:
        engines["llama.cpp"] = run_llama_cpp
    if args.transformers:
        engines["transformers"] = run_transformers
    best: dict[tuple[str, str], dict] = {}   # (engine, precision) → best decode row, prefill best per length
    per_round: list[dict] = []               # per round: {(engine, precision): row}
    loads = []
    for round_index in range(args.rounds):
        names = list(engines)
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        per_round.append({})
        for engine in order:
            load = os.getloadavg()[0]
            loads.append(load)
            start = time.perf_counter()
            rows = engines[engine](args)
            log(f"round {round_index + 1} {engine} ({time.perf_counter() - start:.0f} s, load {load:.2f}): "
                + ", ".join(f"{r['precision']} decode {r['decode']:.1f} prefill "
                            + "/".join(f"{r['prefill'][n]:.1f}" for n in sorted(r["prefill"])) for r in rows))
            for row in rows:
                row.update(load=load, round=round_index + 1)
                key = (engine, row["precision"])
                per_round[-1][key] = row
                if key not in best:
                    best[key] = dict(row, prefill=dict(row["prefill"]))
                    continue
                prefill = {n: max(v, row["prefill"].get(n, 0)) for n, v in best[key]["prefill"].items()}
                if row["decode"] > best[key]["decode"]:
                    best[key] = dict(row)
                best[key]["prefill"] = prefill
    load_end = os.getloadavg()[0]
    bandwidth_end = measure_bandwidth()
    # on a busy machine the extra thread can lose more than it gains: the larger of N threads and 1
    bandwidth = max(bandwidth_start[0], bandwidth_start[1], bandwidth_end[0], bandwidth_end[1])

    fp32_bytes = fp32_decode_bytes_per_token(args.model_dir)
    source = f"GGUF files in {args.gguf_dir}" if args.gguf_dir else f"{args.model_dir}"
    print(f"model {args.model_dir} (mixtral-lab on {source}), {args.threads} thread(s) each, prompts of "
          f"{args.prompt_tokens} tokens, {args.decode_steps} decode steps, best of {args.repeats} per run, "
          f"{args.rounds} interleaved rounds; load average (1 min) {min(loads):.2f}–{max(loads):.2f} at the runs' "
          f"starts, {load_end:.2f} at the end")
    versions = sorted({row["version"] for row in best.values() if "version" in row})
    print("; ".join([f"mixtral-lab {args.mixtral_lab}"] + versions))
    for when, (read_n, read_1, copy_n, load) in (("start", bandwidth_start), ("end", bandwidth_end)):
        print(f"read bandwidth at the {when}: {read_n / 1e9:.1f} GB/s on {args.threads} thread(s), {read_1 / 1e9:.1f} "
              f"GB/s on 1 (float32 sgemv over {args.bandwidth_gb:g} GB; copy, read + write: {copy_n / 1e9:.1f} GB/s); "
              f"load {load:.2f}")
    print(f"roofline: {bandwidth / 1e9:.1f} GB/s read (the largest above); fp32 weights read per decode token "
          f"{fp32_bytes / 1e9:.3f} GB → fp32 roofline {bandwidth / fp32_bytes:.1f} tok/s")
    print()
    prefill_titles = "".join(f"{'prefill ' + str(n):>13s}" for n in lengths)
    print(f"{'engine':16s} {'precision':9s}{prefill_titles} {'decode tok/s':>12s} {'GB/token':>9s} "
          f"{'weights GB/s':>12s} {'roofline tok/s':>14s} {'% roofline':>10s} {'round':>5s} {'load 1m':>7s}")
    ours = {precision: row for (engine, precision), row in best.items() if engine.startswith("mixtral-lab")}
    for (engine, precision), row in sorted(best.items(), key=lambda item: (list(GGUF_FILES).index(item[0][1])
                                                                           if item[0][1] in GGUF_FILES else 9, item[0][0])):
        per_token = fp32_bytes if precision == "fp32" else row.get("bytes_per_token", ours[precision]["bytes_per_token"])
        roofline = bandwidth / per_token
        prefill = "".join(f"{row['prefill'][n]:13.1f}" if n in row["prefill"] else f"{'–':>13s}" for n in lengths)
        print(f"{engine:16s} {precision:9s}{prefill} {row['decode']:12.1f} {per_token / 1e9:9.3f} "
              f"{row['decode'] * per_token / 1e9:12.1f} {roofline:14.1f} {100 * row['decode'] / roofline:9.0f}% {row['round']:5d} {row['load']:7.2f}")
    if "llama.cpp" in engines:
        print()
        print("mixtral-lab / llama.cpp, best vs best (per round in brackets):")
        print(f"{'engine':16s} {'precision':9s} {'decode':>18s}" + "".join(f"{'prefill ' + str(n):>22s}" for n in lengths))
        for engine in engines:
            if not engine.startswith("mixtral-lab"):
                continue
            for precision in GGUF_FILES:
                theirs, mine = best.get(("llama.cpp", precision)), best.get((engine, precision))
                if theirs is None or mine is None:
                    continue
                rounds = [r for r in per_round if (engine, precision) in r and ("llama.cpp", precision) in r]

                def ratio(metric):
                    def value(row):
                        return row["decode"] if metric == "decode" else row["prefill"].get(metric, float("nan"))
                    per = ",".join(f"{value(r[(engine, precision)]) / value(r[('llama.cpp', precision)]):.2f}" for r in rounds)
                    return f"{value(mine) / value(theirs):.2f} [{per}]"
                print(f"{engine:16s} {precision:9s} {ratio('decode'):>18s}" + "".join(f"{ratio(n):>22s}" for n in lengths))
    if "transformers" in engines and ("mixtral-lab", "fp32") in best:
        ratio = best[("mixtral-lab", "fp32")]["decode"] / best[("transformers", "fp32")]["decode"]
        print(f"\nmixtral-lab fp32 decode / transformers fp32 decode: {ratio:.2f} (best vs best)")
    if fp32_bytes < 64 << 20:
        print("(weights this small stay in the CPU caches: decode is bound by per-token overhead, not by memory "
              "bandwidth, and the roofline is only a reference)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Predicted against measured decode speed of real expert offloading (issue #14).

For each precision, budget and policy it runs, each in its own process,
`mixtral-lab trace --ram-budget B --policy P --hardware PROFILE`: the run really streams its experts from
disk, and the simulator replays the same routing with the same slots on PROFILE's clock. It prints the
simulator's decode tokens/s (`tokens_per_second_est` in summary.json) beside the measured one
(`decode_tokens_per_second` in real-summary.json), their ratio measured / predicted, and checks that both
summaries count the same hits and misses. The machine's load average is read before and after each row.

PROFILE should describe this machine: without --hardware the script first runs
`mixtral-lab hardware probe` (probe file under --probe-dir, removed afterwards) and uses its profile.
Budgets are fractions of the weights' bytes at each precision (nominal sizes, as tools/bench_offload.py).

Usage (from the repository, after `swift build -c release`; the model from tools/make_bench_model.py):
    tools/bench_offload_predicted.py --model DIR [--precisions fp32,q4] [--fractions 0.25,0.5]
        [--policies lru,lfu,static,lru+prefetch] [--max-tokens 16] [--hardware FILE | --probe-dir DIR]
        [--offload-store DIR] [--json FILE]
Not a test: the figures go in the README's Benchmarks section.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_offload import weight_bytes  # noqa: E402  (the budgets' 100 %, shared with bench_offload.py)


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def run(binary, args):
    process = subprocess.run([binary] + args, capture_output=True, text=True)
    if process.returncode != 0:
        sys.exit(f"mixtral-lab {' '.join(args)} failed ({process.returncode}):\n{process.stderr}")
    return process.stdout, process.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/mixtral-lab")
    parser.add_argument("--model", required=True, help="the bench preset's folder (tools/make_bench_model.py)")
    parser.add_argument("--precisions", default="fp32,q4")
    parser.add_argument("--fractions", default="0.25,0.5", help="budgets as fractions of the weight bytes")
    parser.add_argument("--policies", default="lru,lfu,static,lru+prefetch")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--prompt", default="The history of the city begins")
    parser.add_argument("--hardware", help="a profile of this machine (default: probe it first)")
    parser.add_argument("--probe-dir", help="folder for the probe file (default: the temporary folder)")
    parser.add_argument("--offload-store", help="folder for expert stores (default: mixtral-lab's)")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()

    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)
    scratch = tempfile.mkdtemp(prefix="bench-offload-predicted-")
    hardware = args.hardware
    if hardware is None:
        hardware = os.path.join(scratch, "this-machine.json")
        probe = ["hardware", "probe", "--out", hardware] + (["--dir", args.probe_dir] if args.probe_dir else [])
        print(f"probing this machine: mixtral-lab {' '.join(probe)}", flush=True)
        run(args.binary, probe)
    with open(hardware) as f:
        profile = json.load(f)

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{date} · {cpu_name()}, {os.cpu_count()} cores · profile {hardware}: {profile.get('measured', profile['name'])}")
    print(f"model {args.model}, {args.max_tokens} tokens, prompt {args.prompt!r}; ratio = measured / predicted")
    header = (f"{'precision':9} {'budget':>7} {'MiB':>6} {'policy':12} {'slots':>9} {'hit rate':>8} "
              f"{'predicted tok/s':>15} {'measured tok/s':>14} {'ratio':>6} {'load':>10}")
    print(header)
    rows = []
    for precision in args.precisions.split(","):
        total = weight_bytes(config, precision)
        for fraction in [float(x) for x in args.fractions.split(",")]:
            budget = int(total * fraction)
            for policy in args.policies.split(","):
                out = os.path.join(scratch, f"{precision}-{fraction}-{policy}")
                flags = ["trace", "--model", args.model, "--precision", precision, "--ram-budget", str(budget),
                         "--policy", policy, "--hardware", hardware, "--prompt", args.prompt,
                         "--max-tokens", str(args.max_tokens), "--out", out]
                if args.offload_store:
                    flags += ["--offload-store", args.offload_store]
                load_before = load_average()
                run(args.binary, flags)
                load_after = load_average()
                with open(os.path.join(out, "summary.json")) as f:
                    simulated = json.load(f)
                with open(os.path.join(out, "real-summary.json")) as f:
                    real = json.load(f)
                agree = all(simulated[k] == real[k] for k in ("hits", "misses", "decode_hits", "decode_misses"))
                predicted, measured = simulated["tokens_per_second_est"], real["decode_tokens_per_second"]
                ratio = measured / predicted if predicted > 0 else float("nan")
                slots = f"{real['slots_per_layer']}" + (f"+{len(real['extra_slot_layers'])}L" if real["extra_slot_layers"] else "")
                row = {"precision": precision, "fraction": fraction, "budget_bytes": budget, "policy": policy,
                       "slots_per_layer": real["slots_per_layer"], "extra_slot_layers": real["extra_slot_layers"],
                       "hit_rate": real["hit_rate"], "predicted": predicted, "measured": measured, "ratio": ratio,
                       "counts_agree": agree, "load_before": load_before, "load_after": load_after,
                       "stall_seconds": real["stall_seconds"], "read_seconds": real["read_seconds"],
                       "bytes_read": real["bytes_read"]}
                rows.append(row)
                print(f"{precision:9} {fraction:7.0%} {budget / 2**20:6.0f} {policy:12} {slots:>9} {real['hit_rate']:8.3f} "
                      f"{predicted:15.2f} {measured:14.2f} {ratio:6.2f} {load_before:4.1f}–{load_after:<4.1f}"
                      + ("" if agree else "  HITS/MISSES DIFFER"), flush=True)
    within = sum(1 for r in rows if 0.75 <= r["ratio"] <= 1.25)
    print(f"{within} of {len(rows)} rows within ±25 %; slots 'N+kL': N per layer and one more in k layers")
    print("the assumptions the prediction makes (and what it leaves out) are in each run's summary.json")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": date, "cpu": cpu_name(), "cores": os.cpu_count(), "profile": profile, "rows": rows}, f, indent=1)
    subprocess.run(["rm", "-rf", scratch])


if __name__ == "__main__":
    main()

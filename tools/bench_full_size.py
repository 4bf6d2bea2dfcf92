#!/usr/bin/env python3
"""mixtral-lab beside llama.cpp on one full-size GGUF file (issue #15), each held to the same memory.

    sudo tools/.venv/bin/python tools/bench_full_size.py ../mixtral-8x7b-random-q4_0.gguf \\
        --mixtral-lab .build/release/mixtral-lab --llama-cpp ../llama.cpp/build/bin --budgets 16,12,8

For each budget (GiB), the two engines run one after the other (llama.cpp first, then mixtral-lab; the
order alternates from one budget to the next, and with --rounds N the budgets run N times, each budget's
order flipping from one round to the next, so that neither engine always runs right after the other).
What ran before matters on a virtual machine whose host takes back the memory the guest frees (free page
reporting, virtio-balloon; the development machine reports every free 2 MiB block at once): a run that
writes memory another run freed waits for the host to provide it again — 16 GiB of anonymous memory took
22 s to write once right after a page-cache drop, 4.3 s with reporting held (2026-12-07 23:37 UTC). An
expert cache's slots are such memory, llama.cpp's page cache is filled by the disk's DMA, not by the
guest's CPU. With --hold-page-reporting the benchmark holds reporting and writes the free memory once
first (`PageReportingHeld`), as a machine without a hypervisor would be; the JSON's `page_reporting` says
which. Each run:
- after `sync; echo 3 > /proc/sys/vm/drop_caches` (so every weight comes from the disk);
- in a cgroup v1 memory controller of its own with `memory.limit_in_bytes` = the budget, created under
  /sys/fs/cgroup/memory and removed afterwards; the limit counts the process's memory and the page cache
  it brings in, so llama.cpp's mmap gets exactly the budget and the rest of the machine is left alone;
- on the same prompt (tokenized by each engine's own copy of the file's vocabulary: the same ids) and the
  same number of decoded tokens, sampled at temperature 1 with a fixed seed. A random-weight model's
  logits are spread out, so the sampled ids are spread over the vocabulary as llama-bench's `tg` random
  ids are, and the routing keeps varying (mixtral-lab's hit rate is reported to show it);
- llama.cpp: `llama-completion -no-cnv --no-repack --no-warmup -t THREADS --temp 1 --top-k 0 --top-p 1
  --min-p 0 --seed S` (mmap; its default repack makes a 26 GB copy and does not load in 24 GB; its warm-up
  would read every expert; top-k, top-p and min-p off so that it samples from the whole distribution at
  temperature 1 as mixtral-lab does);
- with --mmap-experts, also mixtral-lab `generate --mmap-experts --activations A …`: its own kernels on the
  file's Q4_0 blocks where they lie, no budget and no expert cache — the page cache alone decides, as in
  llama.cpp's mmap — so that what the expert cache changes is measured apart from what the kernels do
  (with three engines the order turns by one from budget to budget and from round to round);
- mixtral-lab: `generate --ram-budget (budget − overhead) --policy P --activations A --temperature 1 --seed S
  --timing`, its budget lowered by --overhead (default 256 MiB: the process's own memory outside the budget)
  so that all it holds fits in the cgroup; `--activations q8` by default, which rounds the activations to
  Q8_0 and multiplies 8-bit integers as llama.cpp's Q4_0/Q8_0 products do (`fp32` keeps them exact).

Before each run, the disk's speed that minute: 512 MiB of the file read with O_DIRECT by 4 threads in 4 MiB
reads (as mixtral-lab reads experts), from an offset that moves from run to run (`disk_probe`).

Per run: prefill and decode tokens/s (each engine's own timers), wall time, bytes read from the disk and
peak RSS (wait4's rusage: ru_inblock × 512, the /proc/PID/io read_bytes counter at exit, and ru_maxrss),
the cgroup's peak charge (memory.max_usage_in_bytes, page cache included); for mixtral-lab also its
start-up (process start to the first prompt token), slots per layer, hit rate, stall time (and its parts
queued behind other reads and waking after the read), its expert reads' bytes per second of read time, the bytes its
expert reads fetched (demand and prefetch reads, counted apart) and the prefill's read and wait times.
Before the runs, the time to read the file's resident (non-expert) tensors cold is measured, as the
start-up's floor.

Needs root (drop_caches, cgroups). Prints a Markdown table on stdout (ratios mixtral-lab ÷ llama.cpp of
the same round), then per budget every round's ratio with the lowest and the median, and the start-up
against the resident tensors' cold read; with --json FILE it writes every figure; the commands it records (the benchmark's own and each run's)
say FILE, BIN, LLAMA_CPP, LOGS and OUT for the paths given, and the model by its file name only, so that
no path of the measuring machine is recorded (`placeholders` in the JSON says what each stands for). The
machine is shared: its 1-minute load average is recorded at each run's start; compare within one run of
this script, not across runs.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time

GiB = 1 << 30
MiB = 1 << 20
CGROUP_ROOT = "/sys/fs/cgroup/memory"
DEFAULT_PROMPT = ("In 1887 the harbour froze solid; ships waited for weeks while merchants in Vienna argued about "
                  "coal, music and electricity.")


def fail(message):
    print(f"bench_full_size.py: {message}", file=sys.stderr)
    sys.exit(2)


# What the recorded commands say instead of this machine's paths (the JSON's `placeholders` explains them).
PLACEHOLDERS = {"FILE": "the GGUF file (tools/make_full_size_model.py)", "BIN": "mixtral-lab's release binary",
                "LLAMA_CPP": "llama.cpp's build/bin folder", "LOGS": "the --logs folder", "OUT": "the --json file"}


def recorded(command, paths):
    """`command` (a list of arguments) as one shell line, each argument that is one of `paths` (a path →
    placeholder dict) replaced by its placeholder, so that no path of this machine is recorded."""
    return shlex.join(paths.get(a, a) for a in command)


def drop_page_cache():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


class MemoryCgroup:
    """A cgroup v1 memory controller limited to `limit` bytes, removed on exit."""

    def __init__(self, name, limit):
        self.path = os.path.join(CGROUP_ROOT, name)
        self.limit = limit

    def __enter__(self):
        os.mkdir(self.path)
        with open(os.path.join(self.path, "memory.limit_in_bytes"), "w") as f:
            f.write(str(self.limit))
        return self

    def enter_from_child(self):
        """preexec_fn: moves the child into the group before it execs."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def peak(self):
        with open(os.path.join(self.path, "memory.max_usage_in_bytes")) as f:
            return int(f.read())

    def __exit__(self, *exc):
        # the child has exited; move any straggler out, then remove the group
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.1)
        print(f"bench_full_size.py: could not remove {self.path}", file=sys.stderr)


def disk_probe(path, readers=4, chunk=4 * MiB, total=512 * MiB):
    """The disk's speed that minute, in bytes/s: `total` bytes of `path` read with O_DIRECT (no page cache)
    by `readers` threads in `chunk`-byte positioned reads (as mixtral-lab reads experts, ExpertFile), from
    an offset that moves with every call so no storage cache below the page cache holds them."""
    import mmap
    import threading
    size = os.path.getsize(path)
    disk_probe.calls = getattr(disk_probe, "calls", 0) + 1
    start_offset = (disk_probe.calls * 7919 * chunk) % max(chunk, size - total - chunk) // chunk * chunk
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    chunks = [start_offset + i * chunk for i in range(total // chunk)]

    def reader(r):
        buffer = mmap.mmap(-1, chunk)   # page-aligned, as O_DIRECT needs
        for offset in chunks[r::readers]:
            os.preadv(fd, [buffer], offset)
        buffer.close()

    threads = [threading.Thread(target=reader, args=(r,)) for r in range(readers)]
    begin = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - begin
    os.close(fd)
    return total / seconds


PAGE_REPORTING_ORDER = "/sys/module/page_reporting/parameters/page_reporting_order"


class PageReportingHeld:
    """With --hold-page-reporting: while inside, the guest reports no free memory to its host (free page
    reporting, virtio-balloon: `page_reporting_order` set above the largest buddy order, 10 on x86-64, so no
    free block is large enough), and once at the start every free byte is written once and freed again, so
    that the host backs the guest's memory again. Then memory one run frees costs the next nothing to take
    back, as on a machine without a hypervisor. The order found is put back at the end. `state` says, in
    words, what held."""

    def __init__(self, hold):
        self.hold = hold
        self.saved = None
        self.state = "free page reporting: not present on this machine"

    def __enter__(self):
        if not os.path.exists(PAGE_REPORTING_ORDER):
            return self
        with open(PAGE_REPORTING_ORDER) as f:
            self.saved = f.read().strip()
        if not self.hold:
            self.state = (f"free page reporting on (page_reporting_order {self.saved}): memory a run frees is handed back to the host, "
                          "and the next run to write it waits for the host to provide it again")
            return self
        with open(PAGE_REPORTING_ORDER, "w") as f:
            f.write("11")
        try:
            warmed = warm_free_memory()
        except BaseException:
            self.__exit__(None, None, None)   # a failure in __enter__ skips __exit__
            raise
        self.state = (f"free page reporting held for the benchmark (page_reporting_order 11 instead of {self.saved}), "
                      f"and {warmed / GiB:.1f} GiB of free memory written once at its start: no run waits for the host's memory")
        return self

    def __exit__(self, *exc):
        if self.hold and self.saved is not None:
            with open(PAGE_REPORTING_ORDER, "w") as f:
                f.write(self.saved)
        return False


def warm_free_memory():
    """Writes every 4 KiB page of (available memory − 1 GiB) once, in 64 MiB pieces, and frees it. Returns bytes written."""
    import mmap
    available = next(int(line.split()[1]) * 1024 for line in open("/proc/meminfo") if line.startswith("MemAvailable:"))
    size = max(0, available - GiB) // (64 * MiB) * (64 * MiB)
    if size == 0:
        return 0
    block = b"\x01" * (64 * MiB)
    with mmap.mmap(-1, size) as memory:
        for offset in range(0, size, 64 * MiB):
            memory[offset:offset + 64 * MiB] = block
    return size


def run_in_cgroup(command, budget, label, log_dir):
    """Runs `command` in a fresh memory cgroup of `budget` bytes after dropping the page cache.
    Returns (exit status, stdout, stderr, wall s, bytes read, peak RSS bytes, cgroup peak bytes, load)."""
    drop_page_cache()
    load = os.getloadavg()[0]
    name = f"mixtral-lab-bench-{os.getpid()}-{label}"
    out_path, err_path = os.path.join(log_dir, f"{label}.out"), os.path.join(log_dir, f"{label}.err")
    with MemoryCgroup(name, budget) as group, open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                   preexec_fn=group.enter_from_child)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        cgroup_peak = group.peak()
    # a random model's text may cut a UTF-8 character between tokens
    with open(out_path, errors="replace") as f:
        stdout = f.read()
    with open(err_path, errors="replace") as f:
        stderr = f.read()
    return dict(status=process.returncode, stdout=stdout, stderr=stderr, wall_s=wall, bytes_read=usage.ru_inblock * 512,
                peak_rss=usage.ru_maxrss * 1024, cgroup_peak=cgroup_peak, load=load)


def is_expert(name):
    return "_exps." in name or re.search(r"ffn_(gate|up|down)\.\d+\.", name) is not None


def model_shape(path):
    """(layers, experts, top-k, bytes of one expert's three projections) from the GGUF header."""
    import gguf
    reader = gguf.GGUFReader(path)
    field = lambda key: int(reader.fields[key].parts[-1][0])
    layers, experts, top_k = field("llama.block_count"), field("llama.expert_count"), field("llama.expert_used_count")
    expert_bytes = sum(int(t.n_bytes) for t in reader.tensors if is_expert(t.name)) // (layers * experts)
    return layers, experts, top_k, expert_bytes


def resident_read_seconds(path):
    """Seconds to read the file's non-expert tensors (and its header) cold, with 8 MiB positioned reads."""
    import gguf
    reader = gguf.GGUFReader(path)
    ranges = [(0, int(reader.tensors[0].data_offset))]
    ranges += [(int(t.data_offset), int(t.n_bytes)) for t in reader.tensors if not is_expert(t.name)]
    del reader
    drop_page_cache()
    fd = os.open(path, os.O_RDONLY)
    start = time.monotonic()
    total = 0
    for offset, count in ranges:
        done = 0
        while done < count:
            n = len(os.pread(fd, min(8 * MiB, count - done), offset + done))
            if n == 0:
                break
            done += n
        total += done
    seconds = time.monotonic() - start
    os.close(fd)
    return total, seconds


def parse_llama(stderr):
    prompt = re.search(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens", stderr)
    decode = re.search(r"\beval time =\s*([\d.]+) ms /\s*(\d+) runs", stderr)
    if not prompt or not decode:
        return None
    p_ms, p_n = float(prompt.group(1)), int(prompt.group(2))
    d_ms, d_n = float(decode.group(1)), int(decode.group(2))
    return dict(prompt_tokens=p_n, prefill_tok_s=p_n / (p_ms / 1000), decode_tokens=d_n, decode_tok_s=d_n / (d_ms / 1000))


def parse_mixtral_lab(stderr, mapped=False):
    """Figures from a `generate --timing` run's standard error; `mapped`: a `--mmap-experts` run (no real
    offloading line: prefill, decode and start-up only)."""
    timing = re.search(r"timing: prefill (\d+) tokens in ([\d.]+) s · decode (\d+) tokens in ([\d.]+) s", stderr)
    real = re.search(r"real offloading: \S+, (\d+) of (\d+) experts per layer(?: \((\d+) in layers? ([^)]*)\))? in RAM"
                     r" · hit rate ([\d.]+) \(decode ([\d.]+)\).* · stall ([\d.]+) s \(([\d.]+) s queued behind other reads, ([\d.]+) s waking after the read\)"
                     r" · prefill read \S+ \S+ in ([\d.]+) s, waited ([\d.]+) s for it"
                     r"(?: · decode read (\S+ \S+) in ([\d.]+) s, waited ([\d.]+) s for it)?"
                     r" · (\d+) demand reads?, (\d+) prefetch reads? \((\d+) used, (\d+) in the prefill\) · (\d+) B read, (\d+) B of them in the prefill", stderr)
    startup = re.search(r"start-up ([\d.]+) s", stderr)
    budget = re.search(r"ram budget .* = .* \((\d+) B\)", stderr)
    if not timing or not (real or mapped):
        return None
    p_n, p_s, d_n, d_s = int(timing.group(1)), float(timing.group(2)), int(timing.group(3)), float(timing.group(4))
    if mapped:
        return dict(prompt_tokens=p_n, prefill_tok_s=p_n / p_s, prefill_s=p_s, decode_tokens=d_n, decode_tok_s=d_n / d_s if d_s else 0,
                    startup_s=float(startup.group(1)) if startup else None)
    return dict(prompt_tokens=p_n, prefill_tok_s=p_n / p_s, prefill_s=p_s, decode_tokens=d_n, decode_tok_s=d_n / d_s if d_s else 0,
                slots_per_layer=int(real.group(1)), extra_slot_layers=real.group(4) or "",
                hit_rate=float(real.group(5)), decode_hit_rate=float(real.group(6)), stall_s=float(real.group(7)),
                stall_queued_s=float(real.group(8)), stall_wake_s=float(real.group(9)),
                prefill_read_s=float(real.group(10)), prefill_wait_s=float(real.group(11)),
                decode_read_s=float(real.group(13)) if real.group(13) else None,
                decode_wait_s=float(real.group(14)) if real.group(14) else None,
                demand_reads=int(real.group(15)), prefetch_reads=int(real.group(16)), prefetch_used=int(real.group(17)),
                prefill_prefetch_reads=int(real.group(18)), expert_bytes_read=int(real.group(19)), prefill_bytes_read=int(real.group(20)), budget_used_bytes=int(budget.group(1)) if budget else None,
                startup_s=float(startup.group(1)) if startup else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("model", help="the GGUF file (tools/make_full_size_model.py)")
    parser.add_argument("--mixtral-lab", default=".build/release/mixtral-lab", help="the mixtral-lab binary")
    parser.add_argument("--llama-cpp", required=True, help="llama.cpp's build/bin folder (llama-completion)")
    parser.add_argument("--budgets", default="16,12,8", help="GiB, comma-separated")
    parser.add_argument("--overhead", type=int, default=256, help="MiB the mixtral-lab process holds outside --ram-budget")
    parser.add_argument("--policy", default="lru+prefetch", help="mixtral-lab's --policy")
    parser.add_argument("--activations", choices=["q8", "fp32"], default="q8", help="mixtral-lab's --activations")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--decode-tokens", type=int, default=24)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--logs", default="bench-full-size-logs", help="folder for each run's stdout and stderr")
    parser.add_argument("--rounds", type=int, default=1, help="run the budgets this many times (each round pairs the two engines once per budget)")
    parser.add_argument("--json", help="write every figure to this file")
    parser.add_argument("--hold-page-reporting", action="store_true",
                        help="on a virtual machine with free page reporting, hold it for the benchmark and write the free memory once first "
                             "(PageReportingHeld; put back at the end, also after an error or Ctrl-C), so that no run waits for the host to give back memory the run before freed")
    parser.add_argument("--mmap-experts", action="store_true",
                        help="also run mixtral-lab with --mmap-experts (its kernels, the page cache as the only cache) at each budget")
    args = parser.parse_args()

    if os.geteuid() != 0:
        fail("needs root: it drops the page cache and makes memory cgroups")
    if not os.path.isdir(CGROUP_ROOT):
        fail(f"{CGROUP_ROOT} is not mounted (a cgroup v1 memory controller is needed)")
    if not os.path.isfile(args.model):
        fail(f"{args.model}: no such file")
    completion = os.path.join(args.llama_cpp, "llama-completion")
    for binary, flag in ((completion, "--llama-cpp"), (args.mixtral_lab, "--mixtral-lab")):
        if not os.access(binary, os.X_OK):
            fail(f"{flag}: {binary} is not an executable")
    try:
        budgets = [float(b) for b in args.budgets.split(",")]
    except ValueError:
        fail(f"--budgets {args.budgets}: expected GiB numbers separated by commas")
    if args.rounds < 1:
        fail("--rounds must be at least 1")
    if args.decode_tokens < 2:
        fail("--decode-tokens must be at least 2")
    os.makedirs(args.logs, exist_ok=True)
    paths = {args.model: "FILE", args.mixtral_lab: "BIN", args.llama_cpp: "LLAMA_CPP", completion: "LLAMA_CPP/llama-completion",
             args.logs: "LOGS"}
    if args.json:
        paths[args.json] = "OUT"

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.machine())
    machine = f"{cpu}, {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GiB:.0f} GiB RAM"
    with PageReportingHeld(args.hold_page_reporting) as reporting:
        print(reporting.state, file=sys.stderr)
        measure(args, budgets, completion, paths, machine, reporting.state)


def measure(args, budgets, completion, paths, machine, page_reporting):
    """Runs every engine at every budget and round, and prints the table (see the module's docstring)."""
    started = datetime.datetime.now(datetime.timezone.utc)
    layers, experts, top_k, expert_bytes = model_shape(args.model)
    resident_bytes, resident_s = resident_read_seconds(args.model)
    print(f"resident tensors: {resident_bytes / GiB:.2f} GiB read cold in {resident_s:.2f} s", file=sys.stderr)
    results = []
    # the engines' order turns by one from budget to budget and from round to round (two engines: llama.cpp
    # first at every other budget, and at each budget the order flips from one round to the next)
    runs = [(r + 1, budget_gib, r + b) for r in range(args.rounds) for b, budget_gib in enumerate(budgets)]
    for round_number, budget_gib, turn in runs:
        budget = int(budget_gib * GiB)
        llama = [completion, "-m", args.model, "-p", args.prompt, "-n", str(args.decode_tokens), "-no-cnv", "--no-repack",
                 "--no-warmup", "-t", str(args.threads), "--temp", "1", "--top-k", "0", "--top-p", "1", "--min-p", "0",
                 "--seed", str(args.seed), "-c", "512"]
        ours = [args.mixtral_lab, "generate", "--model", args.model, "--prompt", args.prompt, "--max-tokens", str(args.decode_tokens),
                "--ram-budget", f"{budget // MiB - args.overhead}MiB", "--policy", args.policy, "--activations", args.activations, "--temperature", "1",
                "--seed", str(args.seed), "--timing"]
        engines = [("llama.cpp", llama), ("mixtral-lab", ours)]
        if args.mmap_experts:
            engines.append(("mixtral-lab mmap", ours[:ours.index("--ram-budget")] + ["--mmap-experts"] + ours[ours.index("--policy") + 2:]))
        engines = engines[turn % len(engines):] + engines[:turn % len(engines)]
        for engine, command in engines:
            label = f"{engine.replace(' ', '-')}-{budget_gib:g}GiB" + (f"-round{round_number}" if args.rounds > 1 else "")
            print(f"running {label} …", file=sys.stderr)
            disk = disk_probe(args.model)
            run = run_in_cgroup(command, budget, label, args.logs)
            figures = parse_llama(run["stderr"]) if engine == "llama.cpp" else parse_mixtral_lab(run["stderr"], mapped=engine.endswith("mmap"))
            if run["status"] != 0 or figures is None:
                print(f"  {label} failed (exit {run['status']}); see {args.logs}/{label}.err", file=sys.stderr)
            row = dict(engine=engine, budget_gib=budget_gib, round=round_number, command=recorded(command, paths), status=run["status"],
                       ram_budget_bytes=budget - args.overhead * MiB if engine == "mixtral-lab" else None,
                       wall_s=run["wall_s"], bytes_read=run["bytes_read"], peak_rss=run["peak_rss"],
                       cgroup_peak=run["cgroup_peak"], load=run["load"], disk_probe_bytes_s=disk, **(figures or {}))
            if figures and engine == "mixtral-lab":
                row["expert_read_bytes_s"] = figures["expert_bytes_read"] / (figures["prefill_read_s"] + (figures["decode_read_s"] or 0))
            results.append(row)
            print(f"  {json.dumps({k: v for k, v in row.items() if k != 'command'})}", file=sys.stderr)
            if args.json:   # after every run, so that an interrupted benchmark keeps what it measured
                date = f"{started:%Y-%m-%d %H:%M}–{datetime.datetime.now(datetime.timezone.utc):%H:%M} UTC"
                with open(args.json, "w") as f:
                    json.dump(dict(model=os.path.basename(args.model), placeholders=PLACEHOLDERS,
                                   bench_command=recorded(["tools/bench_full_size.py"] + sys.argv[1:], paths),
                                   file_bytes=os.path.getsize(args.model), layers=layers, experts=experts, top_k=top_k,
                                   expert_bytes=expert_bytes, machine=machine, date=date, threads=args.threads, prompt=args.prompt,
                                   decode_tokens=args.decode_tokens, seed=args.seed, resident_bytes=resident_bytes,
                                   resident_read_s=resident_s, page_reporting=page_reporting, results=results), f, indent=1)

    date = f"{started:%Y-%m-%d %H:%M}–{datetime.datetime.now(datetime.timezone.utc):%H:%M} UTC"
    print(f"model {args.model} ({os.path.getsize(args.model) / 1e9:.1f} GB); {machine}; {date}; threads {args.threads}; "
          f"prompt {results[0].get('prompt_tokens', '?')} tokens, {args.decode_tokens} decoded (temperature 1, seed {args.seed}); "
          f"resident tensors {resident_bytes / GiB:.2f} GiB read cold in {resident_s:.2f} s; {page_reporting}")
    print()
    print("| round | budget | engine | prefill tok/s | decode tok/s | wall s | read GB | disk MB/s (probe; expert reads) | peak RSS GiB | RSS over --ram-budget MiB | slots/layer | hit rate (decode) | stall s (queued / waking) | prefill read / wait s | decode s/token: read / wait / rest | start-up s | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        def f(key, fmt):
            return format(r[key], fmt) if r.get(key) is not None else "—"
        other = next((o for o in results if o["budget_gib"] == r["budget_gib"] and o["round"] == r["round"] and o["engine"] == "llama.cpp"), None)
        ratio = ""
        if r["engine"] != "llama.cpp" and other and other.get("decode_tok_s") and r.get("decode_tok_s"):
            ratio = f" ({r['decode_tok_s'] / other['decode_tok_s']:.2f}×)"
        pratio = ""
        if r["engine"] != "llama.cpp" and other and other.get("prefill_tok_s") and r.get("prefill_tok_s"):
            pratio = f" ({r['prefill_tok_s'] / other['prefill_tok_s']:.2f}×)"
        hit = f"{r['hit_rate']:.3f} ({r['decode_hit_rate']:.3f})" if r.get("hit_rate") is not None else "—"
        over = f"{(r['peak_rss'] - r['ram_budget_bytes']) / MiB:.0f}" if r.get("ram_budget_bytes") else "—"
        slots = f"{r['slots_per_layer']}" + (f" ({r['slots_per_layer'] + 1} in {r['extra_slot_layers']})" if r.get("extra_slot_layers") else "") \
            if r.get("slots_per_layer") is not None else "—"
        prefill_io = f"{r['prefill_read_s']:.1f} / {r['prefill_wait_s']:.1f}" if r.get("prefill_read_s") is not None else "—"
        disk = f"{r['disk_probe_bytes_s'] / 1e6:.0f}" + (f"; {r['expert_read_bytes_s'] / 1e6:.0f}" if r.get("expert_read_bytes_s") else "")
        stall = f"{r['stall_s']:.1f} ({r['stall_queued_s']:.1f} / {r['stall_wake_s']:.1f})" if r.get("stall_s") is not None else "—"
        decode_io = "—"
        if r.get("decode_read_s") is not None and r.get("decode_tok_s"):
            n, per_token = r["decode_tokens"], 1 / r["decode_tok_s"]
            decode_io = f"{r['decode_read_s'] / n:.2f} / {r['decode_wait_s'] / n:.2f} / {per_token - r['decode_wait_s'] / n:.2f}"
        print(f"| {r['round']} | {r['budget_gib']:g} GiB | {r['engine']} | {f('prefill_tok_s', '.3g')}{pratio} | {f('decode_tok_s', '.3g')}{ratio} | "
              f"{r['wall_s']:.0f} | {r['bytes_read'] / 1e9:.1f} | {disk} | {r['peak_rss'] / GiB:.2f} | {over} | "
              f"{slots} | {hit} | {stall} | {prefill_io} | {decode_io} | {f('startup_s', '.2f')} | {r['load']:.1f} |")

    print()
    for engine in ("mixtral-lab", "mixtral-lab mmap"):
        for budget_gib in budgets:
            pairs = [(o, l) for o in results for l in results
                     if o["engine"] == engine and l["engine"] == "llama.cpp" and o["budget_gib"] == l["budget_gib"] == budget_gib
                     and o["round"] == l["round"]]
            for key, name in (("prefill_tok_s", "prefill"), ("decode_tok_s", "decode")):
                ratios = [o[key] / l[key] for o, l in pairs if o.get(key) and l.get(key)]
                if ratios:
                    print(f"{budget_gib:g} GiB {name}: {engine} ÷ llama.cpp {', '.join(f'{x:.2f}' for x in ratios)} "
                          f"(lowest {min(ratios):.2f}, median {statistics.median(ratios):.2f}, {len(ratios)} pairs)")
    startups = [r["startup_s"] for r in results if r.get("startup_s") is not None and r["engine"] == "mixtral-lab"]
    if startups:
        print(f"start-up: {min(startups):.2f}–{max(startups):.2f} s in {len(startups)} runs, against {resident_s:.2f} s to read the "
              f"resident tensors cold (start-up − that read: {min(startups) - resident_s:.2f}–{max(startups) - resident_s:.2f} s)")


if __name__ == "__main__":
    main()

"""Thread scaling on one machine (issue 21): glance beside PyTorch at 1, 2, 4, ... threads.

Run from the repository root (after `cargo build --release -p glance-cli`):

    python3 scripts/bench_scaling.py --glance target/release/glance \
        --genome ../shared/data/genomes/Kp1084.fna.gz \
        --motifs ../shared/data/motifs/jaspar2026_core_vertebrates_nr.meme \
        --workdir /tmp/glance-scaling --threads 1,2,4,8,16 --json scaling.json

For each thread count T, in one invocation:
- sgemm: numpy float32 and torch float32 2048^3 products at T threads (best of 3), the
  machine's own yardstick at that thread count;
- attention: `glance bench attention --pattern sliding:r=128` (4 heads x 64, n =
  --attn-len, f32 and, where the CPU has a bf16 kernel, bf16) and the hand-blocked
  PyTorch SDPA of scripts/bench_attention_pytorch.py on the same shape, median of --runs;
- encoder: the 4x256 random-init model of scripts/bench_encoder.py over the genome's
  first --slice-tokens tokens, cut into the same --chunk-tokens chunks and halos for
  `glance embed` (f32, and bf16 where the CPU has a bf16 kernel) and the PyTorch
  reference (scripts/native_reference.py); glance runs chunks in parallel, PyTorch
  runs one chunk at a time on T intra-op threads, as each is built to;
- scan: `glance scan` of --motifs over the whole genome, hits written;
- run: `glance run` (default model and motifs, every output) over the genome's first
  --run-bases bases (the whole genome takes minutes on one thread).

With --copies, each count N instead runs N single-thread copies at once (N processes,
`--threads 1` each; numpy's sgemm with one BLAS thread): the aggregate speed-up
N * t(1 copy) / mean t(N copies) is what this machine gives work that shares nothing
(all-core clocks, shared cache and memory bandwidth), the ceiling for threaded scaling.

Attention and scan figures are medians of --runs after a warm-up; the encoder and `glance
run` (seconds each) are timed once per thread count. Speed-ups are against the same column's 1-thread
figure. Results go to --json after every measurement (a run cut short keeps what it
measured) and a Markdown table is printed at the end. Thread counts above the CPU count
are skipped. PyTorch and numpy are the only Python needs (threadpoolctl when present,
for numpy's BLAS threads).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_attention_pytorch import blocked_sdpa, pairs_per_head, timeit  # noqa: E402
from bench_encoder import (  # noqa: E402
    K,
    SEED,
    config,
    flops_per_token,
    read_genome,
    torch_chunked,
    write_fasta,
)
from native_reference import NativeEncoder, save_native  # noqa: E402

HEADS, HEAD_DIM, RADIUS = 4, 64, 128


def cpu_description():
    """Model name, logical CPUs and the bf16-relevant flags of this machine."""
    name, flags = platform.processor(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and not name:
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"]
    return {"model": name, "cpus": os.cpu_count(),
            "flags": [f for f in wanted if f in flags]}


def sgemm(threads, n=2048, reps=3):
    """GFLOP/s of numpy and torch float32 n^3 products at `threads` threads."""
    flop = 2.0 * n**3
    rng = np.random.default_rng(SEED)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)

    def best(f):
        f()
        return flop / min(timed(f) for _ in range(reps)) / 1e9

    try:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads, user_api="blas"):
            numpy_rate = best(lambda: a @ b)
    except ImportError:
        numpy_rate = None  # numpy's BLAS threads cannot be set after import
    return {"numpy sgemm GFLOP/s": numpy_rate, "torch sgemm GFLOP/s": best(lambda: ta @ tb)}


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def glance_json(binary, threads, args):
    cmd = [binary, "--threads", str(threads), *args, "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def glance_attention(binary, threads, n, runs, precision):
    """(median seconds, what glance says ran: "f32", "bf16 (amx)" or an f32 fallback)."""
    report = glance_json(binary, threads, [
        "bench", "attention", "--pattern", f"sliding:r={RADIUS}", "--len", str(n),
        "--heads", str(HEADS), "--head-dim", str(HEAD_DIM), "--runs", str(runs),
        "--precision", precision])
    return report["median_s"], f'{report["precision"]}, {report["isa"]}'


def glance_wall(binary, threads, args, runs):
    """Median wall seconds of `glance --threads T -q ARGS` (output files included)."""
    cmd = [binary, "--threads", str(threads), "-q", *args]

    def once():
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr.strip()}")

    return timeit(once, runs) if runs > 1 else timed(once)


SGEMM_ONE_THREAD = """
import time
import numpy as np
a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
a @ a
times = []
for _ in range(5):
    t0 = time.perf_counter()
    a @ a
    times.append(time.perf_counter() - t0)
print(sorted(times)[2])
"""


def concurrent_seconds(commands, env=None):
    """Starts every command at once; returns the seconds each one printed or took."""
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for c in commands]
    seconds = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(p.args)} failed: {err.strip()}")
        seconds.append(time.perf_counter() - t0)
        try:
            report = json.loads(out)
            seconds[-1] = report["median_s"]
        except (json.JSONDecodeError, TypeError, KeyError):
            if out.strip():
                seconds[-1] = float(out.strip().splitlines()[-1])
    return seconds


def copies(a, results, counts, slice_fa, mdir, precisions):
    """N single-thread copies at once, for each N in `counts` (see the module doc)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    workloads = [("sgemm 2048^3 (copies)", "numpy sgemm",
                  lambda i: [sys.executable, "-c", SGEMM_ONE_THREAD])]
    for p in precisions:
        workloads.append(("sliding attention (copies)", f"glance {p}", lambda i, p=p: [
            a.glance, "--threads", "1", "bench", "attention", "--pattern",
            f"sliding:r={RADIUS}", "--len", str(a.attn_len), "--heads", str(HEADS),
            "--head-dim", str(HEAD_DIM), "--runs", str(a.runs), "--precision", p, "--json"]))
        workloads.append(("encoder 4x256 (copies)", f"glance {p}", lambda i, p=p: [
            a.glance, "--threads", "1", "-q", "embed", slice_fa, "--model", mdir,
            "--chunk-tokens", str(a.chunk_tokens), "--bin", "1000", "--precision", p,
            "-o", os.path.join(a.workdir, f"copy_{p}_{i}")]))
    for n in counts:
        for workload, implementation, command in workloads:
            seconds = concurrent_seconds([command(i) for i in range(n)], env)
            results.add(n, workload, implementation, statistics.mean(seconds),
                        copies=n, slowest=max(seconds))


def bf16_kernel_available(binary):
    """Whether `glance bench attention --precision bf16` runs a bf16 kernel here."""
    try:
        _, kernel = glance_attention(binary, 1, 4096, 1, "bf16")
    except subprocess.CalledProcessError:
        return False
    return kernel.startswith("bf16")


class Results:
    """Rows of {threads, workload, implementation, seconds, ...} saved after each one."""

    def __init__(self, path, header):
        self.path, self.header, self.rows = path, header, []

    def add(self, threads, workload, implementation, seconds, **extra):
        row = {"threads": threads, "workload": workload,
               "implementation": implementation, "seconds": seconds, **extra}
        self.rows.append(row)
        print(json.dumps(row), flush=True)
        if self.path:
            with open(self.path, "w") as f:
                json.dump({**self.header, "rows": self.rows}, f, indent=1)

    def table(self):
        """Markdown: seconds and speed-up over the same implementation's 1-thread row
        (with copies: N times the 1-copy time over the mean time of N copies)."""
        base = {(r["workload"], r["implementation"]): r["seconds"]
                for r in self.rows if r["threads"] == 1 and r["seconds"]}
        lines = ["| workload | implementation | threads | wall s | speed-up vs 1 thread | "
                 "GFLOP/s |", "| --- | --- | ---: | ---: | ---: | ---: |"]
        for r in self.rows:
            if r["seconds"] is None:
                continue
            b = base.get((r["workload"], r["implementation"]))
            scale = r.get("copies", 1)
            up = f"{scale * b / r['seconds']:.2f}x" if b else ""
            rate = r.get("gflops")
            lines.append(f"| {r['workload']} | {r['implementation']} | {r['threads']} | "
                         f"{r['seconds']:.3f} | {up} | {'' if rate is None else f'{rate:.1f}'} |")
        return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glance", required=True)
    ap.add_argument("--genome", required=True)
    ap.add_argument("--motifs", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--threads", default="1,2,4,8,16")
    ap.add_argument("--attn-len", type=int, default=65536)
    ap.add_argument("--slice-tokens", type=int, default=131072)
    ap.add_argument("--chunk-tokens", type=int, default=8192,
                    help="core tokens per chunk for glance and PyTorch alike (16 chunks "
                         "for the default slice: one per thread at 16 threads)")
    ap.add_argument("--run-bases", type=int, default=250_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip", default="", help="comma list of: sgemm, attention, encoder, "
                    "scan, run, torch, bf16")
    ap.add_argument("--json", default="")
    ap.add_argument("--copies", action="store_true",
                    help="run N single-thread copies at once instead of N threads")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    counts = [t for t in map(int, a.threads.split(",")) if t <= (os.cpu_count() or 1)]
    os.makedirs(a.workdir, exist_ok=True)

    cpu = cpu_description()
    bf16 = "bf16" not in skip and bf16_kernel_available(a.glance)
    header = {"cpu": cpu, "torch": torch.__version__, "numpy": np.__version__,
              "glance_bf16_kernel": bf16, "attn_len": a.attn_len,
              "slice_tokens": a.slice_tokens, "chunk_tokens": a.chunk_tokens}
    print(json.dumps(header), flush=True)
    results = Results(a.json, header)

    torch.manual_seed(SEED)
    cfg = config()
    model = NativeEncoder(cfg).float().eval()
    mdir = os.path.join(a.workdir, "model")
    save_native(model, mdir)
    halo = model.receptive_radius()
    genome = read_genome(a.genome)
    sl = genome[: a.slice_tokens + K - 1]
    import itertools

    vocab = {"".join(p): 5 + i for i, p in enumerate(itertools.product("ATCG", repeat=K))}
    ids = [vocab.get(sl[i : i + K], 1) for i in range(len(sl) - K + 1)]
    slice_fa = os.path.join(a.workdir, "slice.fa")
    write_fasta(slice_fa, [("slice", sl)])
    run_fa = os.path.join(a.workdir, "run_slice.fa")
    write_fasta(run_fa, [("run_slice", genome[: a.run_bases])])
    encoder_flop = len(ids) * flops_per_token(cfg)
    attn_flop = 4.0 * pairs_per_head(a.attn_len, RADIUS) * HEAD_DIM * HEADS
    sdpa = blocked_sdpa(a.attn_len, RADIUS, HEADS, HEAD_DIM)
    precisions = ["f32", "bf16"] if bf16 else ["f32"]
    if a.copies:
        copies(a, results, counts, slice_fa, mdir, precisions)
        counts = []

    for t in counts:
        torch.set_num_threads(t)
        if "sgemm" not in skip:
            for name, rate in sgemm(t).items():
                results.add(t, "sgemm 2048^3", name.split(" GFLOP")[0], None, gflops=rate)
        if "attention" not in skip:
            for p in precisions:
                s, kernel = glance_attention(a.glance, t, a.attn_len, a.runs, p)
                results.add(t, "sliding attention", f"glance {p}", s,
                            gflops=attn_flop / s / 1e9, kernel=kernel)
            if "torch" not in skip:
                s = timeit(sdpa, a.runs)
                results.add(t, "sliding attention", "pytorch blocked SDPA f32", s,
                            gflops=attn_flop / s / 1e9)
        if "encoder" not in skip:
            common = ["--model", mdir, "--chunk-tokens", str(a.chunk_tokens), "--bin", "1000"]
            for p in precisions:
                out = os.path.join(a.workdir, f"embed_{p}")
                s = glance_wall(a.glance, t, ["embed", slice_fa, *common, "--precision", p,
                                              "-o", out], 1)
                results.add(t, "encoder 4x256", f"glance {p}", s, gflops=encoder_flop / s / 1e9)
            if "torch" not in skip:
                s = timed(lambda: torch_chunked(model, ids, a.chunk_tokens, halo))
                results.add(t, "encoder 4x256", "pytorch reference f32", s,
                            gflops=encoder_flop / s / 1e9)
        if "scan" not in skip:
            out = os.path.join(a.workdir, "hits.tsv")
            s = glance_wall(a.glance, t, ["scan", a.genome, "--motifs", a.motifs, "-o", out],
                            a.runs)
            results.add(t, "scan (all motifs, whole genome)", "glance", s)
        if "run" not in skip:
            out = os.path.join(a.workdir, f"run_{t}")
            s = glance_wall(a.glance, t, ["run", run_fa, "--outdir", out], 1)
            results.add(t, f"run ({a.run_bases} bases, defaults)", "glance", s)

    print(f"\nCPU: {cpu['model']}, {cpu['cpus']} logical CPUs, flags {cpu['flags']}; "
          f"torch {torch.__version__}, numpy {np.__version__}")
    print(results.table())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Side-by-side timings: the PyTorch references of the approximate patterns vs glance.

Shape: batch 1, --heads heads of --head-dim, sequence --len (default 4 x 64, n = 65,536),
torch threads = --threads, glance run as `glance --threads T bench attention --pattern P
--len N --runs R --json` (a subprocess of this script, same inputs' shape, its own
seeded random inputs and seeded random matrices; reported time is its median).

References (only the attention itself is timed, no q/k/v/out projections):
- linformer 0.2.3 `LinformerSelfAttention(dim=heads*d, seq_len=n, k=K, heads)` with
  to_q/to_k/to_v/to_out replaced by nn.Identity, called on x [1, n, heads*d]
  (q = k = v = x: the same work as separate tensors), glance `linformer:k=K`;
- performer-pytorch 1.1.4 `FastAttention(dim_heads=d, nb_features=M)` on q, k, v
  [1, heads, n, d], glance `performer:m=M`;
- reformer-pytorch 1.4.4 `LSHAttention(bucket_size=B, n_hashes=H)` (eval) on qk, v
  [heads, n, d], glance `lsh:bucket=B,hashes=H`. It materialises [heads*H*n/B, B, 2B]
  scores and more (about 8.8 GiB at n = 65,536), so it runs --lsh-runs times (default
  1, no warm-up) while the others take a warm-up and --runs runs.

For each: median wall seconds, CPU seconds of the process over all threads (robust on a
shared machine: `time.process_time` for torch, glance's own `cpu_s`), peak RSS, and the
wall-time ratio reference / glance. `uptime` is printed before and after.

Usage: /work/venv/bin/python scripts/bench_lowrank_pytorch.py \
          [--glance target/release/glance] [--len 65536] [--threads 2] [--runs 3] \
          [--skip linformer,performer,lsh]
"""

import argparse
import json
import resource
import statistics
import subprocess
import time

import torch
from torch import nn


def measure(fn, runs: int, warmup: bool = True):
    if warmup:
        fn()
    walls, cpus = [], []
    for _ in range(runs):
        c, t = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def linformer(n, heads, d, k):
    from linformer import LinformerSelfAttention

    layer = LinformerSelfAttention(dim=heads * d, seq_len=n, k=k, heads=heads).eval()
    layer.to_q = layer.to_k = layer.to_v = layer.to_out = nn.Identity()
    x = torch.randn(1, n, heads * d)

    def run():
        with torch.no_grad():
            layer(x)

    return run


def performer(n, heads, d, m):
    from performer_pytorch.performer_pytorch import FastAttention

    attn = FastAttention(dim_heads=d, nb_features=m).eval()
    q, k, v = (torch.randn(1, heads, n, d) for _ in range(3))

    def run():
        with torch.no_grad():
            attn(q, k, v)

    return run


def lsh(n, heads, d, bucket, hashes):
    from reformer_pytorch.reformer_pytorch import LSHAttention

    attn = LSHAttention(bucket_size=bucket, n_hashes=hashes).eval()
    qk, v = torch.randn(heads, n, d), torch.randn(heads, n, d)

    def run():
        with torch.no_grad():
            attn(qk, v)

    return run


def glance(binary, spec, n, heads, d, threads, runs):
    out = subprocess.run(
        [binary, "--threads", str(threads), "bench", "attention", "--pattern", spec,
         "--len", str(n), "--heads", str(heads), "--head-dim", str(d), "--runs", str(runs), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glance", default="target/release/glance")
    ap.add_argument("--len", type=int, default=65536)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lsh-runs", type=int, default=1)
    ap.add_argument("--skip", default="")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    skip = set(filter(None, a.skip.split(",")))
    n, h, d = a.len, a.heads, a.head_dim
    cases = [
        ("linformer", "linformer:k=256", lambda: linformer(n, h, d, 256), True),
        ("performer", "performer:m=256", lambda: performer(n, h, d, 256), True),
        ("lsh", "lsh:bucket=64,hashes=4", lambda: lsh(n, h, d, 64, 4), False),
    ]
    print(f"# uptime before: {uptime()}")
    print(f"# torch {torch.__version__}, threads {a.threads}, batch 1, heads {h}, d_head {d}, n {n}")
    print("| method | reference median s | reference cpu s | glance median s | glance cpu s | wall ratio | cpu ratio | glance peak RSS MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, spec, make, warm in cases:
        if name in skip:
            continue
        g = glance(a.glance, spec, n, h, d, a.threads, a.runs)
        runs = a.runs if warm else a.lsh_runs
        wall, cpu = measure(make(), runs, warmup=warm)
        gw, gc = g["median_s"], g["cpu_s"]
        print(f"| {spec} | {wall:.3f} | {cpu:.3f} | {gw:.3f} | {gc:.3f} | {wall / gw:.2f}x | {cpu / gc:.2f}x | {g['peak_rss_bytes'] / 2**20:.0f} |", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"# reference process peak RSS: {peak:.2f} GiB")
    print(f"# uptime after: {uptime()}")


if __name__ == "__main__":
    main()

"""Attention precision benchmark (issue 21): `glance bench attention` in f32 and bf16
beside numpy's float32 sgemm (OpenBLAS, 2048^3) in the same invocation.

Run from the repository root (after `cargo build --release -p glance-cli`):

    /work/venv/bin/python scripts/bench_attention_bf16.py --glance target/release/glance

Per round (--rounds, default 2): numpy sgemm (best of 5 after a warm-up), then
`glance --threads T bench attention --pattern P --len N --heads 4 --head-dim 64 --runs 5
--precision f32|bf16 --json` (the order alternates between rounds, so load drifts hit
both alike). Prints each rate, the load average, and the ratios of the useful GFLOP/s
(glance's median-time figure) to the round's sgemm rate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glance", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pattern", default="sliding:r=128")
    ap.add_argument("--len", type=int, default=65536)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    # OpenBLAS reads its thread count when numpy is imported.
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
    import numpy as np

    n = 2048
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, n), dtype=np.float32)
    y = rng.standard_normal((n, n), dtype=np.float32)

    def sgemm() -> float:
        x @ y
        best = min(_timed(lambda: x @ y) for _ in range(5))
        return 2.0 * n**3 / best / 1e9

    def glance(precision: str) -> dict:
        cmd = [a.glance, "--threads", str(a.threads), "bench", "attention",
               "--pattern", a.pattern, "--len", str(a.len), "--heads", "4",
               "--head-dim", "64", "--runs", "5", "--precision", precision, "--json"]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                         text=True).stdout)

    print(f"threads {a.threads}; numpy {np.__version__}; {a.pattern}, n = {a.len}, "
          "4 heads x 64")
    for r in range(a.rounds):
        load = loadavg()
        rate = sgemm()
        order = ["f32", "bf16"] if r % 2 == 0 else ["bf16", "f32"]
        got = {p: glance(p) for p in order}
        print(f"round {r + 1}: load average {load}; numpy sgemm {rate:.1f} GFLOP/s")
        for p in ["f32", "bf16"]:
            g = got[p]
            print(f"  {p:4} ({g['precision']}): {g['median_s']:.4f} s, "
                  f"{g['useful_gflops']:.1f} useful GFLOP/s = "
                  f"{g['useful_gflops'] / rate:.2f}x sgemm")
        print(f"  bf16 / f32: {got['bf16']['useful_gflops'] / got['f32']['useful_gflops']:.2f}x")


def _timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()

"""Encoder precision benchmark: glance f32 vs glance bf16 vs PyTorch fp32 vs PyTorch
autocast bf16 on the same model, plus the same invocation's sgemm rates (issue 21).

Run from the repository root (after `cargo build --release -p glance-cli`):

    /work/venv/bin/python scripts/bench_encoder_bf16.py --glance target/release/glance \
        --genome ../shared/data/genomes/Kp1084.fna.gz --workdir /tmp/glance-bf16

1. The 4x256 random-init native model of scripts/bench_encoder.py (seed fixed: 4 layers,
   d_model 256, 4 heads, sliding:r=128, FFN 1024 gelu, pre-LN, no positions, k=6).
2. sgemm rates at --threads: numpy (its BLAS, OpenBLAS in the venv) and torch, float32
   2048^3, best of 5 after a warm-up; also torch's bf16 matmul (oneDNN) for scale.
3. On the first --slice-tokens tokens of the genome (same chunks and halos for all):
   `glance embed --precision f32` and `--precision bf16` (wall and CPU seconds, median of
   --runs), PyTorch fp32 (scripts/native_reference.py, banded exact sliding attention)
   and PyTorch under `torch.autocast("cpu", dtype=torch.bfloat16)` on the same module.
   The order alternates between runs so that load drifts hit every side alike.
4. Ratios: glance bf16 / glance f32, glance bf16 / PyTorch autocast bf16, and glance f32
   useful GFLOP/s / each sgemm rate: the rates of step 2, and run by run the rates
   measured just before that run (best of 3), whose median and range are printed.

Useful FLOPs per token: as in bench_encoder.py (8 d^2 + 4 d f + 4 (2r+1) d per layer;
halo recomputation not counted). Smoke test: `--slice-tokens 16384 --runs 1`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

# OpenBLAS reads its thread count when numpy is imported: take --threads first.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--threads", type=int, default=2)
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(_pre.parse_known_args()[0].threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_encoder import (  # noqa: E402
    K,
    SEED,
    config,
    flops_per_token,
    loadavg,
    read_genome,
    run_glance,
    tokenize,
    torch_chunked,
    write_fasta,
)
from native_reference import NativeEncoder, save_native  # noqa: E402


def sgemm_rates(n=2048, reps=5, bf16=True):
    """GFLOP/s of numpy float32, torch float32 and (with `bf16`) torch bf16 n^3
    products. The bf16 product takes minutes on a CPU without bf16 instructions."""
    flop = 2.0 * n**3
    rng = np.random.default_rng(SEED)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)

    def best(f):
        f()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        return flop / min(times) / 1e9

    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    rates = {
        "numpy sgemm": best(lambda: a @ b),
        "torch sgemm": best(lambda: ta @ tb),
    }
    if bf16:
        ha, hb = ta.to(torch.bfloat16), tb.to(torch.bfloat16)
        rates["torch bf16 matmul"] = best(lambda: ha @ hb)
    return rates


def time_torch(model, ids, chunk, halo, autocast):
    t0, c0 = time.perf_counter(), time.process_time()
    if autocast:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch_chunked(model, ids, chunk, halo)
    else:
        torch_chunked(model, ids, chunk, halo)
    return time.perf_counter() - t0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glance", required=True)
    ap.add_argument("--genome", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--slice-tokens", type=int, default=262144)
    ap.add_argument("--chunk-tokens", type=int, default=16384,
                    help="core tokens per chunk for glance and PyTorch alike; 16384 is glance's "
                         "default for this model (32 halos of 512 tokens)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-torch", action="store_true",
                    help="glance only (and no torch bf16 matmul, slow without bf16 instructions)")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(a.threads)
    cfg = config()
    model = NativeEncoder(cfg).float().eval()
    mdir = os.path.join(a.workdir, "model")
    save_native(model, mdir)
    fpt = flops_per_token(cfg)
    halo = model.receptive_radius()
    print(f"model 4x256, 4 heads, sliding:r=128, halo {halo}; {fpt / 1e6:.2f} MFLOP/token; "
          f"threads {a.threads}; torch {torch.__version__}, numpy {np.__version__}; "
          f"load average {loadavg()}")

    rates = sgemm_rates(bf16=not a.skip_torch)
    for name, r in rates.items():
        print(f"{name} 2048^3: {r:.1f} GFLOP/s")

    genome = read_genome(a.genome)
    sl = genome[: a.slice_tokens + K - 1]
    ids = tokenize(sl)
    n = len(ids)
    slice_fa = os.path.join(a.workdir, "slice.fa")
    write_fasta(slice_fa, [("slice", sl)])
    common = ["--model", mdir, "--chunk-tokens", str(a.chunk_tokens), "--bin", "1000"]

    sides = ["glance f32", "glance bf16"]
    if not a.skip_torch:
        sides += ["pytorch fp32", "pytorch autocast bf16"]
    times = {s: [] for s in sides}
    # glance f32's rate over the sgemm rates measured just before it, run by run: this
    # VM's speed drifts by 20-30% within minutes, which a single sgemm figure at the
    # start does not follow
    paired = {"numpy sgemm": [], "torch sgemm": []}
    for run in range(a.runs):
        order = sides if run % 2 == 0 else sides[::-1]
        for side in order:
            if side == "glance f32":
                round_rates = sgemm_rates(reps=3, bf16=False)
            if side.startswith("glance"):
                p = side.split()[1]
                out = os.path.join(a.workdir, f"slice_{p}")
                wall, cpu, _ = run_glance(
                    a.glance, ["embed", slice_fa, *common, "--precision", p, "-o", out],
                    a.threads)
            else:
                wall, cpu = time_torch(model, ids, a.chunk_tokens, halo,
                                       autocast=side.endswith("bf16"))
            times[side].append((wall, cpu))
            if side == "glance f32":
                for name, ratios in paired.items():
                    ratios.append(n * fpt / wall / 1e9 / round_rates[name])
    print(f"slice {n} tokens, chunks {a.chunk_tokens}, median of {a.runs}; "
          f"load average {loadavg()}")
    print("| implementation | wall s | CPU s | tokens/s | useful GFLOP/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    med = {}
    for side in sides:
        wall = statistics.median(t[0] for t in times[side])
        cpu = statistics.median(t[1] for t in times[side])
        med[side] = (wall, cpu)
        print(f"| {side} | {wall:.2f} | {cpu:.2f} | {n / wall:,.0f} | "
              f"{n * fpt / wall / 1e9:.1f} |")

    def ratio(x, y):
        return f"{med[y][0] / med[x][0]:.2f}x wall, {med[y][1] / med[x][1]:.2f}x CPU"

    print(f"glance bf16 vs glance f32: {ratio('glance bf16', 'glance f32')}")
    gf = n * fpt / med["glance f32"][0] / 1e9
    for name in ("numpy sgemm", "torch sgemm"):
        print(f"glance f32 useful GFLOP/s / {name}: {gf / rates[name]:.2f}")
    for name, ratios in paired.items():
        print(f"glance f32 useful GFLOP/s / {name} just before it, per run: median "
              f"{statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}, "
              f"{len(ratios)} runs)")
    if not a.skip_torch:
        print(f"glance bf16 vs pytorch autocast bf16: "
              f"{ratio('glance bf16', 'pytorch autocast bf16')}")
        print(f"glance f32 vs pytorch fp32: {ratio('glance f32', 'pytorch fp32')}")


if __name__ == "__main__":
    main()

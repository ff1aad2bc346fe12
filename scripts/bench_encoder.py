"""Encoder throughput: glance vs the PyTorch reference, and glance's peak RSS vs input size.

Run from the repository root (after `cargo build --release -p glance-cli`):

    /work/venv/bin/python scripts/bench_encoder.py --glance target/release/glance \
        --genome ../shared/data/genomes/Kp1084.fna.gz --workdir /tmp/glance-bench

1. Builds a random-init native model (seed fixed): 4 layers, d_model 256, 4 heads,
   sliding:r=128 in every layer, FFN 1024 gelu, pre-LN, no positions, k=6 stride 1.
2. Times the PyTorch reference (scripts/native_reference.py, float32, banded exact
   sliding attention, torch threads = --threads) on the first 262,144 tokens, chunked
   exactly as glance streams (same chunk size and halo), and glance on the same slice.
   With --longformer, also Hugging Face transformers' LongformerModel of the same shape
   (4 layers, hidden 256, 4 heads, intermediate 1024 gelu, attention_window 2r = 256,
   random init) over the same chunks: the model the issue names as the PyTorch peer.
3. Peak RSS of `glance embed` on 1 Mb and 20 Mb (the genome's first 5 Mb repeated as
   four records) with the same settings, with a small model (2 layers, d_model 64) to
   keep it quick.
4. Times `glance embed` over the whole genome (--bin 1000, mean pooling).

Wall and CPU (user + sys) seconds are both reported: on a shared machine the CPU time
says what the code costs, the wall time what a user waits.

Useful FLOPs per token and layer: 8 d^2 (q, k, v, o) + 4 d f (FFN) + 4 (2r+1) d
(scores and weighted values); halo recomputation is not counted as useful.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from native_reference import NativeEncoder, save_native  # noqa: E402

SEED = 1084
K = 6
CEILING_GFLOPS = 340.0  # fp32, 2 cores, AVX-512 FMA (machine ceiling quoted in the issue)


def config(d=256, heads=4, layers=4, r=128, ffn=1024):
    return {
        "format": "glance-encoder",
        "version": 1,
        "vocab_size": 5 + 4**K,
        "d_model": d,
        "heads": heads,
        "ffn": {"hidden": ffn, "activation": "gelu"},
        "norm": "pre",
        "norm_eps": 1e-5,
        "final_norm": True,
        "positions": {"kind": "none"},
        "layers": [{"attention": f"sliding:r={r}"} for _ in range(layers)],
        "tokenizer": {"k": K, "stride": 1, "canonical": False},
        "pooling_query": False,
    }


def flops_per_token(cfg):
    d, f = cfg["d_model"], cfg["ffn"]["hidden"]
    total = 0
    for layer in cfg["layers"]:
        r = int(re.search(r"r=(\d+)", layer["attention"]).group(1))
        total += 8 * d * d + 4 * d * f + 4 * (2 * r + 1) * d
    return total


def read_genome(path):
    with gzip.open(path, "rt") as f:
        return "".join(line.strip() for line in f if not line.startswith(">")).upper()


def write_fasta(path, records):
    with open(path, "w") as f:
        for name, seq in records:
            f.write(f">{name}\n")
            for i in range(0, len(seq), 80):
                f.write(seq[i : i + 80] + "\n")


def tokenize(seq):
    import itertools

    vocab = {"".join(p): 5 + i for i, p in enumerate(itertools.product("ATCG", repeat=K))}
    return [vocab.get(seq[i : i + K], 1) for i in range(len(seq) - K + 1)]


def run_glance(glance, args, threads):
    """Runs glance under /usr/bin/time; returns (wall s, CPU s = user + sys, peak RSS MiB)."""
    cmd = ["/usr/bin/time", "-v", glance, "--threads", str(threads), "-q", *args]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"glance failed: {p.stderr}")

    def field(name):
        return float(re.search(re.escape(name) + r": ([\d.]+)", p.stderr).group(1))

    cpu = field("User time (seconds)") + field("System time (seconds)")
    return wall, cpu, field("Maximum resident set size (kbytes)") / 1024.0


def torch_chunked(model, ids, chunk, halo):
    n = len(ids)
    t = torch.tensor(ids)
    with torch.no_grad():
        for c0 in range(0, n, chunk):
            lo, hi = max(0, c0 - halo), min(n, c0 + chunk + halo)
            model(t[lo:hi], lo, dense=False)


def torch_longformer_chunked(ids, chunk, halo, r):
    """Times LongformerModel (same shape as `config()`) over the same chunks and halos."""
    from transformers import LongformerConfig, LongformerModel

    torch.manual_seed(SEED)
    cfg = LongformerConfig(
        vocab_size=4 ** K + 5,
        hidden_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=1024,
        hidden_act="gelu",
        attention_window=[2 * r] * 4,
        max_position_embeddings=chunk + 2 * halo + 4 * r + 8,
        pad_token_id=0,
    )
    model = LongformerModel(cfg).float().eval()
    n = len(ids)
    t = torch.tensor(ids)
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for s0 in range(0, n, chunk):
            lo, hi = max(0, s0 - halo), min(n, s0 + chunk + halo)
            model(input_ids=t[lo:hi].unsqueeze(0))
    return time.perf_counter() - t0, time.process_time() - c0


def loadavg():
    return os.getloadavg()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glance", required=True)
    ap.add_argument("--genome", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--slice-tokens", type=int, default=262144)
    ap.add_argument("--chunk-tokens", type=int, default=8192)
    ap.add_argument("--skip-slice", action="store_true")
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--longformer", action="store_true",
                    help="also time Hugging Face LongformerModel of the same shape")
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
    genome = read_genome(a.genome)
    print(f"genome {len(genome)} bp; model 4x256, 4 heads, sliding:r=128, halo {halo}; "
          f"{fpt / 1e6:.2f} MFLOP/token; load average before {loadavg()}")

    # Slice: PyTorch vs glance.
    sl = genome[: a.slice_tokens + K - 1]
    ids = tokenize(sl)
    assert len(ids) == a.slice_tokens
    slice_fa = os.path.join(a.workdir, "slice.fa")
    write_fasta(slice_fa, [("slice", sl)])
    common = ["--model", mdir, "--chunk-tokens", str(a.chunk_tokens), "--bin", "1000"]
    n = a.slice_tokens
    if not a.skip_slice:
        t0, c0 = time.perf_counter(), time.process_time()
        torch_chunked(model, ids, a.chunk_tokens, halo)
        t_torch, c_torch = time.perf_counter() - t0, time.process_time() - c0
        t_glance, c_glance, _ = run_glance(
            a.glance, ["embed", slice_fa, *common, "-o", os.path.join(a.workdir, "slice")],
            a.threads)
        print(f"slice {n} tokens: pytorch {t_torch:.1f} s wall / {c_torch:.1f} s CPU "
              f"({n / t_torch:,.0f} tok/s); glance {t_glance:.1f} s wall / {c_glance:.1f} s CPU "
              f"({n / t_glance:,.0f} tok/s, {n * fpt / t_glance / 1e9:.1f} GFLOP/s = "
              f"{100 * n * fpt / t_glance / 1e9 / CEILING_GFLOPS:.0f}% of {CEILING_GFLOPS:.0f}); "
              f"speed-up {t_torch / t_glance:.1f}x wall, {c_torch / c_glance:.1f}x CPU; "
              f"load average {loadavg()}")
        if a.longformer:
            t_lf, c_lf = torch_longformer_chunked(ids, a.chunk_tokens, halo, 128)
            print(f"slice {n} tokens: Hugging Face Longformer {t_lf:.1f} s wall / {c_lf:.1f} s "
                  f"CPU ({n / t_lf:,.0f} tok/s); glance speed-up {t_lf / t_glance:.1f}x wall, "
                  f"{c_lf / c_glance:.1f}x CPU; load average {loadavg()}")

    if not a.skip_rss:
        small = config(d=64, heads=2, layers=2, r=32, ffn=128)
        torch.manual_seed(SEED)
        sdir = os.path.join(a.workdir, "rss-model")
        save_native(NativeEncoder(small).eval(), sdir)
        one = os.path.join(a.workdir, "1mb.fa")
        twenty = os.path.join(a.workdir, "20mb.fa")
        write_fasta(one, [("g", genome[:1_000_000])])
        reps = [(f"g{i}", genome[:5_000_000]) for i in range(4)]
        write_fasta(twenty, reps)
        args = ["--model", sdir, "--chunk-tokens", "4096", "--bin", "1000"]
        _, _, r1 = run_glance(a.glance, ["embed", one, *args, "-o", one + ".out"], a.threads)
        _, _, r20 = run_glance(a.glance, ["embed", twenty, *args, "-o", twenty + ".out"],
                               a.threads)
        print(f"peak RSS (2 layers d=64, chunk 4096, bin 1000): 1 Mb {r1:.1f} MiB, 20 Mb "
              f"{r20:.1f} MiB, ratio {r20 / r1:.3f}; load average {loadavg()}")

    if not a.skip_full:
        t_full, c_full, rss_full = run_glance(
            a.glance, ["embed", a.genome, *common, "-o", os.path.join(a.workdir, "genome")],
            a.threads)
        nt = len(genome) - K + 1
        print(f"genome {nt} tokens: glance {t_full:.1f} s wall / {c_full:.1f} s CPU "
              f"({nt / t_full:,.0f} tok/s wall = {100 * nt * fpt / t_full / 1e9 / CEILING_GFLOPS:.0f}% "
              f"of {CEILING_GFLOPS:.0f} GFLOP/s; {nt / c_full:,.0f} tok/CPU-s = "
              f"{100 * nt * fpt / c_full / 1e9 / (CEILING_GFLOPS / 2):.0f}% of one core's "
              f"{CEILING_GFLOPS / 2:.0f}); peak RSS {rss_full:.0f} MiB; load average {loadavg()}")


if __name__ == "__main__":
    main()

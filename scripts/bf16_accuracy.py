"""bf16 accuracy of region embeddings (issue 21): `glance embed --precision bf16` against
`--precision f32` with the default model and the 4x256 benchmark model, 1 kb mean-pooled
bins over a genome. Reports the per-region cosine similarity distribution (min,
0.1/1/50 percentiles, fraction >= 0.999), the max relative error per region
(||bf16 - f32|| / ||f32||, L2 over d_model) and the max elementwise absolute error.

Run from the repository root (after `cargo build --release -p glance-cli`):

    /work/venv/bin/python scripts/bf16_accuracy.py --glance target/release/glance \
        --genome ../shared/data/genomes/Kp1084.fna.gz --workdir /tmp/glance-bf16-acc

Smoke test: `--bases 200000` (the first 200 kb only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_encoder import SEED, config, read_genome, write_fasta  # noqa: E402
from native_reference import NativeEncoder, save_native  # noqa: E402


def embed(glance, threads, fasta, model, precision, out):
    cmd = [glance, "--threads", str(threads), "-q", "embed", fasta, "--bin", "1000",
           "--precision", precision, "-o", out]
    if model is not None:
        cmd[5:5] = ["--model", model]
    subprocess.run(cmd, check=True)
    return np.load(out + ".npy").astype(np.float64)


def report(name, f32, bf16):
    dot = (f32 * bf16).sum(axis=1)
    norms = np.linalg.norm(f32, axis=1) * np.linalg.norm(bf16, axis=1)
    cos = dot / norms
    rel = np.linalg.norm(bf16 - f32, axis=1) / np.linalg.norm(f32, axis=1)
    p = np.percentile(cos, [0.1, 1, 50])
    print(f"| {name} | {len(cos):,} | {cos.min():.7f} | {p[0]:.7f} | {p[1]:.7f} | "
          f"{p[2]:.7f} | {100 * (cos >= 0.999).mean():.2f}% | {rel.max():.2e} | "
          f"{np.abs(bf16 - f32).max():.2e} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glance", required=True)
    ap.add_argument("--genome", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bases", type=int, default=0, help="only the first BASES (0: all)")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    fasta = a.genome
    if a.bases:
        fasta = os.path.join(a.workdir, "slice.fa")
        write_fasta(fasta, [("slice", read_genome(a.genome)[: a.bases])])
    torch.manual_seed(SEED)
    big = os.path.join(a.workdir, "model-4x256")
    save_native(NativeEncoder(config()).float().eval(), big)
    print("| model | regions | min cosine | 0.1% | 1% | median | >= 0.999 | "
          "max rel. error | max abs. error |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, model in (("default", None), ("4x256", big)):
        out = os.path.join(a.workdir, name)
        f32 = embed(a.glance, a.threads, fasta, model, "f32", out + "_f32")
        bf16 = embed(a.glance, a.threads, fasta, model, "bf16", out + "_bf16")
        report(name, f32, bf16)


if __name__ == "__main__":
    main()

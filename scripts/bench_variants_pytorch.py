#!/usr/bin/env python3
"""The PyTorch side of the `glance variants` speed comparison (benchmark, not a test).

    python scripts/bench_variants_pytorch.py GENOME.fa VARIANTS.vcf [--n 200] [--threads 2]
        [--glance PREFIX.variants.tsv]

What people do today without glance: for every SNV, cut a fixed 2 kb window around it,
encode the REF window, the ALT window and the REF window with the SNV's tokens masked
(for the likelihood) with the model in PyTorch, and pool. Here the model is glance's
default model (models/default) through scripts/native_reference.py's layers, the three
windows as one batch of [3, 2000] tokens through PyTorch's scaled_dot_product_attention
with each layer's pattern as a mask (scripts/train_default.py's `batched_forward`),
float32, `torch.set_num_threads(--threads)`, no autograd.

Per SNV at 0-based position p: the window's first token is p - 1000 rounded down to a
multiple of 64 (the block pattern is anchored to absolute positions, so the offset must
be one of its multiples); the pooled embedding is the mean of the final states of the
tokens whose first base lies in [p - 500, p + 500), as `glance variants --window 1000`
pools; LLR as docs/variants.md defines it. The receptive radius of the default model
(239 tokens) fits inside the 2 kb window on both sides, so the values are glance's
exactly (up to float32 rounding): with `--glance`, the script compares them with the
emb_l2, emb_cos and llr columns of glance's variants.tsv for the same VCF.

Prints SNVs per second and the largest differences from glance.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import default_model_data as dm  # noqa: E402
from native_reference import load_native  # noqa: E402
from train_default import MlmHead, batched_forward, pattern_masks  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINDOW_TOKENS = 2000
POOL_BP = 1000


def read_one_record(path: str) -> np.ndarray:
    records = dm.read_fasta(path)
    return records[0][1]


def read_snvs(path: str, n: int) -> list[tuple[int, str, str]]:
    out = []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            chrom, pos, _id, ref, alt = line.split("\t")[:5]
            if len(ref) == 1 and len(alt) == 1:
                out.append((int(pos) - 1, ref, alt))
            if len(out) == n:
                break
    return out


def codes(text: str) -> np.ndarray:
    return np.array([{"A": 0, "T": 1, "C": 2, "G": 3}.get(c, 4) for c in text.upper()], dtype=np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("genome")
    ap.add_argument("vcf")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--glance", help="glance's PREFIX.variants.tsv for the same VCF")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from safetensors.torch import load_file

    model_dir = os.path.join(ROOT, "models", "default")
    model = load_native(model_dir).float().eval()
    head = MlmHead(model.config["d_model"])
    head.load_state_dict(load_file(os.path.join(model_dir, "mlm_head.safetensors")))
    head = head.float().eval()
    masks = pattern_masks(model, WINDOW_TOKENS)
    genome = read_one_record(args.genome)
    snvs = read_snvs(args.vcf, args.n)
    results = []
    t0 = time.perf_counter()
    with torch.no_grad():
        for p, ref, alt in snvs:
            first = max(0, (p - 1000) // 64 * 64)
            bases = genome[first : first + WINDOW_TOKENS + dm.K - 1].copy()
            if len(bases) < WINDOW_TOKENS + dm.K - 1:
                continue
            ref_ids = dm.tokenize(bases)
            alt_bases = bases.copy()
            alt_bases[p - first] = codes(alt)[0]
            alt_ids = dm.tokenize(alt_bases)
            changed = [t for t in range(WINDOW_TOKENS) if t <= p - first < t + dm.K]
            masked = ref_ids.copy()
            masked[changed] = dm.MASK
            batch = torch.from_numpy(np.stack([ref_ids, alt_ids, masked]).astype(np.int64))
            hidden = batched_forward(model, batch, masks)
            lo = max(0, p - POOL_BP // 2) - first
            pooled = hidden[:2, lo : lo + POOL_BP].double().mean(dim=1)
            a, b = pooled[0], pooled[1]
            l2 = float((a - b).norm())
            cos = 1.0 - float(a @ b / (a.norm() * b.norm()))
            lp = torch.log_softmax(head(hidden[2, changed]).double(), dim=-1)
            llr = sum(
                float(lp[i, alt_ids[t] - dm.SPECIALS] - lp[i, ref_ids[t] - dm.SPECIALS])
                for i, t in enumerate(changed)
            )
            results.append((p + 1, l2, cos, llr))
    wall = time.perf_counter() - t0
    print(f"pytorch {torch.__version__}, {args.threads} threads: {len(results)} SNVs in {wall:.2f} s, "
          f"{len(results) / wall:.2f} SNVs/s ({3 * WINDOW_TOKENS} tokens each)")
    if args.glance:
        rows = {}
        with open(args.glance) as f:
            for r in csv.DictReader(f, delimiter="\t"):
                rows[int(r["pos"])] = r
        worst = [0.0, 0.0, 0.0]
        for pos, l2, cos, llr in results:
            r = rows[pos]
            worst[0] = max(worst[0], abs(l2 - float(r["emb_l2"])) / max(l2, 1e-12))
            worst[1] = max(worst[1], abs(cos - float(r["emb_cos"])))
            worst[2] = max(worst[2], abs(llr - float(r["llr"])))
        print(f"vs glance: max relative L2 difference {worst[0]:.2e}, max |cos diff| {worst[1]:.2e}, "
              f"max |LLR diff| {worst[2]:.2e}")


if __name__ == "__main__":
    main()

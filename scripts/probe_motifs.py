#!/usr/bin/env python3
"""Embedding sanity check of glance's default model (issue 7): a linear probe.

    python scripts/probe_motifs.py --data /tmp/glance-data --glance target/release/glance \
        [--model models/default] [--extra-model NAME=DIR ...] [--json out.json]

Synthetic regions: 1,000 regions of 300 bp cut from the held-out genome (V. cholerae
O395, never seen in training) at random places (seed 11). In half of them (the
positives) two instances of JASPAR MA0139.2 (CTCF, 15 bp; test-data/motifs/subset10.meme)
are planted: each a sequence drawn column by column from the motif's letter
probabilities, on a random strand, at a random place (instances do not overlap).

Features per region:
  * glance embeddings: `glance embed regions.fa --model DIR --bin 300 --pool mean|max`
    (one record per region, so one bin per record), d_model values;
  * k-mer counts: counts of every k-mer (k = 4 and 6) on the forward strand.
Probe: L2-regularised logistic regression on standardised features (torch LBFGS),
5-fold cross-validation (folds seeded); the penalty is chosen per outer fold by 3-fold
cross-validation on its training part from {1e-4, 1e-3, 1e-2, 1e-1, 1}. Reported: AUROC
on the pooled out-of-fold scores (Mann-Whitney form).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import default_model_data as dm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEME = os.path.join(ROOT, "test-data", "motifs", "subset10.meme")
REGION = 300
N_REGIONS = 1000
PLANTS = 2


def read_meme_motif(path: str, name: str) -> np.ndarray:
    """Letter-probability rows [w, 4] (A, C, G, T) of one motif of a minimal MEME file."""
    rows, on = [], False
    with open(path) as f:
        for line in f:
            if line.startswith("MOTIF"):
                on = line.split()[1] == name
                continue
            parts = line.split()
            if on and len(parts) == 4:
                try:
                    rows.append([float(x) for x in parts])
                except ValueError:
                    pass
    return np.array(rows)


def make_regions(data_dir: str, seed: int, n_regions: int = N_REGIONS):
    rng = np.random.default_rng(seed)
    pwm = read_meme_motif(MEME, "MA0139.2")
    w = len(pwm)
    recs = [c for g in dm.HELDOUT for _, c in dm.load_genome(data_dir, g)]
    seqs, labels = [], []
    for i in range(n_regions):
        while True:
            c = recs[int(rng.integers(len(recs)))]
            s = int(rng.integers(0, len(c) - REGION))
            frag = c[s : s + REGION]
            if not (frag == 4).any():
                break
        text = np.array(list("ATCG"))[frag]
        label = i % 2
        if label:
            slots = rng.choice(REGION // w, size=PLANTS, replace=False)  # non-overlapping slots
            for slot in slots:
                site = "".join(rng.choice(list("ACGT"), p=col / col.sum()) for col in pwm)
                if rng.random() < 0.5:
                    site = site[::-1].translate(str.maketrans("ACGT", "TGCA"))
                text[slot * w : slot * w + w] = list(site)
        seqs.append("".join(text))
        labels.append(label)
    return seqs, np.array(labels)


def kmer_counts(seqs, k):
    idx = {"A": 0, "C": 1, "G": 2, "T": 3}
    out = np.zeros((len(seqs), 4**k))
    for r, s in enumerate(seqs):
        codes = np.array([idx[b] for b in s])
        n = len(codes) - k + 1
        v = np.zeros(n, dtype=np.int64)
        for j in range(k):
            v = v * 4 + codes[j : j + n]
        out[r] = np.bincount(v, minlength=4**k)
    return out


def glance_embed(binary, model, fasta, pool, workdir):
    prefix = os.path.join(workdir, f"emb_{pool}")
    cmd = [binary, "embed", fasta, "--bin", str(REGION), "--pool", pool, "-o", prefix]
    if model:
        cmd[3:3] = ["--model", model]
    subprocess.run(cmd, check=True)
    return np.load(prefix + ".npy").astype(np.float64)


def fit_logreg(x, y, lam):
    torch.manual_seed(0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.float64))
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt) + lam * (w @ w)
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), b.item()


def auroc(score, y):
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    # average ranks of ties
    for v in np.unique(score):
        t = score == v
        if t.sum() > 1:
            ranks[t] = ranks[t].mean()
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def standardise(tr, te):
    mu, sd = tr.mean(0), tr.std(0) + 1e-8
    return (tr - mu) / sd, (te - mu) / sd


def cv_scores(x, y, folds, seed, lams=(1e-4, 1e-3, 1e-2, 1e-1, 1.0)):
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(y)) % folds
    out = np.zeros(len(y))
    for f in range(folds):
        tr, te = fold != f, fold == f
        inner = rng.permutation(tr.sum()) % 3
        xtr, ytr = x[tr], y[tr]
        best = None
        for lam in lams:
            sc = np.zeros(len(ytr))
            for g in range(3):
                a, b_ = inner != g, inner == g
                xa, xb = standardise(xtr[a], xtr[b_])
                w, b = fit_logreg(xa, ytr[a], lam)
                sc[b_] = xb @ w + b
            auc = auroc(sc, ytr)
            if best is None or auc > best[0]:
                best = (auc, lam)
        xa, xb = standardise(xtr, x[te])
        w, b = fit_logreg(xa, ytr, best[1])
        out[te] = xb @ w + b
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--glance", required=True, help="the glance binary")
    ap.add_argument("--model", help="model directory (default: glance's default model)")
    ap.add_argument("--extra-model", action="append", default=[], help="NAME=DIR, probed as well")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--regions", type=int, default=N_REGIONS)
    ap.add_argument("--json")
    args = ap.parse_args()
    seqs, y = make_regions(args.data, args.seed, args.regions)
    res = {"regions": len(y), "positives": int(y.sum()), "region_bp": REGION, "plants": PLANTS,
           "motif": "MA0139.2 CTCF", "auroc": {}}
    with tempfile.TemporaryDirectory() as tmp:
        fasta = os.path.join(tmp, "regions.fa")
        with open(fasta, "w") as f:
            for i, s in enumerate(seqs):
                f.write(f">r{i}\n{s}\n")
        feats = {}
        models = [("default", args.model)] + [tuple(e.split("=", 1)) for e in args.extra_model]
        for name, model in models:
            for pool in ("mean", "max"):
                feats[f"glance {name} ({pool} pool)"] = glance_embed(args.glance, model, fasta, pool, tmp)
    for k in (4, 6):
        feats[f"{k}-mer counts"] = kmer_counts(seqs, k)
    for name, x in feats.items():
        assert x.shape[0] == len(y), (name, x.shape)
        a = auroc(cv_scores(x, y, 5, args.seed), y)
        res["auroc"][name] = {"auroc": a, "features": int(x.shape[1])}
        print(f"{name}: AUROC {a:.3f} ({x.shape[1]} features)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()

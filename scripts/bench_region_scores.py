#!/usr/bin/env python3
"""Region motif scores on planted data: which score finds clusters of weak sites.

For several JASPAR motifs of different widths, 1 kb regions are drawn from a
second-order Markov chain trained on a genome, and some get planted sites of one motif:

* `sub`: positives hold 3-6 sites with p-value in (1e-4, 1e-3] (below the hit
  threshold); negatives are background;
* `sub+decoy`: as `sub`, but half of the negatives hold one strong decoy site
  (p <= 1e-6, or within 1.5x of the best p-value the motif allows);
* `pass+decoy`: positives hold 3-6 sites with p-value in (1e-5, 1e-4] (they pass the
  threshold); half of the negatives hold one strong decoy (as above).

Sites are drawn column by column from a mixture of the motif and the background
(`a * pwm + (1 - a) * bg`, `a` uniform in [0.25, 1]) and kept by their p-value, which
`glance score` itself computes (best window of a record exactly one site long, both
strands); each is planted on a random strand at a random place, not overlapping another.

Every scenario is one FASTA (for each motif, 200 positives and 200 negatives) scored by
the built `glance score` (`--bin 1000`) once per setting; only the planted motif's row of
each region counts. Reported: the AUROC (positives vs negatives) of the max score
(`best_score`), the hit count (`hits`, p <= 1e-4), the affinity at several temperatures
(bits) and the occupancy at several chemical potentials (from p-values, and in bits),
averaged over motifs, with the per-motif range.

Usage (from the repository root, after `cargo build --release -p glance-cli`):
  python3 scripts/bench_region_scores.py [--glance target/release/glance]
      [--genome /work/shared/data/genomes/MG1655-K12.fasta.gz] [--seed 1]

Needs numpy. Prints Markdown tables (the one in docs/motifs.md came from it).
"""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
MEME = os.path.join(SHARED, "motifs", "jaspar2026_core_vertebrates_nr.meme")
GENOME = os.path.join(SHARED, "genomes", "MG1655-K12.fasta.gz")

WIDTHS = [8, 10, 12, 15, 18, 21]
REGION = 1000
PER_CLASS = 200
BASES = "ACGT"
COMP = str.maketrans("ACGT", "TGCA")

# (label, --tau) for the affinity; ln 2 is the old default (tau = 1 in natural units)
TAUS = [("0.69 (old 1)", "0.6931471805599453"), ("1", "1"), ("2", "2"), ("4 (default)", "4"),
        ("8", "8")]
# (label, glance options) for the occupancy
MUS = [("p=1e-2", ["--mu-pvalue", "1e-2"]), ("p=1e-3", ["--mu-pvalue", "1e-3"]),
       ("p=5e-4 (default)", ["--mu-pvalue", "5e-4"]), ("p=3e-4", ["--mu-pvalue", "3e-4"]),
       ("p=2e-4", ["--mu-pvalue", "2e-4"]), ("p=1e-4", ["--mu-pvalue", "1e-4"]),
       ("p=1e-5", ["--mu-pvalue", "1e-5"]), ("mu=0 bits", ["--mu", "0"]),
       ("mu=8 bits", ["--mu", "8"])]


def read_meme(path):
    """Motifs of a MEME file: {id: (alt, probs[w][4], text block)}, in file order."""
    motifs, cur = {}, None
    with open(path) as f:
        for line in f:
            if line.startswith("MOTIF"):
                parts = line.split()
                cur = parts[1]
                motifs[cur] = [parts[2] if len(parts) > 2 else "", [], line]
            elif cur is not None:
                motifs[cur][2] += line
                vals = line.split()
                if len(vals) == 4:
                    try:
                        motifs[cur][1].append([float(v) for v in vals])
                    except ValueError:
                        pass
    return motifs


def choose_motifs(motifs):
    """The first motif (file order) of each width in WIDTHS."""
    out = []
    for w in WIDTHS:
        for mid, (alt, probs, _) in motifs.items():
            if len(probs) == w:
                out.append((mid, alt, np.array(probs)))
                break
    return out


def write_meme(path, motifs, ids):
    with open(path, "w") as f:
        f.write("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n")
        f.write("Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n")
        for mid in ids:
            f.write(motifs[mid][2])


def markov_model(genome):
    """Second-order Markov chain (P(next | two previous), pseudocount 1) of a genome."""
    seq = []
    with gzip.open(genome, "rt") as f:
        for line in f:
            if not line.startswith(">"):
                seq.append(line.strip().upper())
    s = np.frombuffer("".join(seq).encode(), dtype=np.uint8)
    code = np.full(256, 4, dtype=np.int64)
    for i, b in enumerate(b"ACGT"):
        code[b] = i
    c = code[s]
    ok = (c[:-2] < 4) & (c[1:-1] < 4) & (c[2:] < 4)
    idx = (c[:-2] * 16 + c[1:-1] * 4 + c[2:])[ok]
    counts = np.bincount(idx, minlength=64).reshape(16, 4) + 1.0
    return counts / counts.sum(axis=1, keepdims=True)


def markov_seqs(rng, trans, count, n):
    """`count` sequences of `n` bases from the chain, all drawn step by step at once."""
    cum = np.cumsum(trans, axis=1)
    out = np.empty((count, n), dtype=np.int64)
    out[:, :2] = rng.integers(0, 4, (count, 2))
    for i in range(2, n):
        ctx = out[:, i - 2] * 4 + out[:, i - 1]
        u = rng.random(count)
        out[:, i] = np.minimum((u[:, None] > cum[ctx]).sum(axis=1), 3)
    table = np.frombuffer(BASES.encode(), dtype=np.uint8)
    return [table[row].tobytes().decode() for row in out]


def run_glance(glance, fasta, meme, prefix, opts, binsize):
    cmd = [glance, "score", fasta, "--motifs", meme, "--bin", str(binsize), "-q",
           "-o", prefix] + opts
    subprocess.run(cmd, check=True)
    rows = []
    with open(prefix + ".tsv") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    return rows


def site_pool(glance, tmp, mid, meme, probs, rng, n=30000):
    """Candidate sites of one motif with their p-values (best strand)."""
    w = len(probs)
    a = rng.uniform(0.25, 1.0, size=(n, 1, 1))
    mix = a * probs[None] + (1 - a) * 0.25
    cum = np.cumsum(mix, axis=2)
    u = rng.random((n, w, 1))
    codes = np.minimum((u > cum).sum(axis=2), 3)
    seqs = ["".join(BASES[x] for x in row) for row in codes]
    fa = os.path.join(tmp, f"cand_{mid}.fa")
    with open(fa, "w") as f:
        for i, s in enumerate(seqs):
            f.write(f">c{i}\n{s}\n")
    rows = run_glance(glance, fa, meme, os.path.join(tmp, f"cand_{mid}"), [], w)
    pv = [float(r["best_p-value"]) if r["best_p-value"] != "NA" else 1.0 for r in rows]
    return seqs, np.array(pv)


def plant(rng, seq, sites):
    """Plants `sites` (random strand) at random non-overlapping places of `seq`."""
    s = list(seq)
    taken = np.zeros(len(s), dtype=bool)
    for site in sites:
        if rng.random() < 0.5:
            site = site.translate(COMP)[::-1]
        w = len(site)
        for _ in range(1000):
            p = int(rng.integers(0, len(s) - w + 1))
            if not taken[p:p + w].any():
                s[p:p + w] = site
                taken[p:p + w] = True
                break
    return "".join(s)


def auroc(pos, neg):
    """Mann-Whitney AUROC with ties counted half (NaN scores lowest)."""
    pos = np.nan_to_num(np.asarray(pos, float), nan=-np.inf)
    neg = np.nan_to_num(np.asarray(neg, float), nan=-np.inf)
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sv = allv[order]
    i = 0
    while i < len(sv):
        j = i
        while j + 1 < len(sv) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    rp = ranks[: len(pos)].sum()
    return (rp - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--glance", default=os.path.join(ROOT, "target", "release", "glance"))
    ap.add_argument("--genome", default=GENOME)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    motifs = read_meme(MEME)
    chosen = choose_motifs(motifs)
    trans = markov_model(args.genome)
    scenarios = {
        "sub": ((1e-4, 1e-3), 0.0),
        "sub+decoy": ((1e-4, 1e-3), 0.5),
        "pass+decoy": ((1e-5, 1e-4), 0.5),
    }
    with tempfile.TemporaryDirectory() as tmp:
        meme_all = os.path.join(tmp, "chosen.meme")
        write_meme(meme_all, motifs, [m[0] for m in chosen])
        pools = {}
        for mid, alt, probs in chosen:
            one = os.path.join(tmp, f"{mid}.meme")
            write_meme(one, motifs, [mid])
            pools[mid] = site_pool(args.glance, tmp, mid, one, probs, rng)
        results = {}  # scenario -> score label -> [auroc per motif]
        for name, ((plo, phi), decoy_frac) in scenarios.items():
            fa = os.path.join(tmp, f"{name}.fa")
            labels = []  # (record, motif index, positive?)
            with open(fa, "w") as f:
                for mi, (mid, _, _) in enumerate(chosen):
                    seqs, pv = pools[mid]
                    weak = [s for s, p in zip(seqs, pv) if plo < p <= phi]
                    # decoys: p <= 1e-6, or as strong as the motif allows (short ones)
                    top = max(1e-6, 1.5 * pv.min())
                    strong = [s for s, p in zip(seqs, pv) if p <= top]
                    if len(weak) < 6 or (decoy_frac and not strong):
                        sys.exit(f"{mid}: too few sites in ({plo}, {phi}] or decoys")
                    backgrounds = markov_seqs(rng, trans, 2 * PER_CLASS, REGION)
                    for k, seq in enumerate(backgrounds):
                        positive = k < PER_CLASS
                        if positive:
                            n = int(rng.integers(3, 7))
                            sites = [weak[int(rng.integers(len(weak)))] for _ in range(n)]
                            seq = plant(rng, seq, sites)
                        elif rng.random() < decoy_frac:
                            seq = plant(rng, seq, [strong[int(rng.integers(len(strong)))]])
                        rec = f"r{mi}_{k}"
                        f.write(f">{rec}\n{seq}\n")
                        labels.append((rec, mid, positive))
            res = {}
            for i in range(max(len(TAUS), len(MUS))):
                (tl, tau), (ml, mopts) = TAUS[min(i, len(TAUS) - 1)], MUS[min(i, len(MUS) - 1)]
                rows = run_glance(args.glance, fa, meme_all, os.path.join(tmp, name),
                                  ["--tau", tau] + mopts, REGION)
                by = {(r["chrom"], r["motif_id"]): r for r in rows}

                def score(col, lab):
                    out = {}
                    for rec, mid, pos in labels:
                        v = by[(rec, mid)][col]
                        out.setdefault(mid, ([], []))[0 if pos else 1].append(
                            float("nan") if v == "NA" else float(v))
                    res.setdefault(lab, []).extend(auroc(p, n) for p, n in out.values())

                if i == 0:
                    score("best_score", "max score")
                    score("hits", "hit count (p <= 1e-4)")
                if i < len(TAUS):
                    score("affinity", f"affinity tau={tl}")
                if i < len(MUS):
                    score("occupancy", f"occupancy {ml}")
            results[name] = res
    names = list(scenarios)
    print("motifs: " + ", ".join(f"{m} {a} (w={len(p)})" for m, a, p in chosen))
    print()
    print("| score | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    order = list(results[names[0]])
    order.sort(key=lambda lab: (lab.startswith("occupancy"), lab.startswith("affinity")))
    for lab in order:
        cells = []
        for n in names:
            v = np.array(results[n][lab])
            cells.append(f"{v.mean():.3f} ({v.min():.2f}-{v.max():.2f})")
        print(f"| {lab} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

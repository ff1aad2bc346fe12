#!/usr/bin/env python3
"""Reads the bigWig tracks of a `glance run --tracks` output directory with pyBigWig (the
UCSC library's Python binding, independent of glance's writer) and compares them with
the directory's .npy outputs:

- tracks/affinity.ID.bw: the affinity channel of motif_scores.npy for motif ID, one
  interval per region of regions.bed (its first `step` bases), equal in float32;
- tracks/embedding.PCk.bw: the projection of embeddings.npy on the k-th eigenvector of
  its covariance (numpy.linalg.eigh in float64, sign: largest loading positive), within
  1e-4 of the largest |value|.

Usage: scripts/check_tracks.py OUTDIR [--motifs motifs.meme]
(pip install pyBigWig numpy; the motif file gives the ids' order, default: the bundled
JASPAR set)."""

import argparse
import glob
import json
import os
import sys

import numpy as np
import pyBigWig

HERE = os.path.dirname(os.path.abspath(__file__))
JASPAR = os.path.join(HERE, "..", "crates", "glance-motif", "data",
                      "jaspar2026_core_vertebrates_nr.meme")


def motif_ids(path):
    with open(path) as f:
        return [line.split()[1] for line in f if line.startswith("MOTIF ")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--motifs", help="the run's motif file (default: bundled JASPAR)")
    args = ap.parse_args()
    out = args.outdir
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    regions_cfg = manifest["config"]["regions"]
    step = regions_cfg.get("step") or regions_cfg["bin"]
    motifs_file = args.motifs or manifest["config"]["motifs"].get("file") or JASPAR
    ids = motif_ids(motifs_file)
    records = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "records.tsv"))
               if not l.startswith("#")]
    lengths = {r[2]: int(r[3]) for r in records}
    regions = [l.split("\t")[:3] for l in open(os.path.join(out, "regions.bed"))]
    regions = [(c, int(s), int(e)) for c, s, e in regions]
    failures = 0
    checked = 0

    def intervals(path):
        bw = pyBigWig.open(path)
        assert bw.isBigWig(), path
        chroms = bw.chroms()
        for name, length in chroms.items():
            assert lengths[name] == length, (path, name, length)
        got = {}
        for name in lengths:
            if name in chroms:
                for s, e, v in bw.intervals(name) or []:
                    got[(name, s, e)] = v
        bw.close()
        return got

    def expected(values):
        want = {}
        for (c, s, e), v in zip(regions, values):
            if not np.isnan(v):
                want[(c, s, min(e, s + step))] = v
        return want

    scores = np.load(os.path.join(out, "motif_scores.npy"))
    for path in sorted(glob.glob(os.path.join(out, "tracks", "affinity.*.bw"))):
        mid = os.path.basename(path)[len("affinity."):-len(".bw")]
        m = ids.index(mid)
        got = intervals(path)
        want = expected(scores[:, m, 0])
        bad = [k for k in want if k not in got or np.float32(got[k]) != np.float32(want[k])]
        extra = [k for k in got if k not in want]
        checked += 1
        if bad or extra:
            failures += 1
            print(f"FAIL {path}: {len(bad)} differing, {len(extra)} unexpected intervals")
        else:
            print(f"ok   {os.path.basename(path)}: {len(got)} intervals equal motif_scores.npy")

    emb_path = os.path.join(out, "embeddings.npy")
    if os.path.exists(emb_path):
        x = np.load(emb_path).astype(np.float64)
        mean = x.mean(axis=0)
        cov = np.cov(x, rowvar=False)
        vals, vecs = np.linalg.eigh(cov)
        order = np.argsort(vals)[::-1]
        for k, path in enumerate(sorted(glob.glob(os.path.join(out, "tracks", "embedding.PC*.bw")))):
            pc = int(os.path.basename(path)[len("embedding.PC"):-len(".bw")])
            v = vecs[:, order[pc - 1]]
            if v[np.argmax(np.abs(v))] < 0:
                v = -v
            want = expected((x - mean) @ v)
            got = intervals(path)
            scale = max(abs(w) for w in want.values())
            err = max(abs(got.get(key, np.inf) - w) for key, w in want.items())
            checked += 1
            if err > 1e-4 * scale or set(got) != set(want):
                failures += 1
                print(f"FAIL {path}: max error {err:.3g} (scale {scale:.3g})")
            else:
                print(f"ok   {os.path.basename(path)}: {len(got)} intervals, max error "
                      f"{err:.2g} of {scale:.3g} against numpy's PCA "
                      f"({vals[order[pc - 1]] / vals.sum():.1%} of the variance)")
    print(f"{checked - failures}/{checked} tracks agree")
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())

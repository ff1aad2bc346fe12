#!/usr/bin/env python3
"""Validate `glance variants` on planted motif sites (docs/variants.md, Validation).

1. Background: a 200 kb genome drawn from a 2nd-order Markov chain fitted to
   test-data/Kp1084_200kb.fa.gz (numpy Generator seeded with SEED).
2. Motifs: eight JASPAR 2026 motifs of widths 8 to 20 from
   test-data/motifs/jaspar2026_core_vertebrates_nr.meme (written to planted.meme).
3. Site pairs per motif, calibrated with `glance scan` (FIMO-exact p-values, NRDB
   background): a STRONG site (the consensus with some low-weight positions changed to
   other likely bases) with p <= 5e-5, and the WEAK site one SNV away: the most
   base of the motif's central half changed to its least likely base, with p >= 3e-4
   (best of both strands of the bare site). So each SNV crosses the default threshold
   1e-4 with a margin. Twenty pairs drawn per motif (short motifs have fewer distinct
   pairs; they repeat, at different places).
4. Genome: 160 slots of 1250 bp; each holds one planted site at +300 (random strand):
   80 STRONG sites, each with an SNV that makes it WEAK (truth: loss), and 80 WEAK
   sites, each with the SNV that makes it STRONG (truth: gain); ten of each per motif.
   Each slot also gets a neutral SNV at +900 (random ALT), more than 500 bp from any
   planted site.
5. `glance variants` with the default model (models/default, or $GLANCE_MODEL) and
   the eight planted motifs only (planted.meme, not all 1019) at the default threshold
   1e-4; and again with `--thresh 1 --no-model` so that every SNV has a delta for every
   motif.

Reports loss and gain recall and precision for the planted motifs (a call is a
motifs.tsv row with effect loss/gain for a planted motif at an SNV; a true call is at
an SNV planted to make that change to that motif; calls at neutral SNVs are real
threshold crossings of sites in the random background, counted as false), and the
AUROC (scikit-learn) for destroying vs neutral and creating vs neutral SNVs of: |delta|
(thresh-1 run) per (SNV, motif) pair (the SNV's planted motif vs every planted motif at
the neutral SNVs), max |delta| over the planted motifs per SNV, GLANCE_EMB_L2 and
|LLR|; as a markdown table.

Usage: /work/venv/bin/python scripts/validate_variants.py [--glance BIN] [--work DIR]
(BIN default: target/release/glance, else target/debug/glance; DIR default:
/tmp/glance-validate-variants). Needs numpy and scikit-learn.
"""
import argparse
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261203
GENOME_LEN = 200_000
SLOT = 1250
SITE_AT, NEUTRAL_AT = 300, 900
PER_MOTIF = 10  # destroying SNVs per motif; as many creating ones
MOTIFS = ["MA0148.5", "MA0079.5", "MA0466.4", "MA0506.3", "MA0114.5", "MA0139.2",
          "MA0106.3", "MA0138.3"]  # FOXA1, SP1, CEBPB, Nrf1, HNF4A, CTCF, TP53, REST
STRONG_P, WEAK_P, THRESH = 5e-5, 3e-4, 1e-4
CHROM = "planted"
BASES = "ACGT"
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def read_meme(path):
    """{id: (alt_id, matrix rows, text block)} of a MEME file."""
    motifs, lines = {}, path.read_text().splitlines()
    header_end = next(i for i, l in enumerate(lines) if l.startswith("MOTIF"))
    i = header_end
    while i < len(lines):
        if not lines[i].startswith("MOTIF"):
            i += 1
            continue
        parts = lines[i].split()
        mid, alt = parts[1], parts[2] if len(parts) > 2 else ""
        j = i + 1
        while not lines[j].startswith("letter-probability"):
            j += 1
        w = int(lines[j].split("w=")[1].split()[0])
        rows = [[float(x) for x in lines[j + 1 + r].split()] for r in range(w)]
        block = "\n".join(lines[i : j + 1 + w]) + "\n"
        motifs[mid] = (alt, np.array(rows), block)
        i = j + 1 + w
    return motifs, "\n".join(lines[:header_end]) + "\n"


def markov_genome(rng, n):
    with gzip.open(ROOT / "test-data" / "Kp1084_200kb.fa.gz", "rt") as f:
        seq = "".join(l.strip() for l in f if not l.startswith(">")).upper()
    idx = np.array([BASES.find(c) for c in seq])
    idx = idx[idx >= 0]
    counts = np.ones((16, 4))
    ctx = idx[:-2] * 4 + idx[1:-1]
    np.add.at(counts, (ctx, idx[2:]), 1)
    probs = counts / counts.sum(axis=1, keepdims=True)
    out = np.empty(n, dtype=np.int64)
    out[:2] = rng.integers(0, 4, 2)
    u = rng.random(n)
    cum = probs.cumsum(axis=1)
    for i in range(2, n):
        out[i] = np.searchsorted(cum[out[i - 2] * 4 + out[i - 1]], u[i])
    return bytearray("".join(BASES[min(b, 3)] for b in out), "ascii")


def scan_min_p(glance, meme, seqs, work):
    """{name: min p-value over every window and strand} for named sequences, each
    scanned with its own motif (names are `motif_id|...`)."""
    fa = work / "calibrate.fa"
    fa.write_text("".join(f">{name}\n{s}\n" for name, s in seqs))
    out = subprocess.run([glance, "scan", "-q", "--thresh", "1", "--text", "--motifs",
                          str(meme), str(fa)], check=True, capture_output=True,
                         text=True).stdout
    best = {}
    for line in out.splitlines()[1:]:
        if not line or line.startswith("#"):
            continue
        c = line.split("\t")
        if c[2].split("|")[0] != c[0]:
            continue
        p = float(c[7])
        best[c[2]] = min(best.get(c[2], 1.0), p)
    return best


def site_pairs(rng, motifs, glance, meme, work):
    """Per motif: 2 * PER_MOTIF (snv offset, strong site, weak site) pairs, calibrated by
    scan (distinct pairs when there are enough; short motifs have few and repeat)."""
    strong_sites, seqs = {}, []
    for mid in MOTIFS:
        m = motifs[mid][1]
        w = len(m)
        ic = 2 + (m * np.log2(np.clip(m, 1e-9, 1))).sum(axis=1)
        consensus = [BASES[int(k)] for k in m.argmax(axis=1)]
        order = list(np.argsort(ic))  # least informative first
        for n_changed in range(0, w // 2 + 1):
            for _ in range(25):
                s = list(consensus)
                pool = order[: max(n_changed * 2, 1)]
                for pos in rng.choice(pool, size=min(n_changed, len(pool)), replace=False):
                    col = m[pos].copy()
                    col[BASES.index(s[pos])] = 0
                    s[pos] = BASES[int(rng.choice(4, p=col / col.sum()))]
                strong = "".join(s)
                if (mid, strong) in strong_sites:
                    continue
                strong_sites[(mid, strong)] = len(strong_sites)
                seqs.append((f"{mid}|{strong}|s", strong))
                # the SNV: a base of the central half to its least likely base
                for j in range(w // 4, w - w // 4):
                    weak = strong[:j] + BASES[int(np.argmin(m[j]))] + strong[j + 1 :]
                    if weak != strong:
                        seqs.append((f"{mid}|{strong}|w{j}", weak))
    p = scan_min_p(glance, meme, seqs, work)
    pairs = {mid: [] for mid in MOTIFS}
    for name, weak in seqs:
        mid, strong, tag = name.split("|")
        if tag.startswith("w") and p[f"{mid}|{strong}|s"] <= STRONG_P and p[name] >= WEAK_P:
            pairs[mid].append((int(tag[1:]), strong, weak))
    out = {}
    for mid in MOTIFS:
        found = pairs[mid]
        if not found:
            sys.exit(f"{mid}: no calibrated site pair")
        rng.shuffle(found)
        out[mid] = [found[i % len(found)] for i in range(2 * PER_MOTIF)]
        print(f"{mid}: {len(found)} calibrated pairs", file=sys.stderr)
    return out


def main():
    ap = argparse.ArgumentParser()
    default_bin = ROOT / "target" / "release" / "glance"
    if not default_bin.exists():
        default_bin = ROOT / "target" / "debug" / "glance"
    ap.add_argument("--glance", default=str(default_bin))
    ap.add_argument("--work", default="/tmp/glance-validate-variants")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)

    motifs, meme_head = read_meme(ROOT / "test-data/motifs/jaspar2026_core_vertebrates_nr.meme")
    meme = work / "planted.meme"
    meme.write_text(meme_head + "\n".join(motifs[m][2] for m in MOTIFS))
    pairs = site_pairs(rng, motifs, args.glance, meme, work)

    genome = markov_genome(rng, GENOME_LEN)
    events = [(mid, kind, pair) for mid in MOTIFS
              for kind, group in (("loss", pairs[mid][:PER_MOTIF]),
                                  ("gain", pairs[mid][PER_MOTIF:]))
              for pair in group]
    order = rng.permutation(len(events))
    assert len(events) * SLOT <= GENOME_LEN
    snvs = []  # (0-based pos, ref, alt, kind, motif)
    for slot, e in enumerate(order):
        mid, kind, (j, strong, weak) = events[e]
        start = slot * SLOT + SITE_AT
        w = len(strong)
        ref_site, alt_site = (strong, weak) if kind == "loss" else (weak, strong)
        if rng.random() < 0.5:  # reverse strand
            ref_site = ref_site.translate(COMPLEMENT)[::-1]
            alt_site = alt_site.translate(COMPLEMENT)[::-1]
            j = w - 1 - j
        genome[start : start + w] = ref_site.encode()
        snvs.append((start + j, ref_site[j], alt_site[j], kind, mid))
        pos = slot * SLOT + NEUTRAL_AT
        ref = chr(genome[pos])
        alt = BASES[(BASES.index(ref) + int(rng.integers(1, 4))) % 4]
        snvs.append((pos, ref, alt, "neutral", ""))
    snvs.sort()
    fa = work / "genome.fa"
    text = genome.decode()
    fa.write_text(f">{CHROM}\n" + "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60)))
    (work / "genome.fa.fai").write_text(f"{CHROM}\t{GENOME_LEN}\t{len(CHROM) + 2}\t60\t61\n")
    vcf = work / "planted.vcf"
    with vcf.open("w") as f:
        f.write(f"##fileformat=VCFv4.2\n##contig=<ID={CHROM},length={GENOME_LEN}>\n"
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for i, (pos, ref, alt, kind, mid) in enumerate(snvs):
            assert genome[pos] == ord(ref)
            f.write(f"{CHROM}\t{pos + 1}\t{kind}:{mid or '.'}:{i}\t{ref}\t{alt}\t.\t.\t.\n")

    def run(extra, prefix):
        cmd = [args.glance, "variants", "-q", "--ref", str(fa), "--vcf", str(vcf),
               "--motifs", str(meme), *extra, "-o", str(work / prefix)]
        t = time.time()
        subprocess.run(cmd, check=True)
        print(f"$ {' '.join(cmd)}  # {time.time() - t:.0f} s", file=sys.stderr)

    run([], "default")
    run(["--thresh", "1", "--no-model"], "thresh1")

    def tsv(path):
        lines = path.read_text().splitlines()
        head = lines[0].split("\t")
        return [dict(zip(head, l.split("\t"))) for l in lines[1:]]

    truth = {pos + 1: (kind, mid) for pos, _, _, kind, mid in snvs}
    calls = {"loss": set(), "gain": set()}
    for r in tsv(work / "default.motifs.tsv"):
        if r["effect"] in calls:
            calls[r["effect"]].add((int(r["pos"]), r["motif_id"]))
    rows = []
    for kind in ("loss", "gain"):
        planted = {(p, mid) for p, (k, mid) in truth.items() if k == kind}
        hit = calls[kind] & planted
        recall = len(hit) / len(planted)
        precision = len(hit) / len(calls[kind]) if calls[kind] else float("nan")
        rows.append((f"{kind} recall", f"{recall:.3f} ({len(hit)}/{len(planted)})"))
        rows.append((f"{kind} precision",
                     f"{precision:.3f} ({len(hit)}/{len(calls[kind])})"))

    delta, best = {}, {}
    for r in tsv(work / "thresh1.motifs.tsv"):
        d = abs(float(r["delta"])) if r["delta"] != "NA" else 0.0
        delta[(int(r["pos"]), r["motif_id"])] = d
        best[int(r["pos"])] = max(best.get(int(r["pos"]), 0.0), d)
    var = {int(r["pos"]): r for r in tsv(work / "default.variants.tsv")}
    scores = {
        "max abs(delta) over the planted motifs": lambda p: best.get(p, 0.0),
        "GLANCE_EMB_L2": lambda p: float(var[p]["emb_l2"]),
        "abs(LLR)": lambda p: abs(float(var[p]["llr"])),
    }
    for kind, word in (("loss", "destroying"), ("gain", "creating")):
        # per (SNV, motif): the planted motif of each destroying (creating) SNV against
        # every planted motif at each neutral SNV
        pos_scores = [delta.get((p, mid), 0.0) for p, (k, mid) in truth.items() if k == kind]
        neg_scores = [delta.get((p, mid), 0.0) for p, (k, _) in truth.items()
                      if k == "neutral" for mid in MOTIFS]
        y = [1] * len(pos_scores) + [0] * len(neg_scores)
        rows.append((f"AUROC abs(delta) of the motif, {word} SNV's motif vs each motif at "
                     "neutral SNVs", f"{roc_auc_score(y, pos_scores + neg_scores):.3f}"))
        pos = [p for p, (k, _) in truth.items() if k in (kind, "neutral")]
        y = [truth[p][0] == kind for p in pos]
        for name, f in scores.items():
            rows.append((f"AUROC {name}, {word} vs neutral SNVs",
                         f"{roc_auc_score(y, [f(p) for p in pos]):.3f}"))

    widths = ", ".join(f"{motifs[m][0]} {m} (w={len(motifs[m][1])})" for m in MOTIFS)
    n = {k: sum(1 for s in snvs if s[3] == k) for k in ("loss", "gain", "neutral")}
    print(f"Planted motifs: {widths}. SNVs: {n['loss']} destroying, {n['gain']} creating, "
          f"{n['neutral']} neutral; seed {SEED}; genome {GENOME_LEN} bp.\n")
    print("| metric | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()

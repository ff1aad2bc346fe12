#!/usr/bin/env python3
"""Reference FIMO hits for glance's parity tests (test-data/fimo/*.tsv.gz).

Runs FIMO through pymemesuite (which bundles the MEME suite's C code) and works
around its known departures from the `fimo` command line:

* it never scores the last window of a sequence: one `N` is appended to every
  sequence (an N window is not scoreable, so the hit set and test count are FIMO's);
* it keeps p < threshold where `fimo` keeps p <= threshold: the threshold passed is
  the next double above 1e-4;
* its reader spreads the motif pseudocount with the NRDB frequencies whatever the
  background: motifs are rebuilt here with FIMO's arithmetic (p' = (p*N + a*bg)/(N + a),
  N = int(nsites) or 20, a = 0.1, bg = the resolved background), written with 17
  significant digits and read back with pseudocount 0;
* FIMO estimates pi0 from a 10,000-value reservoir sample with 100 bootstraps, drawn
  from the MEME suite's program-wide Mersenne Twister. `fimo` never seeds it, so a
  fresh process always draws the same numbers (scripts/fimo_fresh_qvalues.py stores
  such runs); here each motif is scanned REPS times in one process, where the
  generator's state carries over, and the fixture stores the median q-value and the
  range over those runs: the spread of FIMO's estimator over its random draws.

Backgrounds are resolved as `fimo --bfile` does when scanning both strands: NRDB
(default), uniform or a file, averaged with the complement, plus 5e-7 and
renormalised. For the NRDB case the rebuilt motifs are checked to equal pymemesuite's
own (bit for bit).

Usage: /work/venv/bin/python scripts/fimo_fixtures.py   (from the repository root)
"""
import gzip
import io
import math
import os
import random
import statistics
import sys
import tempfile

import pymemesuite
from pymemesuite.common import Alphabet, Array, Background, MotifFile, Sequence
from pymemesuite.fimo import FIMO

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TD = os.path.join(ROOT, "test-data")
OUT = os.path.join(TD, "fimo")
REPS = 11
THRESH = 1e-4
NRDB = [0.281774, 0.222020, 0.228876, 0.267330]
BG_FILE = os.path.join(OUT, "asymmetric.bg")


def normalize_subarray(f, tol):
    total = 0.0
    for v in f:
        total += v
    if not (1.0 - tol > total or 1.0 + tol < total):
        return f
    return [v / total for v in f]


def resolve_background(kind):
    if kind == "nrdb":
        f = normalize_subarray(list(NRDB), 0.0)
    elif kind == "uniform":
        f = [1.0 / 4] * 4
    else:
        f = [None] * 4
        for line in open(BG_FILE):
            line = line.split("#")[0].split()
            if len(line) == 2 and len(line[0]) == 1:
                f["ACGT".index(line[0])] = float(line[1])
    at = (f[0] + f[3]) / 2.0
    cg = (f[1] + f[2]) / 2.0
    f = [at, cg, cg, at]
    pseudo = 0.0000005
    s = pseudo * 4
    for v in f:
        s += v
    f = [(v + pseudo) / s for v in f]
    return normalize_subarray(f, 0.0)


def read_meme(path):
    motifs = []
    lines = open(path).read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("MOTIF"):
            words = line.split()
            mid, alt = words[1], (words[2] if len(words) > 2 else "")
            i += 1
            while not lines[i].startswith("letter-probability"):
                i += 1
            hdr = lines[i].replace("=", " ").split()
            w = int(hdr[hdr.index("w") + 1])
            nsites = float(hdr[hdr.index("nsites") + 1]) if "nsites" in hdr else None
            rows = [[float(x) for x in lines[i + 1 + r].split()] for r in range(w)]
            motifs.append((mid, alt, nsites, rows))
            i += w
        i += 1
    return motifs


def fimo_freqs(nsites, rows, bg, a=0.1):
    out = []
    sites = int(nsites) if nsites and nsites > 0 else 20
    total = sites + a
    for r in rows:
        r = normalize_subarray(list(r), 0.00001)
        out.append([((r[k] * sites) + (a * bg[k])) / total for k in range(4)])
    return out


def rebuilt_motifs(motifs, bg):
    text = io.StringIO()
    text.write("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n")
    text.write("Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n")
    for mid, alt, nsites, rows in motifs:
        f = fimo_freqs(nsites, rows, bg)
        text.write(f"MOTIF {mid} {alt}\nletter-probability matrix: alength= 4 w= {len(f)} nsites= 20 E= 0\n")
        for r in f:
            text.write(" ".join(repr(v) for v in r) + "\n")
        text.write("\n")
    with tempfile.NamedTemporaryFile("w", suffix=".meme", delete=False) as fh:
        fh.write(text.getvalue())
        path = fh.name
    mf = MotifFile(path, symmetrical=False, pseudocount=0.0)
    out = list(mf)
    mf.close()
    os.unlink(path)
    return out


def check_against_native(path, motifs, bg):
    mf = MotifFile(path, symmetrical=True)
    native = list(mf)
    assert list(mf.background.frequencies) == bg, (list(mf.background.frequencies), bg)
    for (mid, alt, nsites, rows), m in zip(motifs, native):
        ours = fimo_freqs(nsites, rows, bg)
        theirs = [list(r) for r in m.frequencies]
        assert ours == theirs, mid
    mf.close()


def read_fasta(path):
    opener = gzip.open if path.endswith(".gz") else open
    recs, name, buf = [], None, []
    for line in opener(path, "rt"):
        if line.startswith(">"):
            if name is not None:
                recs.append((name, "".join(buf)))
            name, buf = line[1:].split()[0], []
        else:
            buf.append(line.strip())
    if name is not None:
        recs.append((name, "".join(buf)))
    return recs


def synthetic(path, seed=4):
    rng = random.Random(seed)
    seq = []
    while len(seq) < 30000:
        r = rng.random()
        if r < 0.01:
            seq.extend("N" * rng.randint(1, 200))
        elif r < 0.03:
            seq.extend(c.lower() for c in rng.choices("ACGT", k=rng.randint(20, 400)))
        elif r < 0.032:
            seq.append(rng.choice("RYKMSWn"))
        else:
            seq.extend(rng.choices("ACGT", weights=[0.3, 0.2, 0.2, 0.3], k=rng.randint(1, 60)))
    recs = [("synthetic_1 soft-masked, N runs", "".join(seq[:30000])),
            ("short_2", "ACGTACGTAC"),
            ("all_N_3", "N" * 500),
            ("tail_4", "".join(rng.choices("ACGT", k=3000)) + "gggcgcgcccc")]
    with open(path, "w") as fh:
        fh.write(f"# synthetic sequences for FIMO parity (scripts/fimo_fixtures.py, seed {seed})\n")
    with open(path, "w") as fh:
        for name, s in recs:
            fh.write(f">{name}\n")
            for i in range(0, len(s), 70):
                fh.write(s[i:i + 70] + "\n")
    return [(n.split()[0], s) for n, s in recs]


def fmt_g(x, p):
    return "%.*g" % (p, x)


def run(tag, seqs, motifs, bgkind, desc):
    bg = resolve_background(bgkind)
    pm = rebuilt_motifs(motifs, bg)
    background = Background(Alphabet.dna(), Array(bg))
    sequences = [Sequence(s + "N", name=n.encode()) for n, s in seqs]
    fimo = FIMO(both_strands=True, threshold=math.nextafter(THRESH, 1.0), max_stored_scores=10**9)
    rows = []
    for (mid, alt, _, _), motif in zip(motifs, pm):
        runs = []
        for _ in range(REPS):
            pat = fimo.score_motif(motif, sequences, background)
            runs.append({(e.source.name, min(e.start, e.stop), e.strand): e for e in pat.matched_elements})
        first = runs[0]
        for key in sorted(first, key=lambda k: (first[k].pvalue, k)):
            e = first[key]
            qs = [r[key].qvalue for r in runs]
            seqname = key[0].decode() if isinstance(key[0], bytes) else key[0]
            start = min(e.start, e.stop)
            stop = max(e.start, e.stop)
            strand = e.strand.decode() if isinstance(e.strand, bytes) else e.strand
            matched = e.sequence.decode() if isinstance(e.sequence, bytes) else e.sequence
            rows.append((e.pvalue, mid, alt, seqname, start, stop, strand, e.score, statistics.median(qs), min(qs), max(qs), matched))
    rows.sort(key=lambda r: (r[0], r[1], r[3], r[4], r[6]))
    path = os.path.join(OUT, f"{tag}.tsv.gz")
    with gzip.open(path, "wt", compresslevel=9) as fh:
        fh.write(f"# FIMO reference made by scripts/fimo_fixtures.py with pymemesuite {pymemesuite.__version__} (MEME suite C code)\n")
        fh.write(f"# {desc}; background {bgkind} = {bg!r}; --thresh {THRESH} (p <= thresh); both strands; q-value = median of {REPS} FIMO runs\n")
        fh.write("motif_id\tmotif_alt_id\tsequence_name\tstart\tstop\tstrand\tscore\tp-value\tq-value\tmatched_sequence\tscore_exact\tp_exact\tq_median\tq_min\tq_max\n")
        for p, mid, alt, sn, st, sp, strand, score, qm, qlo, qhi, matched in rows:
            fh.write(f"{mid}\t{alt}\t{sn}\t{st}\t{sp}\t{strand}\t{fmt_g(score, 6)}\t{fmt_g(p, 3)}\t{fmt_g(qm, 3)}\t{matched}\t{score!r}\t{p!r}\t{qm!r}\t{qlo!r}\t{qhi!r}\n")
    print(tag, len(rows), "hits", file=sys.stderr)


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(BG_FILE, "w") as fh:
        fh.write("# an asymmetric order-0 background for parity tests (FIMO averages it with its complement)\n")
        fh.write("A 0.22\nC 0.31\nG 0.27\nT 0.20\n")
    sub10 = read_meme(os.path.join(TD, "motifs", "subset10.meme"))
    allj = read_meme(os.path.join(TD, "motifs", "jaspar2026_core_vertebrates_nr.meme"))
    j100 = allj[::10][:100]
    with open(os.path.join(OUT, "jaspar100.ids"), "w") as fh:
        fh.write("".join(m[0] + "\n" for m in j100))
    check_against_native(os.path.join(TD, "motifs", "subset10.meme"), sub10, resolve_background("nrdb"))
    real = read_fasta(os.path.join(TD, "Kp1084_200kb.fa.gz"))
    syn = synthetic(os.path.join(OUT, "synthetic.fa"))
    run("real_subset10_nrdb", real, sub10, "nrdb", "Kp1084_200kb.fa.gz x subset10.meme")
    run("real_subset10_uniform", real, sub10, "uniform", "Kp1084_200kb.fa.gz x subset10.meme")
    run("real_subset10_file", real, sub10, "file", "Kp1084_200kb.fa.gz x subset10.meme, --bfile asymmetric.bg")
    run("real_jaspar100_nrdb", real, j100, "nrdb", "Kp1084_200kb.fa.gz x jaspar100 (every 10th JASPAR motif)")
    run("synthetic_subset10_nrdb", syn, sub10, "nrdb", "synthetic.fa x subset10.meme")
    run("synthetic_jaspar100_uniform", syn, j100, "uniform", "synthetic.fa x jaspar100")
    run("synthetic_jaspar100_file", syn, j100, "file", "synthetic.fa x jaspar100, --bfile asymmetric.bg")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""q-values of single FIMO runs, each in a fresh process (test-data/fimo/*.fresh.tsv.gz).

The MEME suite never seeds its Mersenne Twister in `fimo` (src/fimo.c has no srand_mt
call; src/mtwist.c seeds the program-wide state with 4357 on first use), so a fresh
`fimo` process draws the same reservoir sample and bootstraps every time: its q-values
are deterministic. The random spread stored by scripts/fimo_fixtures.py comes from
repeating runs inside one Python process, where the generator's state carries over.

For each data set of scripts/fimo_fixtures.py this script starts a fresh interpreter
that scans every motif once, in file order, exactly as `fimo` does, and stores
motif_id, sequence_name, start, strand and the q-value (repr, full precision). It also
stores draws of pymemesuite's own `drand_mt` (test-data/fimo/drand_mt.txt) for the
generator's unit test.

Usage: /work/venv/bin/python scripts/fimo_fresh_qvalues.py   (from the repository root)
"""
import ctypes
import glob
import gzip
import io
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fimo_fixtures as fx  # noqa: E402

DATASETS = {
    "real_subset10_nrdb": ("real", "subset10", "nrdb"),
    "real_subset10_uniform": ("real", "subset10", "uniform"),
    "real_subset10_file": ("real", "subset10", "file"),
    "real_jaspar100_nrdb": ("real", "jaspar100", "nrdb"),
    "synthetic_subset10_nrdb": ("syn", "subset10", "nrdb"),
    "synthetic_jaspar100_uniform": ("syn", "jaspar100", "uniform"),
    "synthetic_jaspar100_file": ("syn", "jaspar100", "file"),
    # forward strand only (fimo --norc), with the same two-strand background
    "real_subset10_nrdb_norc": ("real", "subset10", "nrdb"),
    # --thresh 1: every test is a hit, so FIMO estimates pi0 from the hits themselves
    # (300 bases of synthetic.fa's tail_4 record, first 3 motifs of subset10.meme)
    "allhits_subset3_nrdb": ("allhits", "subset3", "nrdb"),
}
ALLHITS = os.path.join(fx.OUT, "allhits.fa")
DRAWS = [0, 1, 2, 311, 312, 623, 624, 99_999, 1_000_000]


def one_run(tag):
    """Runs in a fresh interpreter: one FIMO pass over all motifs, in order."""
    seqkind, motifset, bgkind = DATASETS[tag]
    from pymemesuite.common import Alphabet, Array, Background, Sequence
    from pymemesuite.fimo import FIMO
    thresh = fx.THRESH
    if seqkind == "real":
        seqs = fx.read_fasta(os.path.join(fx.TD, "Kp1084_200kb.fa.gz"))
    elif seqkind == "allhits":
        tail = dict(fx.read_fasta(os.path.join(fx.OUT, "synthetic.fa")))["tail_4"][:300]
        with open(ALLHITS, "w") as fh:
            fh.write(f">allhits_1\n{tail}\n")
        seqs = fx.read_fasta(ALLHITS)
        thresh = 1.0
    else:
        seqs = fx.read_fasta(os.path.join(fx.OUT, "synthetic.fa"))
    if motifset.startswith("subset"):
        motifs = fx.read_meme(os.path.join(fx.TD, "motifs", "subset10.meme"))
        motifs = motifs[:int(motifset.removeprefix("subset"))]
    else:
        allj = fx.read_meme(os.path.join(fx.TD, "motifs", "jaspar2026_core_vertebrates_nr.meme"))
        ids = open(os.path.join(fx.OUT, "jaspar100.ids")).read().split()
        byid = {m[0]: m for m in allj}
        motifs = [byid[i] for i in ids]
    bg = fx.resolve_background(bgkind)
    pm = fx.rebuilt_motifs(motifs, bg)
    background = Background(Alphabet.dna(), Array(bg))
    # one N appended: pymemesuite skips each sequence's last window (see fimo_fixtures.py)
    sequences = [Sequence(s + "N", name=n.encode()) for n, s in seqs]
    fimo = FIMO(both_strands=not tag.endswith("_norc"), threshold=math.nextafter(thresh, 2.0), max_stored_scores=10**9)
    path = os.path.join(fx.OUT, f"{tag}.fresh.tsv.gz")
    # mtime 0: a rerun writes byte-identical files
    with io.TextIOWrapper(gzip.GzipFile(path, "wb", compresslevel=9, mtime=0)) as fh:
        fh.write(f"# one FIMO run in a fresh process: scripts/fimo_fresh_qvalues.py, pymemesuite {__import__('pymemesuite').__version__}; {'allhits.fa, --thresh 1' if seqkind == 'allhits' else 'data as ' + tag.removesuffix('_norc') + '.tsv.gz'}\n")
        fh.write("motif_id\tsequence_name\tstart\tstrand\tq_exact\n")
        for (mid, _, _, _), motif in zip(motifs, pm):
            pat = fimo.score_motif(motif, sequences, background)
            rows = []
            for e in pat.matched_elements:
                name = e.source.name.decode() if isinstance(e.source.name, bytes) else e.source.name
                strand = e.strand.decode() if isinstance(e.strand, bytes) else e.strand
                rows.append((name, min(e.start, e.stop), strand, e.qvalue))
            for name, start, strand, q in sorted(rows):
                fh.write(f"{mid}\t{name}\t{start}\t{strand}\t{q!r}\n")
    print(tag, "done", file=sys.stderr)


def drand_draws():
    """First draws of pymemesuite's drand_mt in a fresh process."""
    so = glob.glob(os.path.join(os.path.dirname(__import__("pymemesuite").__file__), "fimo.*.so"))[0]
    lib = ctypes.CDLL(so)
    lib.drand_mt.restype = ctypes.c_double
    out = {}
    for i in range(max(DRAWS) + 1):
        v = lib.drand_mt()
        if i in DRAWS:
            out[i] = v
    with open(os.path.join(fx.OUT, "drand_mt.txt"), "w") as fh:
        fh.write("# draw index and value of MEME's drand_mt() in a fresh process (scripts/fimo_fresh_qvalues.py)\n")
        for i in DRAWS:
            fh.write(f"{i}\t{out[i]!r}\n")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        one_run(sys.argv[2])
        return
    if len(sys.argv) == 2 and sys.argv[1] == "--draws":
        drand_draws()
        return
    me = os.path.abspath(__file__)
    subprocess.run([sys.executable, me, "--draws"], check=True)
    for tag in DATASETS:
        subprocess.run([sys.executable, me, "--one", tag], check=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Motif scanning speed: glance against its peers, side by side, on one genome.

Each tool scans every position of the genome on both strands at p < 1e-4 (glance and
FIMO keep p <= 1e-4) with a uniform background, in its own process, timed with
/usr/bin/time (wall, user+sys CPU, peak RSS):

* glance scan (this repository's release binary), --threads N;
* FIMO via pymemesuite (MEME suite C code; single-threaded). With the 1019-motif set
  it takes about 6 minutes: it runs only with --full-fimo;
* MOODS (MOODS-python; thresholds from p-values with MOODS.tools.threshold_from_p,
  which is part of its time);
* memelite (numba, NUMBA_NUM_THREADS=N; binned p-values). Its script calls `fimo` twice
  in one process and also reports the second call's wall time ("warm": numba's JIT
  compilation done), the figure issue 21 compares against;
* glance again with its default background (NRDB frequencies), which issue 21 wants
  within 1.2x of the uniform run.
* glance again writing to its standard output redirected to a file (`> file`, as FIMO
  --text is used): no sync before the end, where `-o` syncs the file and renames it into
  place. Every glance run writes a new file, after `sync` has put the last one on disk.

Usage (from the repository root, after `cargo build --release -p glance-cli`):
  /work/venv/bin/python scripts/bench_motifs.py --threads 2 [--full-fimo] [--repeat 3]

Prints a Markdown table (median wall time of --repeat runs for glance, whose variants
run in turn, one run for each peer unless --repeat-peers) and the machine's load average
before and after.
"""
import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")

FIMO = textwrap.dedent("""
    import math, sys
    from pymemesuite.common import MotifFile, Sequence, Background, Array, Alphabet
    from pymemesuite.fimo import FIMO
    meme, fasta = sys.argv[1], sys.argv[2]
    seqs, name, buf = [], None, []
    for line in open(fasta):
        if line.startswith('>'):
            if name: seqs.append(Sequence(''.join(buf) + 'N', name=name.encode()))
            name, buf = line[1:].split()[0], []
        else:
            buf.append(line.strip())
    seqs.append(Sequence(''.join(buf) + 'N', name=name.encode()))
    mf = MotifFile(meme, symmetrical=True)
    motifs = list(mf)
    bg = Background(Alphabet.dna(), Array([0.25] * 4))
    fimo = FIMO(both_strands=True, threshold=math.nextafter(1e-4, 1), max_stored_scores=10**9)
    print(sum(len(fimo.score_motif(m, seqs, bg).matched_elements) for m in motifs))
""")

MOODS = textwrap.dedent("""
    import sys
    import MOODS.scan, MOODS.tools
    meme, fasta = sys.argv[1], sys.argv[2]
    seq = ''.join(l.strip() for l in open(fasta) if not l.startswith('>'))
    mats, lines, i = [], open(meme).read().splitlines(), 0
    while i < len(lines):
        if lines[i].startswith('letter-probability'):
            w = int(lines[i].replace('=', ' ').split()[lines[i].replace('=', ' ').split().index('w') + 1])
            rows = [[float(x) for x in lines[i + 1 + r].split()] for r in range(w)]
            mats.append([[rows[p][k] for p in range(w)] for k in range(4)])
            i += w
        i += 1
    bg = [0.25] * 4
    lo = [MOODS.tools.log_odds(m, bg, 0.1) for m in mats]
    lo = lo + [MOODS.tools.reverse_complement(m) for m in lo]
    th = [MOODS.tools.threshold_from_p(m, bg, 1e-4) for m in lo]
    res = MOODS.scan.scan_dna(seq, lo, bg, th, 7)
    print(sum(len(r) for r in res))
""")

MEMELITE = textwrap.dedent("""
    import sys, time
    from memelite import fimo
    hits = fimo(sys.argv[1], sys.argv[2], threshold=1e-4, reverse_complement=True)
    t0 = time.perf_counter()
    hits = fimo(sys.argv[1], sys.argv[2], threshold=1e-4, reverse_complement=True)
    print(sum(len(h) for h in hits), time.perf_counter() - t0)
""")


def timed(cmd, env=None, stdout_path=None):
    """Runs cmd under /usr/bin/time; returns (wall s, cpu s, peak RSS MB, stdout), or
    with stdout_path, its stdout goes to that new file and "" is returned for it."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        if stdout_path is None:
            p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", tf.name] + cmd,
                               capture_output=True, text=True, env=env)
        else:
            with open(stdout_path, "w") as out:
                p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", tf.name] + cmd,
                                   stdout=out, stderr=subprocess.PIPE, text=True, env=env)
            p.stdout = ""
        if p.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {p.stderr[-2000:]}")
        wall, user, sys_, rss = tf.read().split()
    return float(wall), float(user) + float(sys_), int(rss) / 1024, p.stdout.strip()


def count_motifs(meme):
    return sum(1 for l in open(meme) if l.startswith("MOTIF"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--glance", default=os.path.join(ROOT, "target", "release", "glance"))
    ap.add_argument("--genome", default=os.path.join(SHARED, "genomes", "Kp1084.fna.gz"))
    ap.add_argument("--motifs", default=os.path.join(ROOT, "test-data", "motifs", "jaspar2026_core_vertebrates_nr.meme"))
    ap.add_argument("--subset", default=os.path.join(ROOT, "test-data", "motifs", "subset10.meme"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repeat-peers", type=int, default=1)
    ap.add_argument("--full-fimo", action="store_true", help="also run FIMO with every motif (~6 min)")
    ap.add_argument("--skip", default="", help="comma-separated tools to skip: fimo,moods,memelite")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    py = sys.executable
    work = tempfile.mkdtemp(prefix="bench_motifs.")
    fasta = os.path.join(work, "genome.fa")
    with gzip.open(args.genome, "rt") if args.genome.endswith(".gz") else open(args.genome) as src, open(fasta, "w") as dst:
        shutil.copyfileobj(src, dst)
    mbp = sum(len(l.strip()) for l in open(fasta) if not l.startswith(">")) / 1e6
    scripts = {}
    for name, text in [("fimo", FIMO), ("moods", MOODS), ("memelite", MEMELITE)]:
        scripts[name] = os.path.join(work, "run_" + name + ".py")
        open(scripts[name], "w").write(text)
    env = dict(os.environ, NUMBA_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    load_before = os.getloadavg()
    rows = []
    warm = {}
    for meme in [args.subset, args.motifs]:
        n = count_motifs(meme)
        variants = [("glance", ["--uniform"], True), ("glance, NRDB background", [], True),
                    ("glance, stdout to a file", ["--uniform"], False)]
        variants = [v for v in variants if n > 10 or v[0] == "glance"]
        runs = {label: [] for label, _, _ in variants}
        hits = {}
        for rep in range(args.repeat):
            # the variants in turn, run after run, so that the VM's drift within the
            # minute reaches each of them alike (the NRDB / uniform ratio is read off them)
            for label, background, with_o in variants:
                # a new file each run, as a pipeline step writes it (Snakemake removes a
                # job's outputs before running it), after the last run's file is deleted
                # and everything is on disk (`sync`): otherwise the unlink of a 77 MB file
                # (~45 ms on ext4) or the writeback of the last run's data would be timed
                out = os.path.join(work, "glance.tsv")
                if os.path.exists(out):
                    os.remove(out)
                os.sync()
                cmd = [args.glance, "--threads", str(args.threads), "-q", "scan", fasta, "--motifs", meme] + background
                # -o: written to a temporary file, synced, renamed into place (whole or
                # absent after a crash); stdout: `> file` as with FIMO --text, no sync
                runs[label].append(timed(cmd + ["-o", out], env) if with_o else timed(cmd, env, stdout_path=out))
                if rep == args.repeat - 1:
                    hits[label] = sum(1 for l in open(out) if l and not l.startswith(("#", "motif_id", "\n")))
        for label, _, _ in variants:
            rows.append((label, n, runs[label], hits[label]))
        for tool in ["memelite", "moods", "fimo"]:
            if tool in skip or (tool == "fimo" and n > 10 and not args.full_fimo):
                continue
            runs = []
            for _ in range(args.repeat_peers):
                os.sync()
                runs.append(timed([py, scripts[tool], meme, fasta], env))
            if tool == "memelite":
                # two calls in one process: the row is the whole process, "warm" the 2nd call
                outs = [r[3].split() for r in runs]
                runs = [r[:3] + (o[0],) for r, o in zip(runs, outs)]
                warm[n] = statistics.median(float(o[1]) for o in outs)
            rows.append((tool, n, runs, int(runs[-1][3])))
    load_after = os.getloadavg()
    print(f"Genome {os.path.basename(args.genome)}: {mbp:.2f} Mbp, both strands, p < 1e-4, uniform background, "
          f"{args.threads} threads where the tool has threads; load average before {load_before[0]:.1f}, after {load_after[0]:.1f}\n")
    print("| tool | motifs | wall s (median) | CPU s | (Mbp x motifs)/s | hits | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tool, n, runs, hits in rows:
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs)
        print(f"| {tool} | {n} | {wall:.2f} | {cpu:.2f} | {mbp * n / wall:,.0f} | {hits:,} | {rss:,.0f} |")
    median = {(tool, n): statistics.median(r[0] for r in runs) for tool, n, runs, _ in rows}
    print()
    for n, w in sorted(warm.items()):
        print(f"memelite, {n} motifs, second call in its process (numba warmed): {w:.2f} s wall")
        if ("glance", n) in median:
            print(f"  glance (uniform, output written) is {w / median[('glance', n)]:.2f}x faster")
        if ("glance, stdout to a file", n) in median:
            print(f"  glance (uniform, stdout to a file, no sync) is "
                  f"{w / median[('glance, stdout to a file', n)]:.2f}x faster")
    for n in sorted({n for _, n in median}):
        if ("glance, NRDB background", n) in median:
            ratio = median[("glance, NRDB background", n)] / median[("glance", n)]
            print(f"glance, {n} motifs: NRDB background / uniform wall = {ratio:.2f}")
        if ("fimo", n) in median:
            print(f"glance, {n} motifs: {median[('fimo', n)] / median[('glance', n)]:.1f}x faster than FIMO (wall)")
    shutil.rmtree(work)

if __name__ == "__main__":
    main()

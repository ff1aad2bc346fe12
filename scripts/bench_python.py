#!/usr/bin/env python3
"""Overhead of the Python bindings against the CLI, measured in one invocation with the
two interleaved (CLI, Python, CLI, Python, ...), so that load from other processes hits
both alike.

    python scripts/bench_python.py --glance target/release/glance \
        --scan-genome ../shared/data/genomes/Kp1084.fna.gz \
        --embed-genome test-data/Kp1084_200kb.fa.gz --rounds 5

- scan: `glance scan GENOME -o hits.tsv` (1019 bundled JASPAR motifs, NRDB background)
  against `glance.Motifs.load().scan(GENOME)` returning a DataFrame;
- embed: `glance embed GENOME --bin 1000 -o emb` (default model) against
  `glance.Model.load().embed(GENOME, bin=1000)`.

Each CLI run is timed as a whole process (start, work, output files); each Python call
from the call to its returned DataFrame or array, in this already-started interpreter
with the motifs (or model) loaded once outside the timed call. Prints the median of
each and the ratio Python / CLI, and the load average before and after.
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time

import glance


def timed(f):
    t0 = time.perf_counter()
    result = f()
    return time.perf_counter() - t0, result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--glance", required=True, help="the glance binary")
    ap.add_argument("--scan-genome", required=True)
    ap.add_argument("--embed-genome", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    motifs = glance.Motifs.load()
    model = glance.Model.load()
    times = {k: [] for k in ("scan cli", "scan py", "embed cli", "embed py")}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        cli = lambda *a: subprocess.run([args.glance, "--quiet", *a], check=True)
        for _ in range(args.rounds):
            t, _ = timed(lambda: cli("scan", args.scan_genome, "-o", f"{tmp}/hits.tsv"))
            times["scan cli"].append(t)
            t, hits = timed(lambda: motifs.scan(args.scan_genome))
            times["scan py"].append(t)
            rows["scan"] = len(hits)
            t, _ = timed(lambda: cli("embed", args.embed_genome, "--bin", "1000", "-o", f"{tmp}/emb"))
            times["embed cli"].append(t)
            t, (_, emb) = timed(lambda: model.embed(args.embed_genome, bin=1000))
            times["embed py"].append(t)
            rows["embed"] = emb.shape[0]
    print(f"load average after: {os.getloadavg()}")
    for what in ("scan", "embed"):
        cli_t, py_t = times[f"{what} cli"], times[f"{what} py"]
        ratios = [p / c for p, c in zip(py_t, cli_t)]
        print(
            f"{what}: {rows[what]} rows; CLI median {statistics.median(cli_t):.3f} s "
            f"({', '.join(f'{t:.2f}' for t in cli_t)}); Python median "
            f"{statistics.median(py_t):.3f} s ({', '.join(f'{t:.2f}' for t in py_t)}); "
            f"ratio of medians {statistics.median(py_t) / statistics.median(cli_t):.3f}, "
            f"per round {', '.join(f'{r:.2f}' for r in ratios)}"
        )


if __name__ == "__main__":
    main()

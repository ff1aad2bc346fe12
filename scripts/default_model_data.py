"""Data, tokens and the masked evaluation set of glance's default model (issue 7).

Shared by scripts/train_default.py, scripts/markov_baseline.py and scripts/probe_motifs.py
so that every number in docs/models/default.md is computed on the same genomes, the same
tokens and the same masked positions. Importable, no side effects on import.

Genomes come from two Debian packages (see `fetch` and docs/models/default.md):

    apt-get download kleborate-examples ragout-examples
    dpkg-deb -x kleborate-examples_*.deb DATA && dpkg-deb -x ragout-examples_*.deb DATA

Split by genome, never one genome on both sides:
  train:    K. pneumoniae Kp1084, E. coli K-12 MG1655, S. aureus COL, H. pylori G27
  held-out: V. cholerae O395 (chromosomes I and II)

Tokens are glance's built-in DNABERT layout for k=6, stride 1: [PAD]=0, [UNK]=1, [CLS]=2,
[SEP]=3, [MASK]=4, then the 4^6 k-mers in A,T,C,G order (id = 5 + sum_j code_j 4^(5-j),
A=0, T=1, C=2, G=3); a k-mer with any other base is [UNK].

Masking: contiguous spans of SPAN = 2k-1 = 11 tokens replaced by [MASK]. With k=6 and
stride 1, the visible token just before a span reveals its first k-1 bases and the one
just after reveals its last k-1, so a span of L tokens hides L-k+1 bases; L = 11 hides 6
bases and its central k-mer shares no base with any visible token (a span of 6 would hide
a single base).
"""

from __future__ import annotations

import glob
import gzip
import lzma
import os
import subprocess

import numpy as np

K = 6
SPECIALS = 5
PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
NKMER = 4**K
SPAN = 2 * K - 1
# base code in the vocabulary's A,T,C,G order; 4 = anything else
_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate("ATCG"):
    _CODE[ord(_b)] = _i
    _CODE[ord(_b.lower())] = _i
_COMP = np.array([1, 0, 3, 2, 4], dtype=np.uint8)  # A<->T, C<->G

RAGOUT = "usr/share/doc/ragout/examples"
GENOMES = {
    # name: (package, path inside the extracted package, species)
    "Kp1084": ("kleborate-examples", "usr/share/doc/kleborate/examples/data/Klebs_Kp1084.fna.xz",
               "Klebsiella pneumoniae 1084 (CP003785.1)"),
    "MG1655": ("ragout-examples", f"{RAGOUT}/E.Coli/references/MG1655-K12.fasta.gz",
               "Escherichia coli K-12 MG1655"),
    "COL": ("ragout-examples", f"{RAGOUT}/S.Aureus/references/COL.fasta.gz",
            "Staphylococcus aureus COL (NC_002951.2)"),
    "G27": ("ragout-examples", f"{RAGOUT}/H.Pylori/references/G27.fasta.gz",
            "Helicobacter pylori G27 (NC_011333.1)"),
    "O395": ("ragout-examples", f"{RAGOUT}/V.Cholerae/references/O395.fasta.gz",
             "Vibrio cholerae O395 (CP001235.1, CP001236.1)"),
}
TRAIN = ["Kp1084", "MG1655", "COL", "G27"]
HELDOUT = ["O395"]


def fetch(data_dir: str) -> None:
    """Downloads the two Debian packages with apt-get and extracts them into data_dir."""
    os.makedirs(data_dir, exist_ok=True)
    pkgs = sorted({p for p, _, _ in GENOMES.values()})
    debs = [d for p in pkgs for d in glob.glob(os.path.join(data_dir, f"{p}_*.deb"))]
    if len(debs) < len(pkgs):
        subprocess.run(["apt-get", "download", *pkgs], cwd=data_dir, check=True)
    for deb in glob.glob(os.path.join(data_dir, "*.deb")):
        subprocess.run(["dpkg-deb", "-x", deb, data_dir], check=True)


def _open(path: str):
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".xz"):
        return lzma.open(path, "rb")
    return open(path, "rb")


def read_fasta(path: str) -> list[tuple[str, np.ndarray]]:
    """Records of a FASTA file as (name, base codes uint8 in A,T,C,G order, 4 = other)."""
    records, name, parts = [], None, []
    with _open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(b">"):
                if name is not None:
                    records.append((name, _CODE[np.frombuffer(b"".join(parts), np.uint8)]))
                name, parts = line[1:].split()[0].decode(), []
            elif line:
                parts.append(line)
    if name is not None:
        records.append((name, _CODE[np.frombuffer(b"".join(parts), np.uint8)]))
    return records


def load_genome(data_dir: str, name: str) -> list[tuple[str, np.ndarray]]:
    path = os.path.join(data_dir, GENOMES[name][1])
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: run `python scripts/train_default.py fetch --data {data_dir}`")
    return read_fasta(path)


def kmer_index(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k-mers of base codes, stride 1: their int64 index in base 4 (first base most
    significant, N counted as T) and whether each holds an N."""
    n = len(codes) - k + 1
    idx = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    for j in range(k):
        x = codes[j : j + n]
        bad |= x == 4
        idx = idx * 4 + np.minimum(x, 3)
    return idx, bad


def tokenize(codes: np.ndarray) -> np.ndarray:
    """Base codes -> k-mer token ids (int64), stride 1, glance's built-in vocabulary."""
    if len(codes) < K:
        return np.zeros(0, dtype=np.int64)
    ids, bad = kmer_index(codes.astype(np.int64), K)
    ids += SPECIALS
    ids[bad] = UNK
    return ids


def revcomp(codes: np.ndarray) -> np.ndarray:
    return _COMP[codes[::-1]]


def span_starts(n_tokens: int, n_spans: int, rng: np.random.Generator) -> np.ndarray:
    """One span start in each of n_spans equal segments, so spans never touch and each
    has visible tokens on both sides (at least K bases of context)."""
    seg = n_tokens // n_spans
    lo = K  # keep k tokens visible before the first span
    starts = []
    for s in range(n_spans):
        a = s * seg + lo
        b = (s + 1) * seg - SPAN - K
        starts.append(int(rng.integers(a, b + 1)))
    return np.array(starts, dtype=np.int64)


def eval_set(data_dir: str, windows: int = 200, n_tokens: int = 512, n_spans: int = 6,
             seed: int = 7) -> dict:
    """The fixed held-out evaluation set: `windows` windows of `n_tokens` tokens of the
    held-out genome (start aligned to 64 tokens, forward strand, no [UNK]) with `n_spans`
    masked spans each. Returns bases [W, n_tokens+K-1], ids [W, n_tokens],
    starts [W, n_spans] and the record/offset of each window."""
    rng = np.random.default_rng(seed)
    recs = [r for g in HELDOUT for r in load_genome(data_dir, g)]
    lens = np.array([len(c) for _, c in recs], dtype=np.float64)
    bases, ids, starts, where = [], [], [], []
    while len(ids) < windows:
        r = int(rng.choice(len(recs), p=lens / lens.sum()))
        codes = recs[r][1]
        hi = (len(codes) - n_tokens - K) // 64
        t0 = int(rng.integers(0, hi)) * 64
        b = codes[t0 : t0 + n_tokens + K - 1]
        t = tokenize(b)
        if (t == UNK).any():
            continue
        bases.append(b)
        ids.append(t)
        starts.append(span_starts(n_tokens, n_spans, rng))
        where.append((recs[r][0], t0))
    return {"bases": np.stack(bases), "ids": np.stack(ids), "starts": np.stack(starts),
            "where": where}

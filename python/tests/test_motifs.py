"""glance.Motifs against `glance scan` and `glance score` on the bundled data."""

import sys

import numpy as np
import pytest

import glance
from conftest import DATA, KP200, SMALL

COLUMNS = [
    "motif_id", "motif_alt_id", "sequence_name", "start", "stop", "strand",
    "score", "p-value", "q-value", "matched_sequence",
]


@pytest.fixture(scope="module")
def jaspar():
    return glance.Motifs.load()


def tsv_lines(path):
    """The hit rows of a FIMO TSV (header and trailer comments dropped)."""
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == COLUMNS
    return [l for l in lines[1:] if l and not l.startswith("#")]


def as_tsv(hits):
    """Hits formatted as FIMO's TSV rows (score %.6g, p and q %.3g)."""
    cols = [list(hits[c]) for c in COLUMNS]
    return [
        f"{m}\t{a}\t{n}\t{s}\t{e}\t{st}\t{sc:.6g}\t{p:.3g}\t{q:.3g}\t{seq}"
        for m, a, n, s, e, st, sc, p, q, seq in zip(*cols)
    ]


def test_bundled_set(jaspar):
    assert len(jaspar) == 1019
    assert len(set(jaspar.ids)) == 1019
    assert len(jaspar.alt_ids) == 1019


def test_scan_200kb_equals_the_cli(cli, tmp_path, jaspar):
    out = tmp_path / "hits.tsv"
    cli("scan", KP200, "-o", out)
    hits = jaspar.scan(KP200)
    assert list(hits.columns) == COLUMNS
    expected = tsv_lines(out)
    assert len(expected) > 1000
    assert as_tsv(hits) == expected


def test_scan_options_equal_the_cli(cli, tmp_path):
    motifs_file = DATA / "motifs" / "subset10.meme"
    motifs = glance.Motifs.load(motifs_file)
    out = tmp_path / "hits.tsv"
    cli("scan", SMALL, "--motifs", motifs_file, "--thresh", 1e-3, "--uniform", "--norc", "-o", out)
    hits = motifs.scan(str(SMALL), thresh=1e-3, background="--uniform--", norc=True)
    assert as_tsv(hits) == tsv_lines(out)
    assert set(hits["strand"]) <= {"+"}


def test_scan_a_string_equals_scanning_its_fasta(cli, tmp_path, jaspar):
    seq = glance.read(SMALL).__next__()[1][:3000]
    fasta = tmp_path / "seq.fa"
    fasta.write_text(f">seq\n{seq}\n")
    out = tmp_path / "hits.tsv"
    cli("scan", fasta, "-o", out)
    assert as_tsv(jaspar.scan(seq)) == tsv_lines(out)


def test_threads_do_not_change_hits(jaspar):
    one = jaspar.scan(SMALL, threads=1)
    two = jaspar.scan(SMALL, threads=2)
    assert as_tsv(one) == as_tsv(two)
    with pytest.raises(ValueError, match="threads"):
        jaspar.scan(SMALL, threads=0)


def test_without_pandas_a_dict_of_numpy_arrays(monkeypatch, jaspar):
    monkeypatch.setitem(sys.modules, "pandas", None)
    hits = jaspar.scan(SMALL)
    assert isinstance(hits, dict) and list(hits) == COLUMNS
    assert all(isinstance(v, np.ndarray) for v in hits.values())
    assert hits["start"].dtype == np.int64 and hits["p-value"].dtype == np.float64
    assert hits["motif_id"].dtype.kind == "U" and hits["matched_sequence"].dtype.kind == "U"
    assert len({len(v) for v in hits.values()}) == 1


def test_score_200kb_equals_the_cli(cli, tmp_path, jaspar):
    prefix = tmp_path / "scores"
    cli("score", KP200, "--bin", 1000, "-o", prefix)
    regions, scores = jaspar.score(KP200, bin=1000)
    expected = np.load(f"{prefix}.npy")
    assert scores.dtype == np.float32 and scores.shape == expected.shape == (200, 1019, 2)
    np.testing.assert_array_equal(scores, expected)
    bed = [l.split("\t")[:4] for l in open(f"{prefix}.bed").read().splitlines()]
    got = [[c, str(s), str(e), n] for c, s, e, n in
           zip(regions["chrom"], regions["start"], regions["end"], regions["name"])]
    assert got == bed


def test_score_step_equals_the_cli(cli, tmp_path, jaspar):
    prefix = tmp_path / "scores"
    cli("score", SMALL, "--bin", 500, "--step", 250, "--tau", 2, "-o", prefix)
    _, scores = jaspar.score(SMALL, bin=500, step=250, tau=2.0)
    np.testing.assert_array_equal(scores, np.load(f"{prefix}.npy"))


def test_motif_errors(tmp_path, jaspar):
    with pytest.raises(OSError, match="missing.meme"):
        glance.Motifs.load("missing.meme")
    bad = tmp_path / "bad.meme"
    bad.write_text("MEME version 4\n\nMOTIF x\nletter-probability matrix: w= 2\n0.5 0.5\n")
    with pytest.raises(ValueError, match="bad.meme"):
        glance.Motifs.load(bad)
    with pytest.raises(ValueError, match="--nonsense--: cannot read"):
        jaspar.scan("ACGTACGT", background="--nonsense--")
    with pytest.raises(OSError, match="missing.fa"):
        jaspar.scan("missing.fa")
    with pytest.raises(ValueError):
        jaspar.score("ACGTACGT", bin=0)
    with pytest.raises(ValueError, match="tau"):
        jaspar.score("ACGTACGT", tau=-1.0)


def test_the_gil_is_released_while_scanning(jaspar):
    """Another Python thread keeps running during a scan."""
    import threading
    import time

    done = threading.Event()
    worker = threading.Thread(target=lambda: (jaspar.scan(KP200, threads=1), done.set()))
    ticks = 0
    t0 = time.perf_counter()
    worker.start()
    while not done.is_set():
        time.sleep(0.002)
        ticks += 1
    worker.join()
    elapsed = time.perf_counter() - t0
    # with the GIL held the main thread could not wake up until the scan returned
    assert elapsed > 0.05 and ticks >= 10, (elapsed, ticks)

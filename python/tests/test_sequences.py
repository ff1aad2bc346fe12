"""glance.read and glance.tokenize against plain parsing and `glance tokenize`."""

import gzip
import itertools

import numpy as np
import pytest

import glance
from conftest import DATA, KP200, SMALL


def parse_fasta(path):
    """A minimal FASTA parser (name = header up to the first whitespace)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    records, name, parts = [], None, []
    with opener(path, "rt") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(">"):
                if name is not None:
                    records.append((name, "".join(parts)))
                name, parts = line[1:].split()[0], []
            else:
                parts.append(line)
    records.append((name, "".join(parts)))
    return records


@pytest.mark.parametrize("path", [SMALL, DATA / "seq" / "small.fa.gz", KP200])
def test_read_yields_every_record(path):
    assert list(glance.read(path)) == parse_fasta(path)


def test_read_region_is_a_slice_of_the_record():
    name, seq = parse_fasta(SMALL)[0]
    assert list(glance.read(str(SMALL), region=f"{name}:1001-2000")) == [
        (name, seq[1000:2000])
    ]


def builtin_ids(seq, k, stride=1):
    """Ids of the built-in vocabulary: 5 special tokens, then k-mers in A,T,C,G order."""
    index = {"".join(p): 5 + i for i, p in enumerate(itertools.product("ATCG", repeat=k))}
    return [index.get(seq[i : i + k].upper(), 1) for i in range(0, len(seq) - k + 1, stride)]


def test_tokenize_a_string_uses_the_dnabert_order():
    seq = "ACGTNacgtTTGCA"
    for k, stride in [(1, 1), (3, 1), (3, 3), (6, 2)]:
        ids = glance.tokenize(seq, k=k, stride=stride)
        assert ids.dtype == np.int32
        assert ids.tolist() == builtin_ids(seq, k, stride)


@pytest.mark.parametrize("k,stride", [(6, 1), (3, 3)])
def test_tokenize_a_file_equals_the_cli(cli, tmp_path, k, stride):
    out = tmp_path / "tokens.npy"
    cli("tokenize", SMALL, "-k", k, "--stride", stride, "-o", out)
    expected = np.load(out)
    got = glance.tokenize(SMALL, k=k, stride=stride)
    np.testing.assert_array_equal(got, expected.astype(np.int64))


def test_tokenize_with_a_vocab_file_equals_the_cli(cli, tmp_path):
    vocab = DATA / "seq" / "dnabert_vocab_k3.txt"
    out = tmp_path / "tokens.npy"
    cli("tokenize", SMALL, "--vocab", vocab, "-o", out)
    np.testing.assert_array_equal(glance.tokenize(SMALL, vocab=vocab), np.load(out))


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(OSError, match="no/such.fa"):
        glance.read("no/such.fa")
    bad = tmp_path / "bad.fa"
    bad.write_text("this is not FASTA\n")
    with pytest.raises(ValueError, match="bad.fa"):
        list(glance.read(bad))
    with pytest.raises(ValueError, match="kp_a"):
        glance.read(SMALL, region="kp_a:10-1")


def test_tokenize_errors():
    with pytest.raises(ValueError, match="k"):
        glance.tokenize("ACGT", k=13)
    with pytest.raises(OSError, match="missing.txt"):
        glance.tokenize("ACGT", vocab="missing.txt")
    with pytest.raises(ValueError, match="expected a sequence"):
        glance.tokenize(12)

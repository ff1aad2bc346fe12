"""glance.Model against `glance embed` on the bundled data and models."""

import numpy as np
import pytest

import glance
from conftest import DATA, KP200, SMALL

MIXED = DATA / "models" / "native_mixed"


def bed_rows(path):
    return [l.split("\t")[:4] for l in open(path).read().splitlines()]


def table_rows(regions):
    return [[c, str(s), str(e), n] for c, s, e, n in
            zip(regions["chrom"], regions["start"], regions["end"], regions["name"])]


def test_embed_200kb_equals_the_cli(cli, tmp_path):
    """The default model over 200 kb in 1 kb bins: the same array as `glance embed`."""
    prefix = tmp_path / "emb"
    cli("embed", KP200, "--bin", 1000, "-o", prefix)
    model = glance.Model.load()
    assert model.dir is None and model.name == "bundled:models/default"
    regions, emb = model.embed(KP200, bin=1000)
    expected = np.load(f"{prefix}.npy")
    assert emb.dtype == np.float32 and emb.shape == expected.shape == (200, model.d_model)
    np.testing.assert_array_equal(emb, expected)
    assert table_rows(regions) == bed_rows(f"{prefix}.bed")
    # the array owns no copy: numpy holds the Rust buffer
    assert not emb.flags["OWNDATA"] and emb.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("pool,bin,step", [("max", 300, 200), ("cls", 500, 500)])
def test_embed_options_equal_the_cli(cli, tmp_path, pool, bin, step):
    prefix = tmp_path / "emb"
    cli("embed", SMALL, "--model", MIXED, "--bin", bin, "--step", step, "--pool", pool, "-o", prefix)
    regions, emb = glance.Model.load(MIXED).embed(SMALL, bin=bin, step=step, pool=pool, threads=1)
    np.testing.assert_array_equal(emb, np.load(f"{prefix}.npy"))
    assert table_rows(regions) == bed_rows(f"{prefix}.bed")


def test_bf16_precision_equals_the_cli(cli, tmp_path):
    """`precision="bf16"` runs what `glance embed --precision bf16` runs (bf16 where the
    CPU has AVX512_BF16, else f32 on both sides), close to the f32 embeddings."""
    prefix = tmp_path / "emb"
    cli("embed", SMALL, "--model", MIXED, "--bin", 500, "--precision", "bf16", "-o", prefix)
    model = glance.Model.load(MIXED, precision="bf16")
    assert model.precision in ("bf16", "f32")
    assert glance.Model.load(MIXED).precision == "f32"
    _, emb = model.embed(SMALL, bin=500)
    np.testing.assert_array_equal(emb, np.load(f"{prefix}.npy"))
    _, f32 = glance.Model.load(MIXED).embed(SMALL, bin=500)
    norms = np.linalg.norm(emb, axis=1) * np.linalg.norm(f32, axis=1)
    live = norms > 0  # a bin without tokens is all zeros in both
    assert live.sum() > 10 and not f32[~live].any()
    assert ((emb * f32).sum(1)[live] / norms[live]).min() > 0.999
    with pytest.raises(ValueError, match="fp8"):
        glance.Model.load(MIXED, precision="fp8")


def test_hidden_states_equal_per_token_output(cli, tmp_path):
    seq = next(glance.read(SMALL))[1][:700]
    fasta = tmp_path / "seq.fa"
    fasta.write_text(f">seq\n{seq}\n")
    prefix = tmp_path / "tokens"
    cli("embed", fasta, "--model", MIXED, "--per-token", "-o", prefix)
    model = glance.Model.load(MIXED)
    hidden = model.hidden_states(seq)
    np.testing.assert_array_equal(hidden, np.load(f"{prefix}.npy"))
    assert hidden.shape == (len(seq) - 3 + 1, model.d_model)
    np.testing.assert_array_equal(model.hidden_states(fasta), hidden)
    with pytest.raises(ValueError, match="exceed 10 tokens"):
        model.hidden_states(seq, max_tokens=10)


def test_log_probs_are_normalised_over_the_kmers():
    model = glance.Model.load()
    assert model.has_mlm_head
    seq = next(glance.read(SMALL))[1][:400]
    lp = model.log_probs(seq)
    assert lp.dtype == np.float32 and lp.shape[0] == len(glance.tokenize(seq, k=6))
    assert np.isneginf(lp[:, :5]).all()  # special tokens are never predicted
    total = np.exp(lp[:, 5:].astype(np.float64)).sum(axis=1)
    np.testing.assert_allclose(total, 1.0, rtol=1e-5)


def test_model_errors(tmp_path):
    with pytest.raises(ValueError, match="no MLM head"):
        glance.Model.load(MIXED).log_probs("ACGTACGT")
    with pytest.raises(OSError, match="no_such_model"):
        glance.Model.load(tmp_path / "no_such_model")
    model = glance.Model.load(MIXED)
    with pytest.raises(ValueError, match="nope"):
        model.embed("ACGTACGT", pool="nope")
    with pytest.raises(ValueError, match="bin"):
        model.embed("ACGTACGT", bin=0)
    with pytest.raises(OSError, match="missing.fa"):
        model.embed("missing.fa")

"""glance.run against `glance run` on the bundled data."""

import json

import pytest

import glance
from conftest import DATA, SMALL

MIXED = DATA / "models" / "native_mixed"


def config(outdir):
    return {
        "inputs": [str(SMALL)],
        "outdir": str(outdir),
        "quiet": True,
        "model": {"path": str(MIXED)},
        "regions": {"bin": 500},
        "motifs": {"file": str(DATA / "motifs" / "subset10.meme")},
    }


def checksums(manifest):
    """Output checksums, but report.html's: it holds the run's timings."""
    return {o["path"]: o["sha256"] for o in manifest["outputs"] if o["path"] != "report.html"}


def toml_value(v):
    return json.dumps(v)  # strings, numbers and booleans read the same in TOML


def write_toml(cfg, path):
    lines = [f"{k} = {toml_value(v)}" for k, v in cfg.items() if not isinstance(v, dict)]
    for section, table in ((k, v) for k, v in cfg.items() if isinstance(v, dict)):
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n")


def test_run_from_a_dict_equals_the_cli(cli, tmp_path):
    manifest = glance.run(config(tmp_path / "py"))
    assert {"hits.tsv", "embeddings.npy", "motif_scores.npy"} <= set(checksums(manifest))
    toml = tmp_path / "glance.toml"
    write_toml(config(tmp_path / "cli"), toml)
    cli("run", "--config", toml)
    expected = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    assert checksums(manifest) == checksums(expected)
    # a TOML path works too (the finished run is reused)
    assert checksums(glance.run(toml)) == checksums(expected)


def test_run_errors(tmp_path):
    with pytest.raises(ValueError, match="nonsense"):
        glance.run({"nonsense": 1})
    with pytest.raises(OSError, match="missing.toml"):
        glance.run(tmp_path / "missing.toml")
    with pytest.raises(OSError, match="missing.fa"):
        glance.run({"inputs": ["missing.fa"], "outdir": str(tmp_path / "out"), "quiet": True})

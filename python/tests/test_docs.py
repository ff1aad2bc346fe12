"""docs/python.md runs: its python blocks, executed in order from the repository root."""

import os
import re

import pytest

from conftest import REPO


def test_the_walkthrough_runs(monkeypatch, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("pandas")
    text = (REPO / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(REPO)
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/python.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "1019 motifs," in out and "(1000, 128) float32" in out
    assert out.count("ROC AUC") == 2

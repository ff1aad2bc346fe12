"""Shared fixtures: the repository's bundled data and the `glance` CLI to compare with.

The CLI is $GLANCE_BIN, else target/release/glance, else target/debug/glance of the
workspace (CARGO_TARGET_DIR honoured)."""

import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / "test-data"
KP200 = DATA / "Kp1084_200kb.fa.gz"
SMALL = DATA / "seq" / "small.fa"


def _cli() -> pathlib.Path:
    if os.environ.get("GLANCE_BIN"):
        return pathlib.Path(os.environ["GLANCE_BIN"])
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ("release", "debug"):
        path = target / profile / "glance"
        if path.is_file():
            return path
    pytest.skip("no glance binary: build it (cargo build -p glance-cli) or set GLANCE_BIN")


@pytest.fixture(scope="session")
def cli():
    """Runs the glance CLI quietly; fails the test on a non-zero exit."""
    binary = _cli()

    def run(*args):
        subprocess.run([str(binary), "--quiet", *map(str, args)], check=True)

    return run

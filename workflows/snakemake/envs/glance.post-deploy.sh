#!/usr/bin/env bash
# Run by snakemake after creating envs/glance.yaml: installs the glance binary into the
# environment from a checkout of the repository (GLANCE_SRC, default: three levels above
# this file, the checkout holding workflows/snakemake/envs).
set -euo pipefail
src=${GLANCE_SRC:-$(cd "$(dirname "$0")/../../.." && pwd)}
cargo install --locked --path "$src/crates/glance-cli" --root "$CONDA_PREFIX"

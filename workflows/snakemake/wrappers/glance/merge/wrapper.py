"""snakemake-wrappers layout: `glance merge` of every shard of one sample.

input.manifests: each shard's manifest.json (their directories are merged);
output.manifest: OUTDIR/manifest.json; params.glance (default "glance"), params.extra;
log: stderr.
"""

import os

from snakemake.shell import shell

log = snakemake.log_fmt_shell(stdout=False, stderr=True)
glance = snakemake.params.get("glance", "glance")
extra = snakemake.params.get("extra", "")
shards = " ".join(os.path.dirname(m) for m in snakemake.input.manifests)
outdir = os.path.dirname(snakemake.output.manifest)
shell("{glance} merge {shards} --outdir {outdir} {extra} {log}")

"""snakemake-wrappers layout: `glance run --shard I/N` for one shard of one sample.

input.reads: FASTA/FASTQ; output.manifest: OUTDIR/manifest.json (OUTDIR is its
directory); wildcards.shard: I; params.shards: N; params.glance (default "glance"),
params.glance_config (a glance TOML, optional), params.extra (more `glance run`
options); threads; log: stderr.
"""

import os

from snakemake.shell import shell

log = snakemake.log_fmt_shell(stdout=False, stderr=True)
glance = snakemake.params.get("glance", "glance")
config = snakemake.params.get("glance_config", "")
config_opt = f"--config {config}" if config else ""
extra = snakemake.params.get("extra", "")
outdir = os.path.dirname(snakemake.output.manifest)
shell(
    "{glance} --threads {snakemake.threads} run {snakemake.input.reads} {config_opt} {extra}"
    " --shard {snakemake.wildcards.shard}/{snakemake.params.shards} --outdir {outdir} {log}"
)

#!/usr/bin/env nextflow
// glance on Nextflow: scatter `glance run --shard I/N` per sample, gather with
// `glance merge`. The merged directory equals one unsharded `glance run`.
//
//   nextflow run workflows/nextflow --input samples.csv --shards 8 -profile slurm
//   nextflow run workflows/nextflow -stub-run            # wiring check, no glance needed
//
// samples.csv: a header `sample,reads`, then one line per sample.

nextflow.enable.dsl = 2

include { GLANCE_RUN   } from './modules/local/glance/run/main'
include { GLANCE_MERGE } from './modules/local/glance/merge/main'

workflow {
    def shards = params.shards as int
    samples = Channel
        .fromPath(params.input, checkIfExists: true)
        .splitCsv(header: true)
        .map { row -> tuple([id: row.sample, shards: shards], file(row.reads, checkIfExists: true)) }

    glance_config = params.glance_config ? file(params.glance_config, checkIfExists: true) : []

    GLANCE_RUN(samples.combine(Channel.of(1..shards)), glance_config)

    // groupTuple waits for exactly `shards` directories per sample.
    GLANCE_MERGE(GLANCE_RUN.out.shard_dir.map { meta, dir -> tuple(meta.id, meta, dir) }
        .groupTuple(size: shards)
        .map { id, metas, dirs -> tuple(metas[0], dirs) })

    GLANCE_RUN.out.versions.mix(GLANCE_MERGE.out.versions)
        .unique()
        .collectFile(name: 'versions.yml', storeDir: "${params.outdir}/pipeline_info")
}

// glance run on one shard of one sample (nf-core module conventions: meta map,
// task.ext.args, emit names, stub block, versions.yml).
process GLANCE_RUN {
    tag "${meta.id} ${shard}/${meta.shards}"
    label 'process_medium'

    input:
    tuple val(meta), path(reads), val(shard)
    path glance_config

    output:
    tuple val(meta), path("${prefix}", type: 'dir'), emit: shard_dir
    tuple val(meta), path("${prefix}/hits.tsv"), emit: hits, optional: true
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def config = glance_config ? "--config ${glance_config}" : ''
    prefix = task.ext.prefix ?: "${meta.id}.shard${shard}"
    """
    glance --threads ${task.cpus} run ${reads} ${config} ${args} \\
        --shard ${shard}/${meta.shards} --outdir ${prefix}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        glance: \$(glance --version | sed 's/^glance //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}.shard${shard}"
    """
    mkdir -p ${prefix}
    for f in regions.bed embeddings.npy motif_scores.npy motif_scores.tsv hits.tsv records.tsv scan_tallies.tsv scan_hits.tsv manifest.json; do
        touch ${prefix}/\$f
    done

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        glance: 0.1.0
    END_VERSIONS
    """
}

// glance merge: gathers every shard of one sample into what one unsharded run writes.
process GLANCE_MERGE {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), path(shard_dirs, stageAs: 'shards/*')

    output:
    tuple val(meta), path("${prefix}", type: 'dir'), emit: merged
    tuple val(meta), path("${prefix}/hits.tsv"), emit: hits, optional: true
    tuple val(meta), path("${prefix}/embeddings.npy"), emit: embeddings, optional: true
    tuple val(meta), path("${prefix}/motif_scores.npy"), emit: motif_scores, optional: true
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    glance merge ${shard_dirs} --outdir ${prefix} ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        glance: \$(glance --version | sed 's/^glance //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
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

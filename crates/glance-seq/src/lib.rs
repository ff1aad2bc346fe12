//! Sequence input for glance: FASTA/FASTQ readers (plain, gzip, BGZF, stdin), indexed
//! region access (.fai/.gzi, `chr:start-end`, BED), a streaming chunker with halos, and
//! the k-mer tokenizer. Readers know nothing of attention or motifs.

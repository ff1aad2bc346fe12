//! `glance tokenize` end to end: the .npy and index TSV it writes equal the library's
//! tokenization, for every compression, stdin, regions, BED and vocab files.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::common::{big_fasta, check_progress_bar, glance, read_npy_u32, seq_data};
use glance::seq::{IndexedFasta, Record, Region, SeqReader, SoftMask, Tokenizer, TokenizerOptions};

fn read_index(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("#name\tstart_token\ttoken_count\tfirst_base\tbase_count")
    );
    lines
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn library_tokens(path: &Path, options: TokenizerOptions) -> (Vec<u32>, Vec<Record>) {
    let tokenizer = Tokenizer::new(options).unwrap();
    let mut reader = SeqReader::open(path).unwrap();
    let mut rec = Record::default();
    let (mut tokens, mut recs) = (Vec::new(), Vec::new());
    while reader.read_record(&mut rec).unwrap() {
        tokenizer.tokenize_into(&rec.sequence, &mut tokens);
        recs.push(rec.clone());
    }
    (tokens, recs)
}

#[test]
fn whole_records_match_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tokens.npy");
    glance()
        .args(["tokenize", "-k", "3", "-q", "-o"])
        .arg(&out)
        .arg(seq_data("small.fa"))
        .assert()
        .success()
        .stderr("");
    let options = TokenizerOptions {
        k: 3,
        ..Default::default()
    };
    let (want, recs) = library_tokens(&seq_data("small.fa"), options);
    assert_eq!(read_npy_u32(&out), want);
    let index = read_index(&dir.path().join("tokens.index.tsv"));
    let mut start = 0;
    for (row, rec) in index.iter().zip(&recs) {
        let n = rec.sequence.len() - 2;
        assert_eq!(
            row,
            &[
                rec.name.clone(),
                start.to_string(),
                n.to_string(),
                "0".into(),
                rec.sequence.len().to_string()
            ]
        );
        start += n;
    }
    assert_eq!(index.len(), 3);
}

#[test]
fn compressions_and_stdin_give_identical_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for name in ["small.fa", "small.fa.gz", "small_gzip.fa.gz"] {
        let out = dir.path().join(format!("{name}.npy"));
        glance()
            .args(["tokenize", "--canonical", "-o"])
            .arg(&out)
            .arg(seq_data(name))
            .assert()
            .success();
        outputs.push(std::fs::read(&out).unwrap());
    }
    let out = dir.path().join("stdin.npy");
    glance()
        .args(["tokenize", "--canonical", "-o"])
        .arg(&out)
        .arg("-")
        .pipe_stdin(seq_data("small.fa.gz"))
        .unwrap()
        .assert()
        .success();
    outputs.push(std::fs::read(&out).unwrap());
    let options = TokenizerOptions {
        canonical: true,
        ..Default::default()
    };
    assert_eq!(
        read_npy_u32(&dir.path().join("small.fa.npy")),
        library_tokens(&seq_data("small.fa"), options).0
    );
    for o in &outputs[1..] {
        assert_eq!(o, &outputs[0]);
    }
}

#[test]
fn fastq_multiline_equals_four_line() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    let b = dir.path().join("b.npy");
    glance()
        .args(["tokenize", "-k", "4", "--stride", "2", "-o"])
        .arg(&a)
        .arg(seq_data("reads.fq"))
        .assert()
        .success();
    glance()
        .args(["tokenize", "-k", "4", "--stride", "2", "-o"])
        .arg(&b)
        .arg(seq_data("reads_multiline.fq"))
        .assert()
        .success();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(read_index(&dir.path().join("a.index.tsv")).len(), 12);
}

#[test]
fn regions_and_bed_use_chromosome_coordinates() {
    let dir = tempfile::tempdir().unwrap();
    let options = TokenizerOptions {
        k: 6,
        stride: 3,
        soft_mask: SoftMask::Unknown,
        ..Default::default()
    };
    let tokenizer = Tokenizer::new(options).unwrap();
    let bed = glance::seq::read_bed(std::io::BufReader::new(
        std::fs::File::open(seq_data("regions.bed")).unwrap(),
    ))
    .unwrap();
    let mut fasta = IndexedFasta::open(seq_data("small.fa")).unwrap();
    let mut want = Vec::new();
    let mut rec = Record::default();
    for r in &bed {
        fasta.fetch(r, &mut rec).unwrap();
        tokenizer.tokenize_into(&rec.sequence, &mut want);
    }
    for input in ["small.fa", "small.fa.gz"] {
        let out = dir.path().join(format!("{input}.npy"));
        glance()
            .args([
                "tokenize",
                "-k",
                "6",
                "--stride",
                "3",
                "--soft-mask",
                "unknown",
                "--regions",
            ])
            .arg(seq_data("regions.bed"))
            .arg("-o")
            .arg(&out)
            .arg(seq_data(input))
            .assert()
            .success();
        assert_eq!(read_npy_u32(&out), want, "{input}");
        let index = read_index(&out.with_extension("index.tsv"));
        assert_eq!(index[1], ["kp_b", "32", "2", "2990", "11"]);
    }
    let out = dir.path().join("one.npy");
    glance()
        .args(["tokenize", "-k", "2", "--region", "kp_a:1,001-1,010", "-o"])
        .arg(&out)
        .arg(seq_data("small.fa"))
        .assert()
        .success();
    let region: Region = "kp_a:1001-1010".parse().unwrap();
    fasta.fetch(&region, &mut rec).unwrap();
    let mut want = Vec::new();
    Tokenizer::new(TokenizerOptions {
        k: 2,
        ..Default::default()
    })
    .unwrap()
    .tokenize_into(&rec.sequence, &mut want);
    assert_eq!(read_npy_u32(&out), want);
    assert_eq!(
        read_index(&out.with_extension("index.tsv"))[0],
        ["kp_a", "0", "9", "1000", "10"]
    );
}

#[test]
fn vocab_file_sets_k_and_matches_builtin() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("builtin.npy");
    let b = dir.path().join("file.npy");
    glance()
        .args(["tokenize", "-k", "6", "-o"])
        .arg(&a)
        .arg(seq_data("mixed.fa"))
        .assert()
        .success();
    glance()
        .args(["tokenize", "--vocab"])
        .arg(seq_data("dnabert_vocab_k6.txt"))
        .arg("-o")
        .arg(&b)
        .arg(seq_data("mixed.fa"))
        .assert()
        .success();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let index = read_index(&dir.path().join("builtin.index.tsv"));
    assert_eq!(index[1], ["empty", "63", "0", "0", "0"]);
}

#[test]
fn several_inputs_are_concatenated_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("both.npy");
    glance()
        .args(["tokenize", "-o"])
        .arg(&out)
        .arg(seq_data("small.fa"))
        .arg(seq_data("reads.fq"))
        .assert()
        .success();
    let options = TokenizerOptions::default();
    let mut want = library_tokens(&seq_data("small.fa"), options).0;
    want.extend(library_tokens(&seq_data("reads.fq"), options).0);
    assert_eq!(read_npy_u32(&out), want);
    assert_eq!(read_index(&dir.path().join("both.index.tsv")).len(), 3 + 12);
}

#[test]
fn large_inputs_get_a_progress_bar_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let fa = big_fasta(dir.path());
    let out = dir.path().join("t.npy");
    check_progress_bar(&[
        "tokenize".as_ref(),
        fa.as_ref(),
        "-o".as_ref(),
        out.as_ref(),
    ]);
}

//! Bad input to `glance tokenize`: every case prints exactly one line
//! `error: <file>: <line, record or region>: <what>`, exits with status 1 and leaves no
//! output file (nor a temporary one) behind.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crate::common::{failure_stderr, glance, seq_data};

/// Runs `glance tokenize EXTRA... -o DIR/out.npy INPUT` and checks the failure: one
/// stderr line starting with `error: <blamed>: ` and containing `what`, exit 1, and an
/// output directory that is still empty.
fn fails(input: &Path, extra: &[&str], blamed: &Path, what: &str) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out.npy");
    let stderr = failure_stderr(
        glance()
            .arg("tokenize")
            .args(extra)
            .arg("-o")
            .arg(&out)
            .arg(input),
    );
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    let prefix = format!("error: {}: ", blamed.display());
    assert!(
        stderr.starts_with(&prefix),
        "{stderr} does not start with {prefix}"
    );
    assert!(stderr.contains(what), "{stderr} does not contain {what}");
    // Each cause is printed once (no error that repeats its source).
    let parts: Vec<&str> = stderr.trim_end().split(": ").collect();
    assert!(
        parts.windows(2).all(|w| w[0] != w[1]),
        "repeated cause: {stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
    assert!(left.is_empty(), "output left behind: {left:?}");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn missing_header() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "noheader.fa", b"ACGTACGT\n>x\nACGT\n");
    fails(
        &f,
        &[],
        &f,
        "line 1: missing record header: expected '>' (FASTA) or '@' (FASTQ), found 'A'",
    );
}

#[test]
fn fastq_quality_length_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.fq",
        b"@r1\nACGTAC\n+\nIIIIII\n@r2 second\nACGT\n+\nIII\n@r3\nA\n+\nI\n",
    );
    fails(
        &f,
        &[],
        &f,
        "record 'r2' (line 8): quality length 3 differs from sequence length 4",
    );
}

#[test]
fn truncated_gzip_and_bgzf() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["small_gzip.fa.gz", "small.fa.gz"] {
        let bytes = std::fs::read(seq_data(name)).unwrap();
        let f = write(dir.path(), name, &bytes[..bytes.len() * 2 / 3]);
        fails(&f, &[], &f, "truncated compressed stream");
    }
}

#[test]
fn binary_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "garbage.bin",
        &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0],
    );
    fails(
        &f,
        &[],
        &f,
        "line 1: missing record header: expected '>' (FASTA) or '@' (FASTQ), found byte 0x7f",
    );
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "empty.fa", b"");
    fails(&f, &[], &f, "empty input");
}

#[test]
fn directory_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    fails(dir.path(), &[], dir.path(), "is a directory");
    let missing = dir.path().join("missing.fa");
    fails(&missing, &[], &missing, "cannot open");
}

#[test]
fn missing_fai_entry_unknown_sequence_and_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let fa = dir.path().join("small.fa");
    std::fs::copy(seq_data("small.fa"), &fa).unwrap();
    // A .fai that lacks kp_c.
    let fai = std::fs::read_to_string(seq_data("small.fa.fai")).unwrap();
    let partial: String = fai
        .lines()
        .filter(|l| !l.starts_with("kp_c"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("small.fa.fai"), partial).unwrap();
    fails(
        &fa,
        &["--region", "kp_c:1-10"],
        &fa,
        "unknown sequence 'kp_c' (not in the .fai index)",
    );
    fails(&fa, &["--region", "chrZ"], &fa, "unknown sequence 'chrZ'");
    fails(
        &fa,
        &["--region", "kp_a:4990-5001"],
        &fa,
        "region kp_a:4990-5001 is out of range: sequence 'kp_a' has 5000 bases",
    );
}

#[test]
fn bad_bed_vocab_and_region_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let bed = write(dir.path(), "bad.bed", b"kp_a\t0\t10\nkp_a\t20\tten\n");
    fails(
        &seq_data("small.fa"),
        &["--regions", bed.to_str().unwrap()],
        &bed,
        "line 2: invalid BED record",
    );
    let vocab = write(dir.path(), "vocab.txt", b"[PAD]\nAAA\n");
    fails(
        &seq_data("small.fa"),
        &["--vocab", vocab.to_str().unwrap()],
        &vocab,
        "no unknown token ([UNK]",
    );
    fails(
        &seq_data("small.fa"),
        &["--region", "kp_a:0-5"],
        Path::new("--region"),
        "1-based",
    );
}

#[test]
fn gzip_cannot_be_indexed() {
    let f = seq_data("small_gzip.fa.gz");
    fails(&f, &["--region", "kp_a:1-10"], &f, "not BGZF");
}

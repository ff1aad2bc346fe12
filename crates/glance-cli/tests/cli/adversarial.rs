//! Hostile input (issue 9): every case runs the `glance` binary on a broken, truncated,
//! absurd or oversized input and checks the exact one-line error, exit status 1, and that
//! nothing was written to the output directory. The table in docs/robustness.md lists the
//! same cases and lines (`table_in_docs_lists_every_case` keeps the two in step).
//!
//! Inputs are generated here (or derived from test-data/) in a temporary directory that
//! is the working directory of the command, so that error lines hold relative paths.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{data, succeeded};

/// A scratch directory holding the inputs and an empty `out/` for the outputs.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> &Scratch {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, bytes).unwrap();
        self
    }

    /// Runs glance with `args` in the scratch directory; checks exit 1, exactly the
    /// stderr line `want`, and an `out/` directory still empty.
    fn fails(&self, args: &[&str], want: &str) {
        let out = Command::new(env!("CARGO_BIN_EXE_glance"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("GLANCE_MODEL")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end(), want, "{args:?}");
        let left: Vec<_> = std::fs::read_dir(self.path("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

const FASTA: &[u8] = b">a\nACGTACGTAC\nGTACGTACGT\nACG\n";

fn tokenize(s: &Scratch, input: &str, extra: &[&str], want: &str) {
    let mut args = vec!["tokenize", "-q", "-o", "out/t.npy", input];
    args.extend_from_slice(extra);
    s.fails(&args, want);
}

// ---------------------------------------------------------------- FASTA / FASTQ

#[test]
fn fasta_header_longer_than_limit() {
    let s = Scratch::new();
    let mut f = b">".to_vec();
    f.resize(2 << 20, b'x');
    f.extend_from_slice(b"\nACGT\n");
    s.write("a.fa", f);
    tokenize(
        &s,
        "a.fa",
        &[],
        "error: a.fa: line 1: line longer than 1048576 bytes (header and '+' lines are limited; sequence and quality lines are not)",
    );
}

#[test]
fn fastq_plus_line_longer_than_limit() {
    let s = Scratch::new();
    let mut f = b"@r\nACGT\n+".to_vec();
    f.resize(f.len() + (2 << 20), b'r');
    f.extend_from_slice(b"\nIIII\n");
    s.write("r.fq", f);
    tokenize(
        &s,
        "r.fq",
        &[],
        "error: r.fq: line 3: line longer than 1048576 bytes (header and '+' lines are limited; sequence and quality lines are not)",
    );
}

#[test]
fn fastq_input_ends_inside_quality() {
    let s = Scratch::new();
    s.write("r.fq", b"@r1\nACGTACGT\n+\nIIII\n");
    tokenize(
        &s,
        "r.fq",
        &[],
        "error: r.fq: record 'r1' (line 4): quality length 4 differs from sequence length 8 (input ends)",
    );
}

#[test]
fn fastq_quality_line_far_longer_than_sequence() {
    let s = Scratch::new();
    let mut f = b"@r1\nAC\n+\n".to_vec();
    f.resize(f.len() + 100_000, b'I');
    f.push(b'\n');
    s.write("r.fq", f);
    tokenize(
        &s,
        "r.fq",
        &[],
        "error: r.fq: record 'r1' (line 4): quality length 100000 differs from sequence length 2",
    );
}

#[test]
fn fastq_missing_plus_line() {
    let s = Scratch::new();
    s.write("r.fq", b"@r1\nACGT\n");
    tokenize(
        &s,
        "r.fq",
        &[],
        "error: r.fq: record 'r1' (line 3): input ends inside the sequence: missing '+' line and qualities",
    );
}

#[test]
fn binary_garbage_is_not_sequence() {
    let s = Scratch::new();
    s.write("x.fa", [0u8, 159, 146, 150, 7, 1, 2]);
    tokenize(
        &s,
        "x.fa",
        &[],
        "error: x.fa: line 1: missing record header: expected '>' (FASTA) or '@' (FASTQ), found byte 0x00",
    );
}

#[test]
fn binary_bytes_inside_a_sequence_line() {
    let s = Scratch::new();
    s.write("x.fa", b">a\nACGTACGT\nACG\x00\x07TACG\nACGT\n");
    tokenize(
        &s,
        "x.fa",
        &[],
        "error: x.fa: record 'a' (line 3): byte 0x00 in a sequence line: sequences hold printable letters only (is this a binary file?)",
    );
}

#[test]
fn binary_bytes_inside_a_region() {
    // read through the index (--region), the same error as the streaming reader's
    let s = Scratch::new();
    s.write("x.fa", b">a\nACGTACGT\nACG\x00\x07TAC\nACGT\n");
    tokenize(
        &s,
        "x.fa",
        &["--region", "a:1-20"],
        "error: x.fa: record 'a' (line 3): byte 0x00 in a sequence line: sequences hold printable letters only (is this a binary file?)",
    );
}

#[test]
fn empty_file() {
    let s = Scratch::new();
    s.write("e.fa", b"\n\n\n");
    tokenize(
        &s,
        "e.fa",
        &[],
        "error: e.fa: empty input: no FASTA or FASTQ records",
    );
}

#[test]
fn header_without_name() {
    let s = Scratch::new();
    s.write("a.fa", b">a\nAC\n> \nACGT\n");
    tokenize(
        &s,
        "a.fa",
        &[],
        "error: a.fa: line 3: record header has no name",
    );
}

#[test]
fn header_not_utf8() {
    let s = Scratch::new();
    s.write("a.fa", b">a\xff\xfe\nACGT\n");
    tokenize(
        &s,
        "a.fa",
        &[],
        "error: a.fa: line 1: header is not valid UTF-8",
    );
}

#[test]
fn truncated_gzip() {
    let s = Scratch::new();
    let gz = std::fs::read(data("seq/small_gzip.fa.gz")).unwrap();
    s.write("t.fa.gz", &gz[..gz.len() / 2]);
    tokenize(
        &s,
        "t.fa.gz",
        &[],
        "error: t.fa.gz: line 64: truncated compressed stream: incomplete deflate stream",
    );
}

#[test]
fn corrupt_bgzf_block() {
    let s = Scratch::new();
    let mut gz = std::fs::read(data("seq/small.fa.gz")).unwrap();
    // Inside the first block's deflate data.
    for b in &mut gz[40..60] {
        *b ^= 0x5a;
    }
    s.write("c.fa.gz", gz);
    tokenize(
        &s,
        "c.fa.gz",
        &[],
        "error: c.fa.gz: line 1: corrupt compressed stream: invalid data",
    );
}

// ---------------------------------------------------------------- .fai / .gzi / regions

#[test]
fn fai_length_overflows() {
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("a.fa.fai", b"a\t18446744073709551615\t3\t10\t11\n");
    tokenize(
        &s,
        "a.fa",
        &["--region", "a:1-5"],
        "error: a.fa: a.fa.fai: line 1: invalid .fai line: length 18446744073709551615 at offset 3 ends beyond 2^64 bytes",
    );
}

#[test]
fn fai_length_beyond_file() {
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("a.fa.fai", b"a\t1000000000000\t3\t10\t11\n");
    tokenize(
        &s,
        "a.fa",
        &["--region", "a:1-5"],
        "error: a.fa: a.fa.fai: sequence 'a' (1000000000000 bases at byte 3) ends beyond the file's 29 bytes; is the .fai stale?",
    );
}

#[test]
fn fai_zero_line_bases() {
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("a.fa.fai", b"a\t23\t3\t0\t11\n");
    tokenize(
        &s,
        "a.fa",
        &["--region", "a:1-5"],
        "error: a.fa: a.fa.fai: line 1: invalid .fai line: line bases must be at least 1 and at most the line width",
    );
}

#[test]
fn fai_not_a_number() {
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("a.fa.fai", b"a\t-23\t3\t10\t11\n");
    tokenize(
        &s,
        "a.fa",
        &["--region", "a:1-5"],
        "error: a.fa: a.fa.fai: line 1: invalid .fai line: length '-23' is not a number",
    );
}

#[test]
fn fai_missing_columns() {
    let s = Scratch::new();
    s.write("a.fa", FASTA).write("a.fa.fai", b"a\t23\t3\n");
    tokenize(
        &s,
        "a.fa",
        &["--region", "a:1-5"],
        "error: a.fa: a.fa.fai: line 1: invalid .fai line: expected 5 tab-separated columns",
    );
}

#[test]
fn fai_line_longer_than_limit() {
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("a.fa.fai", vec![b'a'; (1 << 20) + 100]);
    tokenize(
        &s,
        "a.fa",
        &["--region", "a:1-5"],
        "error: a.fa: a.fa.fai: line 1: cannot read: line longer than 1048576 bytes",
    );
}

#[test]
fn fai_stale_offset_hits_a_header() {
    let s = Scratch::new();
    s.write("a.fa", b">a\nACGT\n>b\nACGT\n")
        .write("a.fa.fai", b"a\t8\t3\t4\t5\nb\t4\t11\t4\t5\n");
    tokenize(
        &s,
        "a.fa",
        &["--region", "a:1-8"],
        "error: a.fa: sequence 'a': met a '>' header inside the region; is the .fai stale?",
    );
}

#[test]
fn gzip_that_is_not_bgzf_cannot_be_indexed() {
    let s = Scratch::new();
    s.write(
        "g.fa.gz",
        std::fs::read(data("seq/small_gzip.fa.gz")).unwrap(),
    );
    tokenize(
        &s,
        "g.fa.gz",
        &["--region", "chr1:1-5"],
        "error: g.fa.gz: gzip input that is not BGZF cannot be indexed; recompress it with bgzip",
    );
}

#[test]
fn bgzf_without_gzi_and_a_bad_block_size() {
    let s = Scratch::new();
    let mut gz = std::fs::read(data("seq/small.fa.gz")).unwrap();
    // BSIZE of the first block (bytes 16-17) claims a 1-byte block.
    gz[16] = 0;
    gz[17] = 0;
    s.write("b.fa.gz", gz);
    tokenize(
        &s,
        "b.fa.gz",
        &["--region", "chr1:1-5"],
        "error: b.fa.gz: cannot index BGZF: block at compressed offset 0 claims 1 bytes, less than a header and footer",
    );
}

#[test]
fn region_start_zero() {
    let s = Scratch::new();
    s.write("a.fa", FASTA);
    tokenize(
        &s,
        "a.fa",
        &["--region", "a:0-5"],
        "error: --region: invalid region 'a:0-5': positions are 1-based: start must be at least 1",
    );
}

#[test]
fn region_end_overflows_u64() {
    let s = Scratch::new();
    s.write("a.fa", FASTA);
    tokenize(
        &s,
        "a.fa",
        &["--region", "a:1-18446744073709551616"],
        "error: --region: invalid region 'a:1-18446744073709551616': end '18446744073709551616' is not a whole number",
    );
}

#[test]
fn region_past_sequence_end() {
    let s = Scratch::new();
    s.write("a.fa", FASTA);
    tokenize(
        &s,
        "a.fa",
        &["--region", "a:20-18446744073709551615"],
        "error: a.fa: region a:20-18446744073709551615 is out of range: sequence 'a' has 23 bases",
    );
}

#[test]
fn region_unknown_sequence() {
    let s = Scratch::new();
    s.write("a.fa", FASTA);
    tokenize(
        &s,
        "a.fa",
        &["--region", "chrZ:1-2"],
        "error: a.fa: unknown sequence 'chrZ' (not in the .fai index)",
    );
}

#[test]
fn bed_start_after_end() {
    let s = Scratch::new();
    s.write("a.fa", FASTA).write("r.bed", b"a\t0\t5\na\t9\t4\n");
    tokenize(
        &s,
        "a.fa",
        &["--regions", "r.bed"],
        "error: r.bed: line 2: invalid BED record: end 4 is before start 9",
    );
}

#[test]
fn bed_line_longer_than_limit() {
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("r.bed", vec![b'a'; (1 << 20) + 100]);
    tokenize(
        &s,
        "a.fa",
        &["--regions", "r.bed"],
        "error: r.bed: line 1: cannot read: line longer than 1048576 bytes",
    );
}

// ---------------------------------------------------------------- tokenizer options

#[test]
fn k_too_large() {
    let s = Scratch::new();
    s.write("a.fa", FASTA);
    tokenize(
        &s,
        "a.fa",
        &["-k", "13"],
        "error: k must be in 1..=12, got 13",
    );
}

#[test]
fn vocab_line_longer_than_limit() {
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("vocab.txt", vec![b'A'; (1 << 20) + 100]);
    tokenize(
        &s,
        "a.fa",
        &["--vocab", "vocab.txt"],
        "error: vocab.txt: line 1: line longer than 1048576 bytes",
    );
}

/// A vocab.txt of every 2-mer after `[UNK]`, changed by `edit`.
fn vocab_k2(edit: impl Fn(&mut Vec<String>)) -> String {
    let mut lines = vec!["[UNK]".to_string()];
    for a in ["A", "C", "G", "T"] {
        for b in ["A", "C", "G", "T"] {
            lines.push(format!("{a}{b}"));
        }
    }
    edit(&mut lines);
    lines.join("\n") + "\n"
}

#[test]
fn vocab_with_a_duplicated_token() {
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("vocab.txt", vocab_k2(|l| l.insert(5, "CA".into())));
    tokenize(
        &s,
        "a.fa",
        &["--vocab", "vocab.txt"],
        "error: vocab.txt: line 7: token 'CA' repeats line 6 (every token needs one id)",
    );
}

#[test]
fn vocab_missing_a_kmer() {
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("vocab.txt", vocab_k2(|l| l.retain(|t| t != "GT")));
    tokenize(
        &s,
        "a.fa",
        &["--vocab", "vocab.txt"],
        "error: vocab.txt: k-mer 'GT' has no line: the 15 k-mers listed (up to line 16) are not all 16 of length 2",
    );
}

// ---------------------------------------------------------------- motif files

fn scan(s: &Scratch, motifs: &str, want: &str) {
    s.write("a.fa", FASTA);
    s.fails(
        &[
            "scan",
            "-q",
            "--motifs",
            motifs,
            "a.fa",
            "-o",
            "out/hits.tsv",
        ],
        want,
    );
}

const MEME_HEAD: &str = "MEME version 4\n\nALPHABET= ACGT\n\n";

#[test]
fn meme_not_finite() {
    let s = Scratch::new();
    s.write(
        "m.meme",
        format!("{MEME_HEAD}MOTIF m1\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 NaN\n0.25 0.25 0.25 0.25\n"),
    );
    scan(
        &s,
        "m.meme",
        "error: m.meme: line 7: not a finite number: \"NaN\"",
    );
}

#[test]
fn meme_width_larger_than_rows() {
    let s = Scratch::new();
    s.write(
        "m.meme",
        format!("{MEME_HEAD}MOTIF m1\nletter-probability matrix: alength= 4 w= 99999999999\n0.25 0.25 0.25 0.25\n"),
    );
    scan(
        &s,
        "m.meme",
        "error: m.meme: line 6: motif m1: w= 99999999999 but 1 rows follow",
    );
}

#[test]
fn meme_probabilities_overflow() {
    let s = Scratch::new();
    s.write(
        "m.meme",
        format!(
            "{MEME_HEAD}MOTIF m1\nletter-probability matrix: alength= 4 w= 1\n1e308 1e308 0 0\n"
        ),
    );
    scan(
        &s,
        "m.meme",
        "error: m.meme: motif m1: position 1: probabilities sum to inf (expected 1)",
    );
}

#[test]
fn meme_rna_alphabet() {
    let s = Scratch::new();
    s.write(
        "m.meme",
        "MEME version 4\n\nALPHABET= ACGU\n\nMOTIF m1\nletter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.25 0.25\n",
    );
    scan(
        &s,
        "m.meme",
        "error: m.meme: line 3: unsupported alphabet \"ACGU\": glance scans DNA motifs (ACGT)",
    );
}

#[test]
fn jaspar_missing_row() {
    let s = Scratch::new();
    s.write("m.jaspar", ">MA1 x\nA [ 1 2 ]\nC [ 3 4 ]\nG [ 5 6 ]\n");
    scan(
        &s,
        "m.jaspar",
        "error: m.jaspar: line 1: motif MA1: missing row T",
    );
}

#[test]
fn jaspar_zero_counts() {
    let s = Scratch::new();
    s.write(
        "m.jaspar",
        ">MA1 x\nA [ 0 0 ]\nC [ 0 0 ]\nG [ 0 0 ]\nT [ 0 0 ]\n",
    );
    scan(
        &s,
        "m.jaspar",
        "error: m.jaspar: motif MA1: position 1: probabilities sum to 0 (expected 1)",
    );
}

#[test]
fn pfm_three_rows() {
    let s = Scratch::new();
    s.write("m.pfm", "1 2 3\n4 5 6\n7 8 9\n");
    scan(
        &s,
        "m.pfm",
        "error: m.pfm: line 1: motif m: 3 rows, expected 4 (A, C, G, T)",
    );
}

#[test]
fn transfac_short_row() {
    let s = Scratch::new();
    s.write(
        "m.transfac",
        "ID x\nP0 A C G T\n01 1 2 3 4\n02 1 2 3\nXX\n//\n",
    );
    scan(
        &s,
        "m.transfac",
        "error: m.transfac: line 4: ragged matrix: row has 3 values, expected 4",
    );
}

#[test]
fn homer_infinite_probability() {
    let s = Scratch::new();
    s.write(
        "m.motif",
        ">ACGT\tname\t5.0\n0.25 0.25 0.25 0.25\n0.5 0.5 inf 0\n",
    );
    scan(
        &s,
        "m.motif",
        "error: m.motif: line 3: not a finite number: \"inf\"",
    );
}

#[test]
fn motif_format_unknown() {
    let s = Scratch::new();
    s.write("m.txt", "just some text\n");
    scan(
        &s,
        "m.txt",
        "error: m.txt: line 1: cannot tell the motif format (MEME, JASPAR, .pfm, TRANSFAC or HOMER)",
    );
}

#[test]
fn background_negative_probability() {
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("bg.txt", "A 0.3\nC 0.2\nG 0.2\nT -1\n");
    let motifs = data("motifs/subset10.meme");
    s.fails(
        &[
            "scan",
            "-q",
            "--motifs",
            motifs.to_str().unwrap(),
            "--bfile",
            "bg.txt",
            "a.fa",
            "-o",
            "out/hits.tsv",
        ],
        "error: bg.txt: line 4: probability -1 of T must lie in (0, 1]",
    );
}

// ---------------------------------------------------------------- models

/// A copy of test-data/models/native_alibi in `s` as `name`, its safetensors header
/// edited by `edit` (the length prefix is recomputed), or replaced whole by `raw`.
fn model(s: &Scratch, name: &str, edit: impl Fn(String) -> String, raw: Option<Vec<u8>>) {
    let src = data("models/native_alibi");
    let config = std::fs::read(src.join("config.json")).unwrap();
    s.write(&format!("{name}/config.json"), config);
    let bytes = raw.unwrap_or_else(|| {
        let st = std::fs::read(src.join("model.safetensors")).unwrap();
        let n = u64::from_le_bytes(st[..8].try_into().unwrap()) as usize;
        let header = edit(String::from_utf8(st[8..8 + n].to_vec()).unwrap());
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&st[8 + n..]);
        out
    });
    s.write(&format!("{name}/model.safetensors"), bytes);
}

fn embed(s: &Scratch, model: &str, want: &str) {
    s.write("a.fa", FASTA);
    s.fails(
        &[
            "embed", "-q", "--model", model, "--bin", "10", "a.fa", "-o", "out/e",
        ],
        want,
    );
}

#[test]
fn safetensors_header_length_absurd() {
    let s = Scratch::new();
    let mut raw = (1u64 << 63).to_le_bytes().to_vec();
    raw.extend_from_slice(b"{}");
    model(&s, "m", |h| h, Some(raw));
    embed(
        &s,
        "m",
        "error: m: cannot load model: m/model.safetensors: invalid safetensors file: header too large",
    );
}

#[test]
fn safetensors_header_length_beyond_file() {
    let s = Scratch::new();
    let mut raw = 5000u64.to_le_bytes().to_vec();
    raw.extend_from_slice(b"{}");
    model(&s, "m", |h| h, Some(raw));
    embed(
        &s,
        "m",
        "error: m: cannot load model: m/model.safetensors: invalid safetensors file: invalid header length",
    );
}

#[test]
fn safetensors_empty_file() {
    let s = Scratch::new();
    model(&s, "m", |h| h, Some(Vec::new()));
    embed(
        &s,
        "m",
        "error: m: cannot load model: m/model.safetensors: invalid safetensors file: header too small",
    );
}

#[test]
fn safetensors_huge_tensor_shape() {
    let s = Scratch::new();
    model(
        &s,
        "m",
        |h| {
            h.replacen(
                "\"shape\":[21,24]",
                "\"shape\":[1099511627776,1099511627776]",
                1,
            )
        },
        None,
    );
    embed(
        &s,
        "m",
        "error: m: cannot load model: m/model.safetensors: invalid safetensors file: overflow computing buffer size from shape and/or element type",
    );
}

#[test]
fn safetensors_offsets_beyond_file() {
    let s = Scratch::new();
    model(
        &s,
        "m",
        |h| h.replacen("[2016,2112]", "[2016,4611686018427387904]", 1),
        None,
    );
    embed(
        &s,
        "m",
        "error: m: cannot load model: m/model.safetensors: invalid safetensors file: invalid shape, data type, or offset for tensor",
    );
}

#[test]
fn safetensors_truncated() {
    let s = Scratch::new();
    let st = std::fs::read(data("models/native_alibi/model.safetensors")).unwrap();
    model(&s, "m", |h| h, Some(st[..st.len() / 2].to_vec()));
    embed(
        &s,
        "m",
        "error: m: cannot load model: m/model.safetensors: invalid safetensors file: incomplete metadata, file not fully covered",
    );
}

#[test]
fn safetensors_header_not_json() {
    let s = Scratch::new();
    let mut raw = 4u64.to_le_bytes().to_vec();
    raw.extend_from_slice(b"abcd");
    model(&s, "m", |h| h, Some(raw));
    embed(
        &s,
        "m",
        "error: m: cannot load model: m/model.safetensors: invalid safetensors file: invalid JSON in header: expected value at line 1 column 1",
    );
}

/// A copy of native_alibi whose config.json is `edit`ed (as text).
fn config(s: &Scratch, edit: impl Fn(String) -> String) {
    model(s, "m", |h| h, None);
    let text = std::fs::read_to_string(data("models/native_alibi/config.json")).unwrap();
    s.write("m/config.json", edit(text));
}

#[test]
fn config_radius_too_large_to_stream() {
    let s = Scratch::new();
    config(&s, |c| {
        c.replace("\"sliding:r=4\"", "\"sliding:r=18446744073709551615\"")
    });
    embed(
        &s,
        "m",
        "error: a.fa: a job of 16384 core tokens plus a halo of 18446744073709551615 tokens each side is over the limit of 4194304 tokens (the attention reach of the model is too large to stream)",
    );
}

#[test]
fn config_d_model_absurd() {
    let s = Scratch::new();
    config(&s, |c| {
        c.replace("\"d_model\": 24", "\"d_model\": 4611686018427387904")
            .replace("\"heads\": 3", "\"heads\": 1")
    });
    embed(
        &s,
        "m",
        "error: m: cannot load model: m/model.safetensors: tensor `embed.tokens.weight` has shape [21, 24], expected [21, 4611686018427387904]",
    );
}

#[test]
fn config_heads_zero() {
    let s = Scratch::new();
    config(&s, |c| c.replace("\"heads\": 3", "\"heads\": 0"));
    embed(
        &s,
        "m",
        "error: m: cannot load model: m/config.json: d_model (24) must be a positive multiple of heads (0)",
    );
}

#[test]
fn config_truncated_json() {
    let s = Scratch::new();
    config(&s, |c| c[..c.len() / 2].to_string());
    embed(
        &s,
        "m",
        "error: m: cannot load model: m/config.json: invalid JSON: EOF while parsing a value at line 14 column 15",
    );
}

#[test]
fn chunk_tokens_overflow() {
    let s = Scratch::new();
    model(&s, "m", |h| h, None);
    s.write("a.fa", FASTA);
    s.fails(
        &[
            "embed",
            "-q",
            "--model",
            "m",
            "--bin",
            "10",
            "--chunk-tokens",
            "18446744073709551615",
            "a.fa",
            "-o",
            "out/e",
        ],
        "error: a.fa: a job of 18446744073709551615 core tokens plus a halo of 6 tokens each side is over the limit of 4194304 tokens (the attention reach of the model is too large to stream)",
    );
}

/// Bins of 2^64-1 bases every base (and one bin every 2^64-1 bases): `bin + start`
/// saturates in every command instead of overflowing (these panicked in debug builds).
#[test]
fn windows_at_u64_max_do_not_overflow() {
    let s = Scratch::new();
    model(&s, "m", |h| h, None);
    s.write("a.fa", FASTA);
    let motifs = data("motifs/subset10.meme");
    let motifs = motifs.to_str().unwrap();
    let max = "18446744073709551615";
    let runs: [(&[&str], &str, usize); 4] = [
        (
            &[
                "embed", "-q", "--model", "m", "--bin", max, "--step", "1", "a.fa", "-o", "out/e",
            ],
            "out/e.bed",
            23,
        ),
        (
            &[
                "score", "-q", "--motifs", motifs, "--bin", max, "--step", "1", "a.fa", "-o",
                "out/s",
            ],
            "out/s.bed",
            23,
        ),
        (
            &[
                "run", "-q", "--motifs", motifs, "--model", "m", "--bin", max, "--step", "1",
                "a.fa", "--outdir", "out/r",
            ],
            "out/r/regions.bed",
            23,
        ),
        (
            &[
                "run", "-q", "--motifs", motifs, "--model", "m", "--bin", "5", "--step", max,
                "a.fa", "--outdir", "out/r2",
            ],
            "out/r2/regions.bed",
            1,
        ),
    ];
    for (args, bed, rows) in runs {
        succeeded(
            Command::new(env!("CARGO_BIN_EXE_glance"))
                .args(args)
                .current_dir(s.dir.path())
                .env_remove("GLANCE_MODEL")
                .output()
                .unwrap(),
            &format!("{args:?}: "),
        );
        let text = std::fs::read_to_string(s.path(bed)).unwrap();
        assert_eq!(text.lines().count(), rows, "{args:?}: {text}");
    }
}

// ---------------------------------------------------------------- pipeline config

fn check_config(s: &Scratch, toml: &str, want: &str) {
    s.write("c.toml", toml);
    s.fails(&["config", "-q", "--check", "c.toml"], want);
}

#[test]
fn toml_unclosed_table() {
    check_config(
        &Scratch::new(),
        "[regions\nbin = 0\n",
        "error: c.toml: TOML parse error at line 1, column 9; 1 | [regions; |         ^; unclosed table, expected `]`",
    );
}

#[test]
fn toml_integer_overflow() {
    check_config(
        &Scratch::new(),
        "[regions]\nbin = 18446744073709551616\n",
        "error: c.toml: TOML parse error at line 2, column 7; 2 | bin = 18446744073709551616; |       ^^^^^^^^^^^^^^^^^^^^; invalid type: integer `18446744073709551616` as i128, expected u64",
    );
}

#[test]
fn toml_zero_bin() {
    check_config(
        &Scratch::new(),
        "[regions]\nbin = 0\n",
        "error: c.toml: regions.bin must be at least 1",
    );
}

// ---------------------------------------------------------------- merge

#[test]
fn merge_manifest_not_json() {
    let s = Scratch::new();
    s.write("s1/manifest.json", b"{\"glance_version\": ");
    s.fails(
        &["merge", "-q", "--outdir", "out", "s1"],
        "error: s1/manifest.json: EOF while parsing a value at line 1 column 19",
    );
}

/// Two shards of `glance run` over test-data/seq/mixed.fa (embeddings only) in
/// `s/s1`, `s/s2`.
fn shards(s: &Scratch) {
    let model = data("models/native_alibi");
    let input = data("seq/mixed.fa");
    for i in 1..=2 {
        succeeded(
            Command::new(env!("CARGO_BIN_EXE_glance"))
                .args(["run", "-q", "--hits", "false", "--motif-scores", "false"])
                .args(["--bin", "40", "--step", "30", "--model"])
                .arg(&model)
                .arg(&input)
                .args(["--shard", &format!("{i}/2"), "--outdir", &format!("s{i}")])
                .current_dir(s.dir.path())
                .output()
                .unwrap(),
            "",
        );
    }
}

#[test]
fn merge_shard_with_absurd_record_lengths() {
    use glance::io::FileEntry;
    use glance::workflow::Manifest;
    let s = Scratch::new();
    shards(&s);
    // A hostile shard: every record 10^18 bases long, checksums updated to match.
    for d in ["s1", "s2"] {
        let dir = s.path(d);
        let rec = std::fs::read_to_string(dir.join("records.tsv")).unwrap();
        let rec: Vec<String> = rec
            .lines()
            .map(|l| {
                let mut f: Vec<&str> = l.split('\t').collect();
                if !l.starts_with('#') {
                    f[3] = "1000000000000000000";
                }
                f.join("\t")
            })
            .collect();
        std::fs::write(dir.join("records.tsv"), rec.join("\n") + "\n").unwrap();
        let mut m = Manifest::read(&dir).unwrap().unwrap();
        for o in &mut m.outputs {
            *o = FileEntry::of(&dir.join(&o.path), o.path.clone()).unwrap();
        }
        m.write(&dir).unwrap();
    }
    s.fails(
        &["merge", "-q", "--outdir", "out", "s1", "s2"],
        "error: s1/records.tsv: its lengths give 100000000000000002 regions but the shards' regions.bed hold 6: a shard is damaged",
    );
}

// ---------------------------------------------------------------- docs

/// Every expected error line of this file appears in docs/robustness.md's table.
#[test]
fn table_in_docs_lists_every_case() {
    let me = include_str!("adversarial.rs");
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/robustness.md"),
    )
    .unwrap();
    let mut n = 0;
    for line in me.lines() {
        let t = line.trim();
        let Some(rest) = t.strip_prefix("\"error: ") else {
            continue;
        };
        let rest = rest.strip_suffix(',').unwrap_or(rest);
        let want = format!("error: {}", rest.strip_suffix('"').unwrap_or(rest));
        let want = want.replace("\\\"", "\"");
        let cell = want.replace('|', "\\|");
        assert!(doc.contains(&cell), "docs/robustness.md lacks `{want}`");
        n += 1;
    }
    assert!(n >= 30, "only {n} cases");
}

#[test]
fn zero_length_bed_intervals_are_valid_empty_regions() {
    // start == end is legal BED (an insertion point): an empty region, not an error
    let s = Scratch::new();
    s.write("a.fa", FASTA)
        .write("r.bed", b"a\t4\t4\na\t0\t20\na\t23\t23\n");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_glance"))
            .args(args)
            .current_dir(s.path(""))
            .env_remove("GLANCE_MODEL")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{args:?}: {stderr}");
    };
    run(&[
        "tokenize",
        "-q",
        "a.fa",
        "--regions",
        "r.bed",
        "-o",
        "out/t.npy",
    ]);
    let index = std::fs::read_to_string(s.path("out/t.index.tsv")).unwrap();
    let counts: Vec<&str> = index
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    assert_eq!(counts, ["0", "15", "0"], "{index}");
    run(&["embed", "-q", "a.fa", "--regions", "r.bed", "-o", "out/e"]);
    let bed = std::fs::read_to_string(s.path("out/e.bed")).unwrap();
    let names: Vec<&str> = bed.lines().map(|l| l.split('\t').nth(3).unwrap()).collect();
    assert_eq!(names, ["a:5-4;empty", "a:1-20", "a:24-23;empty"], "{bed}");
    let (rows, d, values) = common::read_npy_f32(&s.path("out/e.npy"));
    assert_eq!(rows, 3);
    assert!(
        values[..d].iter().all(|&v| v == 0.0),
        "an empty region is zeros"
    );
    assert!(values[d..2 * d].iter().any(|&v| v != 0.0));
    run(&["score", "-q", "a.fa", "--regions", "r.bed", "-o", "out/s"]);
    let tsv = std::fs::read_to_string(s.path("out/s.tsv")).unwrap();
    assert!(
        tsv.lines().nth(1).unwrap().starts_with("a\t4\t4\t"),
        "{tsv}"
    );
}

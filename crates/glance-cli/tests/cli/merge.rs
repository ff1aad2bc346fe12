//! `glance merge`: shards of `glance run --shard I/N` gather into exactly what one run
//! writes (q-values recomputed over all shards), and incomplete or mismatched shard sets
//! are refused.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crate::common::{data, data_arg, failure_stderr, glance, merge};

/// Runs `glance run` over two inputs (9 records) into `out`, with `extra` options.
fn run(out: &Path, extra: &[&str]) {
    glance()
        .args([
            "run",
            &data_arg("workflow/multi.fa.gz"),
            &data_arg("seq/small.fa"),
        ])
        .args([
            "--motifs",
            &data_arg("motifs/subset10.meme"),
            "--model",
            &data_arg("models/native_alibi"),
        ])
        .args(["--bin", "700", "--step", "500", "-q"])
        .args(extra)
        .arg("--outdir")
        .arg(out)
        .assert()
        .success();
}

const OUTPUTS: [&str; 8] = [
    "regions.bed",
    "embeddings.npy",
    "motif_scores.npy",
    "motif_scores.tsv",
    "hits.tsv",
    "records.tsv",
    "scan_tallies.tsv",
    "scan_hits.tsv",
];

/// Merges `shards` into `merged` and asserts every output equals `whole`'s.
fn merge_equals_whole(shards: &[PathBuf], merged: &Path, whole: &Path, what: &str) {
    merge(shards, merged);
    for f in OUTPUTS {
        let a = std::fs::read(whole.join(f)).unwrap();
        let b = std::fs::read(merged.join(f)).unwrap();
        assert!(a == b, "{f} differs after merging {what}");
    }
}

#[test]
fn merged_shards_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    run(&whole, &[]);
    for n in [2usize, 4] {
        let shards: Vec<PathBuf> = (1..=n)
            .map(|i| dir.path().join(format!("s{n}_{i}")))
            .collect();
        for (i, s) in shards.iter().enumerate() {
            run(s, &["--shard", &format!("{}/{n}", i + 1)]);
        }
        // Shards hold fewer hits, with q-values over their own tests only.
        let shard_hits = std::fs::read_to_string(shards[0].join("hits.tsv")).unwrap();
        let whole_hits = std::fs::read_to_string(whole.join("hits.tsv")).unwrap();
        assert!(shard_hits.lines().count() < whole_hits.lines().count());
        let merged = dir.path().join(format!("merged{n}"));
        let mut reversed = shards.clone();
        reversed.reverse();
        merge_equals_whole(&reversed, &merged, &whole, &format!("{n} shards"));
        assert!(merged.join("manifest.json").exists());
    }
}

/// Runs `glance run` over the multi-record input with `model` and `extra` options.
fn run_with(out: &Path, model: &str, extra: &[&str]) {
    glance()
        .args(["run", &data_arg("workflow/multi.fa.gz")])
        .args([
            "--motifs",
            &data_arg("motifs/subset10.meme"),
            "--model",
            &data_arg(model),
        ])
        .arg("-q")
        .args(extra)
        .arg("--outdir")
        .arg(out)
        .assert()
        .success();
}

#[test]
fn pieces_of_long_records_merge_exactly() {
    // Records of up to 60 kb cut into 7 kb pieces (not a multiple of the bin, the step
    // or the encoder's jobs), dealt to 3 shards: every shard computes its pieces with
    // the rest of the record as context, and the merge equals one run byte for byte.
    // native_mixed has block and dilated layers (absolute phase) in small jobs;
    // bert_k3 runs learned-position windows whose overlaps (wider than a bin here) are
    // averaged.
    for (model, extra) in [
        (
            "models/native_mixed",
            &["--chunk-tokens", "300", "--bin", "700", "--step", "500"][..],
        ),
        ("models/bert_k3", &["--overlap", "40", "--bin", "25"][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole");
        run_with(&whole, model, extra);
        let n = 3;
        let shards: Vec<PathBuf> = (1..=n).map(|i| dir.path().join(format!("s{i}"))).collect();
        for (i, s) in shards.iter().enumerate() {
            let shard = format!("{}/{n}", i + 1);
            run_with(
                s,
                model,
                &[extra, &["--shard", &shard, "--shard-span", "7000"]].concat(),
            );
        }
        // Every shard holds a part of the longest record.
        for s in &shards {
            let bed = std::fs::read_to_string(s.join("regions.bed")).unwrap();
            assert!(
                bed.lines().any(|l| l.starts_with("a\t")),
                "{model}: {}",
                s.display()
            );
        }
        let merged = dir.path().join("merged");
        merge_equals_whole(&shards, &merged, &whole, &format!("{model} in pieces"));
    }
}

#[test]
fn incomplete_or_mismatched_shards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = dir.path().join("s1");
    let s2 = dir.path().join("s2");
    let s3 = dir.path().join("s3");
    let fast = ["--embeddings", "false", "--motif-scores", "false"];
    run(&s1, &[&["--shard", "1/2"][..], &fast].concat());
    run(&s2, &[&["--shard", "2/2"][..], &fast].concat());
    let merged = dir.path().join("m");
    let fails = |dirs: &[&Path], want: &str| {
        let err = failure_stderr(
            glance()
                .arg("merge")
                .args(dirs)
                .arg("--outdir")
                .arg(&merged),
        );
        assert!(err.contains(want), "{err}");
        assert!(!merged.join("manifest.json").exists());
    };
    fails(&[&s1], "shard 2/2 is missing");
    fails(&[&s1, &s1], "given twice");
    // A different configuration cannot be merged.
    run(
        &s3,
        &[&["--shard", "2/2", "--thresh", "1e-3"][..], &fast].concat(),
    );
    fails(&[&s1, &s3], "configuration differs");
    // A shard whose run did not finish (no manifest) is refused.
    std::fs::remove_file(s2.join("manifest.json")).unwrap();
    fails(&[&s1, &s2], "did not finish");
    // A damaged shard output is noticed.
    run(&s2, &[&["--shard", "2/2"][..], &fast].concat());
    std::fs::write(s2.join("scan_hits.tsv"), "x").unwrap();
    fails(&[&s1, &s2], "scan_hits.tsv");
    run(&s2, &[&["--shard", "2/2"][..], &fast].concat());
    glance()
        .arg("merge")
        .args([&s1, &s2])
        .arg("--outdir")
        .arg(&merged)
        .arg("-q")
        .assert()
        .success();
}

/// The records of the two inputs of [`run`], by name.
fn input_records() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for p in ["workflow/multi.fa.gz", "seq/small.fa"] {
        let mut reader = glance::seq::SeqReader::open(data(p)).unwrap();
        let mut record = glance::seq::Record::default();
        while reader.read_record(&mut record).unwrap() {
            out.push((record.name.clone(), record.sequence.clone()));
        }
    }
    out
}

/// A sorted VCF over both inputs: SNVs on pieces of every shard, a multi-allelic
/// record, an MNV, an insertion, a deletion and a symbolic allele (skipped).
fn write_vcf(path: &Path) {
    let records = input_records();
    let mut text = String::from("##fileformat=VCFv4.3\n");
    for (name, seq) in &records {
        text.push_str(&format!("##contig=<ID={name},length={}>\n", seq.len()));
    }
    text.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    let flip = |b: u8| match b {
        b'A' => "C",
        b'C' => "G",
        b'G' => "T",
        _ => "A",
    };
    for (name, seq) in &records {
        let seq = seq.to_ascii_uppercase();
        let s = |a: usize, b: usize| String::from_utf8_lossy(&seq[a..b]).to_string();
        let mut step = 3100;
        let mut p = 150;
        while p + 10 < seq.len() {
            let r = s(p, p + 1);
            let alt = match p % 5 {
                0 => format!("{},{}", flip(seq[p]), flip(flip(seq[p]).as_bytes()[0])),
                1 => format!("{}{}", flip(seq[p]), flip(seq[p + 1])),
                2 => format!("{r}ACG"),
                3 => "<DEL>".to_string(),
                _ => flip(seq[p]).to_string(),
            };
            let reference = if p % 5 == 1 { s(p, p + 2) } else { r.clone() };
            text.push_str(&format!(
                "{name}\t{}\tv{p}\t{reference}\t{alt}\t.\t.\t.\n",
                p + 1
            ));
            if p % 7 == 0 {
                // a deletion right after
                text.push_str(&format!(
                    "{name}\t{}\td{p}\t{}\t{}\t.\t.\t.\n",
                    p + 4,
                    s(p + 3, p + 7),
                    s(p + 3, p + 4)
                ));
            }
            p += step;
            step = step * 7 % 4001 + 900;
        }
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn variant_effects_shard_by_position_and_merge_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let vcf = dir.path().join("calls.vcf");
    write_vcf(&vcf);
    let vcf_arg = vcf.display().to_string();
    let whole = dir.path().join("whole");
    run(&whole, &["--variants", &vcf_arg]);
    let rows = |d: &Path| {
        std::fs::read_to_string(d.join("variants.variants.tsv"))
            .unwrap()
            .lines()
            .count()
            - 1
    };
    let calls = std::fs::read_to_string(&vcf).unwrap();
    let alleles: usize = calls
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').nth(4).unwrap().split(',').count())
        .sum();
    assert_eq!(rows(&whole), alleles, "one row per ALT allele");
    assert!(
        whole.join("variants.vcf.gz.tbi").exists(),
        "sorted input: indexed"
    );
    let n = 3;
    let shards: Vec<PathBuf> = (1..=n).map(|i| dir.path().join(format!("s{i}"))).collect();
    for (i, s) in shards.iter().enumerate() {
        let shard = format!("{}/{n}", i + 1);
        run(
            s,
            &[
                "--variants",
                &vcf_arg,
                "--shard",
                &shard,
                "--shard-span",
                "7000",
            ],
        );
    }
    // every shard scores a part of the variants, together all of them once
    let parts: Vec<usize> = shards.iter().map(|s| rows(s)).collect();
    assert!(parts.iter().all(|&r| r > 0 && r < alleles), "{parts:?}");
    assert_eq!(parts.iter().sum::<usize>(), alleles);
    let merged = dir.path().join("merged");
    merge_equals_whole(&shards, &merged, &whole, "variant shards");
    for f in [
        "variants.vcf.gz",
        "variants.vcf.gz.tbi",
        "variants.motifs.tsv",
        "variants.variants.tsv",
        "variants.rows.tsv",
    ] {
        let a = std::fs::read(whole.join(f)).unwrap();
        let b = std::fs::read(merged.join(f)).unwrap();
        assert!(a == b, "{f} differs after merging the variant shards");
    }
}

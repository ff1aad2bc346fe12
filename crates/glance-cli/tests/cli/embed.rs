//! `glance embed`: per-token output matches the transformers / PyTorch fixtures (ModernBERT
//! included), pooled rows agree with per-token rows, BED rows line up with .npy rows, and
//! failures leave no output.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::common::{glance, models, read_npy_f32};
use glance::model::Weights;

fn read_bed(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn per_token_matches_reference_fixtures() {
    for (model, tol) in [
        ("bert_k3", 1e-4),
        ("bert_k6_mlm", 1e-4),
        ("longformer_k3", 1e-4),
        ("native_mixed", 1e-5),
    ] {
        per_token_matches(
            model,
            "sequences.fa",
            &["short", "with_n", "long", "tiny"],
            tol,
        );
    }
}

#[test]
fn per_token_modernbert_matches_transformers() {
    // whole records (a global layer) and chunked streaming (every layer local)
    for model in ["modernbert_mixed", "modernbert_local_mlm"] {
        per_token_matches(
            model,
            "modernbert_sequences.fa",
            &["odd", "with_n", "long", "one"],
            1e-4,
        );
    }
}

#[test]
fn per_token_nucleotide_transformer_matches_the_reference_with_token_spans() {
    // v1 (transformers EsmForMaskedLM) and v2 (its own modelling code): tokens of 6 or 3
    // bases, single nucleotides and one unknown token per run of IUPAC letters
    for model in ["nt_v1_k6", "nt_v2_k3"] {
        let seqs = ["short", "with_n", "long", "tiny"];
        per_token_matches(model, "nt_sequences.fa", &seqs, 1e-4);
    }
}

#[test]
fn per_token_dnabert2_matches_the_reference_with_token_spans() {
    // BPE tokens of varying length (scripts/dnabert2_fixtures.py), [UNK] for N and IUPAC
    // codes, lower-case runs upper-cased
    let seqs = ["short", "with_n", "long", "tiny"];
    per_token_matches("dnabert2_bpe", "dnabert2_sequences.fa", &seqs, 1e-4);
}

#[test]
fn per_token_gena_bert_and_bigbird_match_the_references_with_token_spans() {
    // scripts/gena_fixtures.py: a pre-LN GENA-LM BERT and a block-sparse BigBird
    // (windows of 128 tokens, padded and full-attention windows too)
    let seqs = ["short", "with_n", "long", "tiny"];
    for model in ["gena_bert_bpe", "gena_bigbird_bpe"] {
        per_token_matches(model, "gena_sequences.fa", &seqs, 1e-4);
    }
}

/// `glance embed --per-token` of `fasta` with `model` equals the fixture's
/// `<seq>.hidden` rows within `tol`, in order, and its BED rows give each token's first
/// and last base as the fixture's `<seq>.starts` / `<seq>.ends` when it has them (models
/// whose tokens are not on a k-mer grid).
fn per_token_matches(model: &str, fasta: &str, seqs: &[&str], tol: f32) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out");
    glance()
        .args(["embed", "--per-token", "-q", "--model"])
        .arg(models().join(model))
        .arg(models().join(fasta))
        .arg("-o")
        .arg(&prefix)
        .assert()
        .success();
    let (rows, d, data) = read_npy_f32(&prefix.with_extension("npy"));
    let bed = read_bed(&prefix.with_extension("bed"));
    assert_eq!(bed.len(), rows);
    let want = Weights::open(&models().join(model).join("expected.safetensors")).unwrap();
    let mut row = 0;
    for &seq in seqs {
        let name = format!("{seq}.hidden");
        let Some(shape) = want.shape(&name).map(<[usize]>::to_vec) else {
            continue;
        };
        assert_eq!(shape[1], d);
        let expected = want.tensor(&name, &shape).unwrap();
        let got = &data[row * d..(row + shape[0]) * d];
        let err = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err <= tol, "{model}/{seq}: {err}");
        let rows_bed = &bed[row..row + shape[0]];
        assert!(rows_bed.iter().all(|l| l[0] == seq));
        assert_eq!(rows_bed[0][1], "0");
        for (column, field) in [(1, "starts"), (2, "ends")] {
            let name = format!("{seq}.{field}");
            let Some(n) = want.shape(&name).map(|s| s[0]) else {
                continue;
            };
            let got: Vec<&str> = rows_bed.iter().map(|l| l[column].as_str()).collect();
            let expected: Vec<String> = want
                .tensor(&name, &[n])
                .unwrap()
                .iter()
                .map(|&v| (v as u64).to_string())
                .collect();
            assert_eq!(got, expected, "{model}/{seq}: token {field}");
        }
        row += shape[0];
    }
    assert_eq!(row, rows, "{model}: every token row checked");
}

#[test]
fn pooled_bins_are_means_of_token_rows_and_last_partial_bin_is_marked() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str], out: &str| {
        glance()
            .args(["embed", "-q", "--threads", "2", "--model"])
            .arg(models().join("native_mixed"))
            .arg(models().join("sequences.fa"))
            .args(extra)
            .arg("-o")
            .arg(dir.path().join(out))
            .assert()
            .success();
        (
            read_npy_f32(&dir.path().join(format!("{out}.npy"))),
            read_bed(&dir.path().join(format!("{out}.bed"))),
        )
    };
    let ((_, d, tokens), tbed) = run(&["--per-token"], "tok");
    let ((rows, _, pooled), bed) = run(&["--bin", "20", "--step", "10"], "bins");
    assert_eq!(bed.len(), rows);
    // "long" is 170 bp: bins start at 0, 10, ..., 160; only [160, 170) is partial.
    let long: Vec<&Vec<String>> = bed.iter().filter(|l| l[0] == "long").collect();
    assert_eq!(long.len(), 17);
    assert_eq!(long[16][1..3], ["160".to_string(), "170".to_string()]);
    assert_eq!(long[16][3], "long:161-170;partial");
    assert_eq!(long[15][3], "long:151-170");
    for (i, l) in bed.iter().enumerate() {
        assert_eq!(l[4], i.to_string());
        let (start, end): (u64, u64) = (l[1].parse().unwrap(), l[2].parse().unwrap());
        let members: Vec<usize> = tbed
            .iter()
            .enumerate()
            .filter(|(_, t)| t[0] == l[0] && (start..end).contains(&t[1].parse::<u64>().unwrap()))
            .map(|(j, _)| j)
            .collect();
        for c in 0..d {
            let want = if members.is_empty() {
                0.0
            } else {
                members.iter().map(|&j| tokens[j * d + c]).sum::<f32>() / members.len() as f32
            };
            assert!((pooled[i * d + c] - want).abs() < 1e-5, "row {i}");
        }
        assert_eq!(members.is_empty(), l[3].contains(";empty"));
    }
}

#[test]
fn regions_come_out_in_bed_order_with_max_pooling() {
    let dir = tempfile::tempdir().unwrap();
    let bed_in = dir.path().join("r.bed");
    std::fs::write(&bed_in, "long\t100\t150\nshort\t0\t10\nlong\t0\t30\n").unwrap();
    glance()
        .args(["embed", "-q", "--pool", "max", "--model"])
        .arg(models().join("native_alibi"))
        .arg(models().join("sequences.fa"))
        .arg("--regions")
        .arg(&bed_in)
        .arg("-o")
        .arg(dir.path().join("r"))
        .assert()
        .success();
    let bed = read_bed(&dir.path().join("r.bed"));
    let names: Vec<&str> = bed.iter().map(|l| l[3].as_str()).collect();
    assert_eq!(names, ["long:101-150", "short:1-10", "long:1-30"]);
    let (rows, d, _) = read_npy_f32(&dir.path().join("r.npy"));
    assert_eq!((rows, d), (3, 24));
}

#[test]
fn without_model_uses_the_shipped_default_model() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = models().join("../../models/default");
    let run = |prefix: &Path, model: Option<&Path>| {
        let mut cmd = glance();
        cmd.env_remove("GLANCE_MODEL").arg("embed");
        if let Some(m) = model {
            cmd.arg("--model").arg(m);
        }
        cmd.arg(models().join("sequences.fa"))
            .args(["--bin", "50", "-o"])
            .arg(prefix)
            .assert()
            .success();
        read_npy_f32(&prefix.with_extension("npy"))
    };
    let implicit = run(&dir.path().join("a"), None);
    let explicit = run(&dir.path().join("b"), Some(&shipped));
    assert_eq!(implicit.1, 128);
    assert!(implicit.0 > 0 && implicit.2.iter().any(|v| *v != 0.0));
    assert_eq!(implicit, explicit);
}

#[test]
fn failures_print_one_line_and_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("x");
    let bed_in = dir.path().join("r.bed");
    std::fs::write(&bed_in, "chrZ\t0\t10\n").unwrap();
    let out = glance()
        .args(["embed", "--model"])
        .arg(models().join("native_mixed"))
        .arg(models().join("sequences.fa"))
        .arg("--regions")
        .arg(&bed_in)
        .arg("-o")
        .arg(&prefix)
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let msg = String::from_utf8(out).unwrap();
    assert!(msg.contains("`chrZ` is not in the input"), "{msg}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the BED input remains"
    );

    glance()
        .args(["embed", "--pool", "attention", "--model"])
        .arg(models().join("bert_k3"))
        .arg(models().join("sequences.fa"))
        .arg("-o")
        .arg(&prefix)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no"));
    glance()
        .args(["embed", "--pool", "median", "--model"])
        .arg(models().join("bert_k3"))
        .arg(models().join("sequences.fa"))
        .arg("-o")
        .arg(&prefix)
        .assert()
        .code(2);
}

#[test]
fn precision_bf16_gives_embeddings_close_to_f32_and_bad_names_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = |precision: &str| {
        let out = dir.path().join(precision);
        glance()
            .args([
                "embed",
                "-q",
                "--bin",
                "50",
                "--precision",
                precision,
                "--model",
            ])
            .arg(models().join("native_mixed"))
            .arg(models().join("sequences.fa"))
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        read_npy_f32(&out.with_extension("npy"))
    };
    let (rows, d, f32_rows) = run("f32");
    let (rows_bf16, _, bf16_rows) = run("bf16");
    assert_eq!(rows, rows_bf16);
    for (a, b) in f32_rows.chunks(d).zip(bf16_rows.chunks(d)) {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm(a) > 0.0 {
            let cosine = dot / (norm(a) * norm(b));
            assert!(cosine >= 0.999, "cosine {cosine}");
        }
    }
    glance()
        .args(["embed", "--precision", "fp8", "--model"])
        .arg(models().join("native_mixed"))
        .arg(models().join("sequences.fa"))
        .arg("-o")
        .arg(dir.path().join("x"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("fp8"));
}

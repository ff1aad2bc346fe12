//! `glance model sweep`: one TSV row per window plus the reference, cosine 1 where the
//! window is the model's own, shorter windows no closer than it, usage errors (exit 2)
//! for bad `--windows`, and (cargo feature `plot`) the PNG.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crate::common::{glance, models, succeeded};

/// A FASTA of `records` pseudo-random records of `len` bp (deterministic).
fn random_fasta(dir: &Path, records: usize, len: usize) -> PathBuf {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut text = String::new();
    for r in 0..records {
        text.push_str(&format!(">rec{r}\n"));
        for i in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push(b"ACGT"[(state >> 33) as usize % 4] as char);
            if i % 60 == 59 {
                text.push('\n');
            }
        }
        text.push('\n');
    }
    let path = dir.join("input.fa");
    std::fs::write(&path, text).unwrap();
    path
}

/// One parsed TSV row.
#[derive(Debug)]
struct Row {
    window: String,
    mode: String,
    bins: usize,
    mean: f64,
    median: f64,
    min: f64,
    max_abs: f64,
    seconds: f64,
    per_mb: f64,
}

/// Runs the sweep and returns the TSV rows (header checked).
fn sweep(model: &str, input: &Path, windows: &str, bin: &str, prefix: &Path) -> Vec<Row> {
    succeeded(
        glance()
            .args(["-q", "model", "sweep"])
            .arg(models().join(model))
            .arg(input)
            .args(["--windows", windows, "--bin", bin, "-o"])
            .arg(prefix)
            .output()
            .unwrap(),
        model,
    );
    let text = std::fs::read_to_string(prefix.with_extension("tsv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "window\tmode\tbins\tmean_cosine\tmedian_cosine\tmin_cosine\tmax_abs_error\tseconds\tseconds_per_mb"
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 9, "{l}");
            let num = |i: usize| f[i].parse::<f64>().unwrap();
            let row = Row {
                window: f[0].to_string(),
                mode: f[1].to_string(),
                bins: f[2].parse().unwrap(),
                mean: num(3),
                median: num(4),
                min: num(5),
                max_abs: num(6),
                seconds: num(7),
                per_mb: num(8),
            };
            for c in [row.mean, row.median, row.min] {
                assert!((-1.0..=1.0).contains(&c), "{l}");
            }
            assert!(row.min <= row.median && row.min <= row.mean, "{l}");
            assert!(
                row.max_abs >= 0.0 && row.seconds >= 0.0 && row.per_mb >= 0.0,
                "{l}"
            );
            row
        })
        .collect()
}

#[test]
fn learned_position_windows_bert() {
    // bert_k3: 64 positions, windows of 62 content tokens
    let dir = tempfile::tempdir().unwrap();
    let input = random_fasta(dir.path(), 2, 1500);
    let prefix = dir.path().join("bert");
    let rows = sweep("bert_k3", &input, "62,8,31", "100", &prefix);
    let windows: Vec<&str> = rows.iter().map(|r| r.window.as_str()).collect();
    assert_eq!(windows, ["full", "8", "31", "62"]);
    assert_eq!(rows[0].mode, "windows");
    assert!(rows[1..].iter().all(|r| r.mode == "windows"));
    assert!(rows.iter().all(|r| r.bins == 30), "{rows:?}");
    // the reference against itself, and the model's own window: identical
    for r in [&rows[0], &rows[3]] {
        assert!(r.min >= 1.0 - 1e-6, "{r:?}");
        assert!(r.max_abs <= 1e-6, "{r:?}");
    }
    // shorter windows: no closer than the full window, and really different
    for r in &rows[1..3] {
        assert!(r.mean <= rows[3].mean, "{r:?}");
        assert!(r.mean < 1.0 - 1e-6 && r.max_abs > 1e-6, "{r:?}");
    }
    assert!(!dir.path().join("bert.png").exists() || cfg!(feature = "plot"));
}

#[test]
fn nucleotide_transformer_windows() {
    // nt_v2_k3: windows of 39 tokens (longest-match 3-mers)
    let dir = tempfile::tempdir().unwrap();
    let input = random_fasta(dir.path(), 1, 800);
    let prefix = dir.path().join("nt");
    let rows = sweep("nt_v2_k3", &input, "39,10", "50", &prefix);
    let windows: Vec<&str> = rows.iter().map(|r| r.window.as_str()).collect();
    assert_eq!(windows, ["full", "10", "39"]);
    assert_eq!(rows[2].bins, 16);
    assert!(
        rows[2].min >= 1.0 - 1e-6 && rows[2].max_abs <= 1e-6,
        "{rows:?}"
    );
    assert!(
        rows[1].mean <= rows[2].mean && rows[1].mean < 1.0 - 1e-6,
        "{rows:?}"
    );
}

#[test]
fn full_attention_layers_become_sliding() {
    // modernbert_mixed: layers full, sliding, sliding, full; RoPE, no position table,
    // so the reference encodes whole records
    let dir = tempfile::tempdir().unwrap();
    let input = random_fasta(dir.path(), 2, 600);
    let prefix = dir.path().join("mb");
    let rows = sweep("modernbert_mixed", &input, "4,16,4096", "60", &prefix);
    assert_eq!(rows[0].window, "full");
    assert_eq!(rows[0].mode, "whole");
    assert!(rows[1..].iter().all(|r| r.mode == "sliding"), "{rows:?}");
    assert!(rows.iter().all(|r| r.bins == 20), "{rows:?}");
    // a window wider than every record sees everything: the same embeddings (another
    // kernel, so equal up to rounding)
    assert_eq!(rows[3].window, "4096");
    assert!(
        rows[3].min >= 1.0 - 1e-6 && rows[3].max_abs <= 1e-4,
        "{rows:?}"
    );
    assert!(
        rows[1].mean <= rows[3].mean && rows[1].mean < 1.0 - 1e-6,
        "{rows:?}"
    );
}

#[test]
fn bad_windows_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = random_fasta(dir.path(), 1, 200);
    let prefix = dir.path().join("bad");
    for (model, windows, says) in [
        ("bert_k3", "", "--windows"),
        ("bert_k3", "0", "--windows"),
        ("bert_k3", "64,abc", "--windows"),
        ("bert_k3", "8,,16", "--windows"),
        (
            "bert_k3",
            "63",
            "larger than the model's window of 62 tokens",
        ),
        (
            "nt_v2_k3",
            "40",
            "larger than the model's window of 39 tokens",
        ),
        ("modernbert_mixed", "1", "needs W >= 2"),
    ] {
        let out = glance()
            .args(["model", "sweep"])
            .arg(models().join(model))
            .arg(&input)
            .args(["--windows", windows, "-o"])
            .arg(&prefix)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{model} {windows}: {stderr}");
        assert!(stderr.contains(says), "{model} {windows}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    // stdin cannot be read once per window
    glance()
        .args(["model", "sweep"])
        .arg(models().join("bert_k3"))
        .args(["-", "--windows", "8", "-o"])
        .arg(&prefix)
        .assert()
        .code(2);
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("bad")));
}

/// `glance -q model sweep MODEL INPUT --windows 8 -o PREFIX`, which must exit 1 with one
/// line on stderr; returns that line.
fn sweep_fails(model: &str, input: &std::path::Path, prefix: &std::path::Path) -> String {
    let out = glance()
        .args(["-q", "model", "sweep"])
        .arg(models().join(model))
        .arg(input)
        .args(["--windows", "8", "-o"])
        .arg(prefix)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn local_models_and_bad_inputs_fail_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = random_fasta(dir.path(), 1, 200);
    let prefix = dir.path().join("out");
    // native_mixed: every layer local, nothing to shorten
    let stderr = sweep_fails("native_mixed", &input, &prefix);
    assert!(stderr.contains("local attention already"), "{stderr}");
    // a broken input: one line naming it, no TSV
    let broken = dir.path().join("broken.fa");
    std::fs::write(&broken, "ACGT\n").unwrap();
    let stderr = sweep_fails("bert_k3", &broken, &prefix);
    assert!(stderr.contains("broken.fa"), "{stderr}");
    // a record shorter than one 3-mer: nothing to compare, no TSV
    let empty = dir.path().join("short.fa");
    std::fs::write(&empty, ">short\nAC\n").unwrap();
    let stderr = sweep_fails("bert_k3", &empty, &prefix);
    assert!(
        stderr.contains("short.fa") && stderr.contains("nothing to compare"),
        "{stderr}"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("out")), "{names:?}");
}

#[cfg(feature = "plot")]
#[test]
fn sweep_writes_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let input = random_fasta(dir.path(), 1, 600);
    let prefix = dir.path().join("plot");
    let rows = sweep("bert_k3", &input, "8,16,62", "100", &prefix);
    assert_eq!(rows.len(), 4);
    let bytes = std::fs::read(dir.path().join("plot.png")).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 5000);
}

#[cfg(not(feature = "plot"))]
#[test]
fn without_the_plot_feature_one_line_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = random_fasta(dir.path(), 1, 300);
    let prefix = dir.path().join("noplot");
    let out = succeeded(
        glance()
            .args(["model", "sweep"])
            .arg(models().join("bert_k3"))
            .arg(&input)
            .args(["--windows", "16", "--bin", "100", "-o"])
            .arg(&prefix)
            .output()
            .unwrap(),
        "",
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("--features plot"))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(dir.path().join("noplot.tsv").exists());
    assert!(!dir.path().join("noplot.png").exists());
}

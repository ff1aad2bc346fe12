//! `glance bench attention --sweep`: the TSV and the PNG of `--plot` (cargo feature
//! `plot`; CI runs `cargo test -p glance-cli --features plot --test cli -- bench_plot::`),
//! and without the feature the one-line error of `--plot`.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(not(feature = "plot"))]
use crate::common::bench_attention;
#[cfg(feature = "plot")]
use crate::common::{glance, success_stdout};

#[cfg(feature = "plot")]
#[test]
fn sweep_prints_one_row_per_pattern_and_writes_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("sweep.png");
    let tsv = success_stdout(
        glance()
            .args([
                "-q",
                "bench",
                "attention",
                "--sweep",
                "--len",
                "256",
                "--heads",
                "1",
                "--head-dim",
                "8",
                "--runs",
                "1",
                "--smooth",
                "16",
                "--pattern",
                "sliding:r=8",
                "--pattern",
                "sliding:r=64",
                "--pattern",
                "full",
                "--pattern",
                "performer:m=16",
                "--plot",
            ])
            .arg(&png)
            .output()
            .unwrap(),
    );
    let rows: Vec<Vec<&str>> = tsv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows[0][..3], ["pattern", "reference", "error_vs_full"]);
    assert_eq!(rows.len(), 5);
    let err = |i: usize| rows[i][2].parse::<f64>().unwrap();
    assert!(err(3) < 1e-5, "full vs itself: {}", err(3));
    // Smooth inputs: a wider window is closer to full attention.
    assert!(err(2) < err(1), "r=64 {} vs r=8 {}", err(2), err(1));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 5000);
}

#[cfg(not(feature = "plot"))]
#[test]
fn plot_without_the_feature_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("sweep.png");
    let out = bench_attention()
        .args(["--sweep", "--len", "64", "--pattern", "full", "--plot"])
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "error: --plot: this glance was built without the `plot` feature; build it with \
         `cargo install --path crates/glance-cli --features plot`\n"
    );
    assert!(!png.exists());
}

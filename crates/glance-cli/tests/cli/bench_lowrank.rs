//! `glance bench attention` with the approximate patterns: the error against full
//! attention (`--check`) and one-line errors (the sweep: bench_plot.rs).

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{bench_attention, field, success_stdout};
use predicates::prelude::*;

fn bench_json(pattern: &str, len: &str) -> String {
    success_stdout(
        bench_attention()
            .args([
                "--pattern",
                pattern,
                "--len",
                len,
                "--heads",
                "2",
                "--head-dim",
                "16",
                "--runs",
                "1",
                "--check",
                "--json",
            ])
            .output()
            .unwrap(),
    )
}

#[test]
fn check_reports_the_error_against_full_attention() {
    for (pattern, reference) in [
        ("linformer:k=32", "full"),
        ("performer:m=32", "full"),
        ("lsh:bucket=16,hashes=2", "full-shared-qk"),
    ] {
        let json = bench_json(pattern, "512");
        assert!(
            json.contains(&format!("\"pattern\":\"{pattern}\"")),
            "{json}"
        );
        assert_eq!(field(&json, "pairs"), "null", "{pattern}");
        assert_eq!(field(&json, "error_reference"), reference, "{pattern}");
        assert_eq!(field(&json, "error_rows"), "256", "{pattern}");
        let err: f64 = field(&json, "rel_frobenius_err").parse().unwrap();
        assert!(err.is_finite() && err > 1e-3, "{pattern}: {err}");
    }
    // An exact pattern gets both errors; full attention has none against itself.
    let json = bench_json("full", "300");
    let err: f64 = field(&json, "rel_frobenius_err").parse().unwrap();
    assert!(err < 1e-5, "{err}");
    assert!(field(&json, "max_abs_err").parse::<f64>().unwrap() < 1e-5);
}

#[test]
fn bad_approximate_inputs_fail_with_one_line() {
    bench_attention()
        .args(["--pattern", "lsh:bucket=64,hashes=2", "--len", "100"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("multiple of bucket")
                .and(predicate::str::starts_with("error: ")),
        );
    bench_attention()
        .args(["--pattern", "performer:m=0", "--len", "100"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "error: --pattern performer:m=0",
        ));
    bench_attention()
        .args(["--pattern", "full", "--pattern", "full", "--len", "10"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--sweep"));
}

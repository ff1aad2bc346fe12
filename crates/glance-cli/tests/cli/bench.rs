//! `glance bench attention` end to end: the report's pair count, error check, JSON
//! shape and usage errors.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{bench_attention, field, glance, success_stdout};
use predicates::prelude::*;

#[test]
fn json_report_counts_pairs_exactly_and_checks_against_the_reference() {
    let json = success_stdout(
        glance()
            .args([
                "--threads",
                "2",
                "bench",
                "attention",
                "--pattern",
                "sliding:r=3",
                "--len",
                "100",
                "--heads",
                "2",
                "--head-dim",
                "8",
                "--runs",
                "2",
                "--check",
                "--json",
            ])
            .output()
            .unwrap(),
    );
    // Rows 0..=2 and 97..=99 see 4..6 keys; the 94 inner rows see 7: per head
    // 94 * 7 + 2 * (4 + 5 + 6) = 688.
    assert_eq!(field(&json, "pairs"), "1376");
    assert_eq!(field(&json, "pattern"), "sliding:r=3");
    assert_eq!(field(&json, "threads"), "2");
    let err: f64 = field(&json, "max_abs_err").parse().unwrap();
    assert!(err <= 1e-5, "{err}");
    let gflops: f64 = field(&json, "useful_gflops").parse().unwrap();
    let median: f64 = field(&json, "median_s").parse().unwrap();
    // Both figures are printed rounded (GFLOP/s to 3 decimals).
    let expected = 4.0 * 1376.0 * 8.0 / median / 1e9;
    assert!(
        (gflops - expected).abs() <= 1e-3 * expected + 1e-3,
        "{gflops} vs {expected}"
    );
}

#[test]
fn text_report_names_every_measure() {
    bench_attention()
        .args([
            "--pattern",
            "dilated:r=4,d=3+global:first",
            "--len",
            "300",
            "--heads",
            "1",
            "--head-dim",
            "16",
            "--runs",
            "1",
            "--check",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("useful GFLOP/s")
                .and(predicate::str::contains("tokens/s"))
                .and(predicate::str::contains("peak RSS"))
                .and(predicate::str::contains("max abs error")),
        );
}

#[test]
fn bad_pattern_and_oversized_check_fail_with_one_line() {
    bench_attention()
        .args(["--pattern", "sliding:w=3", "--len", "10"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::starts_with("error: --pattern sliding:w=3")
                .and(predicate::str::contains("`w`")),
        );
    bench_attention()
        .args(["--pattern", "full", "--len", "20000", "--check"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--check needs --len <= 16384"));
    bench_attention().args(["--len", "10"]).assert().code(2);
}

/// `--precision bf16` runs the AMX kernel where the CPU has AMX and says so; elsewhere
/// it says the f32 kernel ran. Either way the result stays within a bf16 tolerance of
/// the f64 reference.
#[test]
fn precision_bf16_reports_the_kernel_that_ran() {
    let run = |precision: &str| {
        success_stdout(
            glance()
                .args([
                    "bench",
                    "attention",
                    "--pattern",
                    "sliding:r=20",
                    "--len",
                    "300",
                    "--head-dim",
                    "64",
                    "--runs",
                    "1",
                    "--check",
                    "--json",
                    "--precision",
                    precision,
                ])
                .output()
                .unwrap(),
        )
    };
    assert_eq!(field(&run("f32"), "precision"), "f32");
    let json = run("bf16");
    let ran = field(&json, "precision");
    let amx = ran == "bf16 (amx)";
    assert!(amx || ran.starts_with("f32 (bf16 asked"), "{ran}");
    let err: f64 = field(&json, "max_abs_err").parse().unwrap();
    assert!(err <= if amx { 2e-2 } else { 1e-5 }, "{ran}: {err}");
}

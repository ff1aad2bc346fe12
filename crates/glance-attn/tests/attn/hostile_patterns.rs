//! Hostile attention patterns (issue 9 fuzzing): the work of `attend` depends on the
//! number of tokens, never on the size of a pattern's parameters. Each case is an input
//! the `attn_pattern` fuzz target found to hang or crash (see docs/robustness.md).

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use glance_attn::ndarray::Array3;
use glance_attn::{attend, AttendOptions, Pattern};

/// Runs `attend` on 2 heads x `n` tokens x 4 dims, as the fuzz target does.
fn run(spec: &str, n: usize) -> Array3<f32> {
    let p: Pattern = spec.parse().unwrap();
    let q = Array3::from_shape_fn((2, n, 4), |(h, i, j)| ((h + i * 3 + j) % 7) as f32 * 0.1);
    attend(q.view(), q.view(), q.view(), &p, &AttendOptions::default()).unwrap()
}

/// fuzz/seeds/attn_pattern/timeout-ff8958979c46ec01da2bb27d2ceb74702c461362: one
/// token with a dilation of 1 111 111 114 looped over every residue of the dilation.
#[test]
fn huge_dilation_on_one_token() {
    let out = run("dilated:r=00,d=1111111114,causal+global:tokens=1,57", 1);
    // One token sees only itself: its output is its own value row.
    let q = run("full", 1);
    assert_eq!(out, q);
}

#[test]
fn dilation_of_usize_max() {
    let out = run("dilated:r=3,d=18446744073709551615", 5);
    // Every token sees only itself.
    let own = run("sliding:r=0", 5);
    assert_eq!(out, own);
}

#[test]
fn bigbird_with_usize_max_random_blocks() {
    // Block 0's weight 1 + random saturates at usize::MAX (2^64 in the softmax): the
    // rows outside the first and last block then average block 0's values alone, with
    // no overflow; the first and last rows are plain full attention.
    let out = run("bigbird:b=1,random=18446744073709551615", 5);
    let full = run("full", 5);
    let v0 = run("sliding:r=0", 5);
    for h in 0..2 {
        for d in 0..4 {
            for i in [0, 4] {
                assert_eq!(out[[h, i, d]], full[[h, i, d]]);
            }
            for i in 1..4 {
                assert!((out[[h, i, d]] - v0[[h, 0, d]]).abs() <= 1e-6, "row {i}");
            }
        }
    }
}

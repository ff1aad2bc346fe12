//! Parity of the approximate patterns with their PyPI references (lucidrains'
//! linformer, performer-pytorch, reformer-pytorch), given the reference's own random
//! matrices. Fixtures come from scripts/lowrank_fixtures.py; provenance.json names each
//! case's glance spec. Tolerance: max abs error <= 1e-4.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use crate::common::{load2, load3};
use glance_attn::{attend_approx, Approx, ApproxOptions, ApproxWeights, Spec};
use ndarray::Array4;
use ndarray_npy::read_npy;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-data/attn/lowrank")
}

/// Runs one case with the exported matrices; returns the max abs error.
fn max_err(case: &str, spec: &str) -> f32 {
    let dir = fixtures().join(case);
    let Spec::Approx(approx) = spec.parse::<Spec>().unwrap() else {
        panic!("{case}: {spec} is not approximate");
    };
    let (q, k, v, want) = (
        load3(&dir, "q"),
        load3(&dir, "k"),
        load3(&dir, "v"),
        load3(&dir, "out"),
    );
    let (e, f, features, rotations);
    let weights = match approx {
        Approx::Linformer(s) => {
            e = load2(&dir, "e");
            f = (!s.share_kv).then(|| load2(&dir, "f"));
            ApproxWeights::Linformer {
                e: e.view(),
                f: f.as_ref().map(|f| f.view()),
            }
        }
        Approx::Performer(_) => {
            features = load2(&dir, "features");
            ApproxWeights::Performer {
                features: features.view(),
            }
        }
        Approx::Lsh(_) => {
            rotations = read_npy::<_, Array4<f32>>(dir.join("rotations.npy")).unwrap();
            ApproxWeights::Lsh {
                rotations: rotations.view(),
            }
        }
    };
    let opts = ApproxOptions {
        weights: Some(weights),
        ..Default::default()
    };
    let got = attend_approx(q.view(), k.view(), v.view(), &approx, &opts).unwrap();
    got.iter()
        .zip(want.iter())
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_fixture_matches_its_reference() {
    let provenance: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("provenance.json")).unwrap())
            .unwrap();
    let cases = provenance["cases"].as_object().unwrap();
    assert!(cases.len() >= 6);
    let mut failures = Vec::new();
    for (case, spec) in cases {
        let err = max_err(case, spec.as_str().unwrap());
        eprintln!("{case} ({spec}): max abs error {err:e}");
        if err.is_nan() || err > 1e-4 {
            failures.push(format!("{case} ({spec}): max abs error {err:e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

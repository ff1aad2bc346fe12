//! Parity with published implementations: Hugging Face LongformerSelfAttention (local
//! and with global tokens) and lucidrains' local-attention (block-wise and exact
//! windows, causal, key padding), and transformers' BigBirdBlockSparseAttention in eval
//! mode (`bigbird:b=B,random=R`, with a short last block). Fixtures come from
//! scripts/attention_fixtures.py and scripts/bigbird_fixtures.py; each provenance.json
//! names each case's glance pattern.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crate::common::load3;
use glance_attn::{attend, AttendOptions, GlobalQkv, Isa, Pattern};
use ndarray::Array1;
use ndarray_npy::read_npy;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-data/attention")
}

fn check_case(root: &Path, case: &Value) -> Vec<String> {
    let name = case["case"].as_str().unwrap();
    let dir = root.join(name);
    let pattern: Pattern = case["pattern"].as_str().unwrap().parse().unwrap();
    let (q, k, v, want) = (
        load3(&dir, "q"),
        load3(&dir, "k"),
        load3(&dir, "v"),
        load3(&dir, "out"),
    );
    let shape: Vec<usize> = case["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(q.shape(), &shape[..], "{name}");
    let global = case["global_projections"]
        .as_bool()
        .unwrap()
        .then(|| (load3(&dir, "gq"), load3(&dir, "gk"), load3(&dir, "gv")));
    let padding: Option<Array1<bool>> = case["key_padding"]
        .as_bool()
        .unwrap()
        .then(|| read_npy(dir.join("key_padding.npy")).unwrap());
    let mut failures = Vec::new();
    for isa in Isa::available() {
        let opts = AttendOptions {
            key_padding: padding.as_ref().map(|p| p.view()),
            global_qkv: global.as_ref().map(|(gq, gk, gv)| GlobalQkv {
                q: gq.view(),
                k: gk.view(),
                v: gv.view(),
            }),
            isa: Some(isa),
            ..Default::default()
        };
        let got = attend(q.view(), k.view(), v.view(), &pattern, &opts).unwrap();
        let err = got
            .iter()
            .zip(want.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!("{name} ({pattern}, {isa:?}): max abs error {err:e}");
        if err > 1e-5 {
            failures.push(format!(
                "{name} ({pattern}, {isa:?}): max abs error {err:e}"
            ));
        }
    }
    failures
}

#[test]
fn matches_longformer_and_local_attention_fixtures() {
    let root = fixtures();
    let provenance = read_provenance(&root);
    let cases = provenance["cases"].as_array().unwrap();
    let references: Vec<&str> = cases
        .iter()
        .map(|c| c["reference"].as_str().unwrap())
        .collect();
    assert!(references.contains(&"transformers.LongformerSelfAttention"));
    assert!(references.contains(&"local_attention.LocalAttention"));
    let failures: Vec<String> = cases.iter().flat_map(|c| check_case(&root, c)).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

fn read_provenance(root: &Path) -> Value {
    let text = std::fs::read_to_string(root.join("provenance.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn matches_transformers_bigbird_block_sparse_attention_in_eval_mode() {
    let root = fixtures().join("bigbird");
    let provenance = read_provenance(&root);
    let cases = provenance["cases"].as_array().unwrap();
    // Both random-adjacency helpers (n = 1024 and otherwise) and a padded last block.
    assert_eq!(cases.len(), 3);
    let failures: Vec<String> = cases.iter().flat_map(|c| check_case(&root, c)).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

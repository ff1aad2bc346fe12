//! Parity with the reference fixtures of scripts/model_fixtures.py: Hugging Face
//! transformers (BERT/DNABERT, Longformer) within 1e-4, the PyTorch native reference
//! within 1e-5, on sequences including N bases and ones longer than a window.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{expected, max_abs_diff, model_dir, sequences};
use glance_model::{encode_tokens, load, StreamOptions};

fn check(model: &str, tol: f32) {
    let enc = load(&model_dir(model)).unwrap();
    let tokenizer = enc.make_tokenizer().unwrap();
    let mut checked = 0;
    for (name, bases) in sequences() {
        let (want_ids, want) = expected(model, &name);
        let mut ids = Vec::new();
        tokenizer.tokenize_into(&bases, &mut ids);
        assert_eq!(ids, want_ids, "{model}/{name}: token ids");
        let got = encode_tokens(&enc, &ids, &StreamOptions::default()).unwrap();
        match want {
            Some(want) => {
                let err = max_abs_diff(&got, &want);
                assert!(err <= tol, "{model}/{name}: max abs error {err} > {tol}");
                checked += 1;
            }
            None => assert_eq!(got.nrows(), 0),
        }
    }
    assert!(checked >= 3, "{model}: too few sequences checked");
}

#[test]
fn bert_k3_matches_transformers() {
    check("bert_k3", 1e-4);
}

#[test]
fn bert_k6_masked_lm_matches_transformers() {
    check("bert_k6_mlm", 1e-4);
}

#[test]
fn longformer_matches_transformers() {
    check("longformer_k3", 1e-4);
}

#[test]
fn longformer_masked_lm_matches_transformers() {
    check("longformer_k3_mlm", 1e-4);
}

#[test]
fn native_mixed_patterns_match_reference() {
    check("native_mixed", 1e-5);
}

#[test]
fn native_alibi_swiglu_matches_reference() {
    check("native_alibi", 1e-5);
}

#[test]
fn native_learned_positions_match_reference() {
    check("native_learned", 1e-5);
}

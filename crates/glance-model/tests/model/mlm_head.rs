//! MLM heads against their reference implementations (test-data/variants/
//! mlm_expected.safetensors, made by scripts/mlm_fixtures.py): transformers'
//! `BertForMaskedLM` log-softmax of the logits, and the default model's k-mer head from
//! scripts/train_default.py, within 1e-3 as log-probabilities; transformers'
//! `LongformerForMaskedLM` (test-data/models/longformer_k3_mlm, scripts/model_fixtures.py)
//! on windowed input likewise. (ModernBERT's head: tests/model/modernbert.rs.)

// Tests unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{model_dir, sequences};
use glance_model::{encode_tokens, load, StreamOptions, Weights};
use ndarray::{Array2, Axis};
use std::path::PathBuf;

fn expected() -> Weights {
    Weights::open(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../test-data/variants/mlm_expected.safetensors"),
    )
    .unwrap()
}

fn ids_of(w: &Weights, name: &str) -> Vec<u32> {
    let n = w.shape(name).unwrap()[0];
    w.tensor(name, &[n])
        .unwrap()
        .into_iter()
        .map(|v| v as u32)
        .collect()
}

/// Largest difference between finite entries; both must be -inf at the same places.
fn max_log_prob_diff(got: &Array2<f32>, want: &Array2<f32>) -> f32 {
    assert_eq!(got.dim(), want.dim());
    got.iter().zip(want).fold(0.0, |m, (&g, &w)| {
        assert_eq!(g.is_finite(), w.is_finite(), "{g} vs {w}");
        if w.is_finite() {
            m.max((g - w).abs())
        } else {
            m
        }
    })
}

#[test]
fn bert_head_equals_transformers() {
    let w = expected();
    let enc = load(&model_dir("bert_k6_mlm")).unwrap();
    let head = enc.mlm_head.as_ref().expect("BertForMaskedLM has a head");
    let ids = ids_of(&w, "bert.ids");
    let hidden = enc.forward(&ids, 0).unwrap();
    let got = head.log_probs(hidden.view());
    let want = w
        .matrix("bert.log_probs", ids.len(), head.vocab_size())
        .unwrap();
    let err = max_log_prob_diff(&got, &want);
    assert!(err <= 1e-3, "max error {err}");
    // each row is a distribution
    for row in got.axis_iter(Axis(0)) {
        let total: f64 = row.iter().map(|&v| f64::from(v).exp()).sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
    }
}

#[test]
fn default_model_head_equals_the_training_script() {
    let w = expected();
    let enc = glance_model::load_bundled().unwrap();
    let head = enc
        .mlm_head
        .as_ref()
        .expect("the default model ships its head");
    let fragment = std::fs::read_to_string(model_dir("default_fixture/fragment.fa")).unwrap();
    let bases: Vec<u8> = fragment
        .lines()
        .filter(|l| !l.starts_with('>'))
        .flat_map(|l| l.trim().bytes())
        .collect();
    let mut ids = Vec::new();
    enc.make_tokenizer()
        .unwrap()
        .tokenize_into(&bases, &mut ids);
    let hidden = enc.forward(&ids, 0).unwrap();
    let positions: Vec<usize> = ids_of(&w, "default.positions")
        .into_iter()
        .map(|p| p as usize)
        .collect();
    let rows = hidden.select(Axis(0), &positions);
    let got = head.log_probs(rows.view());
    let want = w
        .matrix("default.log_probs", positions.len(), head.vocab_size())
        .unwrap();
    let err = max_log_prob_diff(&got, &want);
    assert!(err <= 1e-3, "max error {err}");
    // the five special tokens are never predicted
    assert!(got.column(4).iter().all(|v| *v == f32::NEG_INFINITY));
}

#[test]
fn models_without_a_head_have_none() {
    assert!(load(&model_dir("bert_k3")).unwrap().mlm_head.is_none());
    assert!(load(&model_dir("longformer_k3"))
        .unwrap()
        .mlm_head
        .is_none());
    assert!(load(&model_dir("native_mixed")).unwrap().mlm_head.is_none());
}

#[test]
fn longformer_head_equals_transformers() {
    let model = "longformer_k3_mlm";
    let enc = load(&model_dir(model)).unwrap();
    let head = enc
        .mlm_head
        .as_ref()
        .expect("LongformerForMaskedLM has a head");
    let w = Weights::open(&model_dir(model).join("expected.safetensors")).unwrap();
    let tokenizer = enc.make_tokenizer().unwrap();
    let mut checked = 0;
    for (name, bases) in sequences() {
        let mut ids = Vec::new();
        tokenizer.tokenize_into(&bases, &mut ids);
        if ids.is_empty() {
            continue;
        }
        // windows of 39 content tokens: "long" spans several
        let hidden = encode_tokens(&enc, &ids, &StreamOptions::default()).unwrap();
        let got = head.log_probs(hidden.view());
        let want = w
            .matrix(&format!("{name}.log_probs"), ids.len(), head.vocab_size())
            .unwrap();
        let err = max_log_prob_diff(&got, &want);
        assert!(err <= 1e-3, "{name}: max error {err}");
        eprintln!("{model}/{name}: MLM log-prob max abs error {err}");
        checked += 1;
    }
    assert!(checked >= 3);
}

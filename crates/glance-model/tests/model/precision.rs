//! `Precision::Bf16` on a whole model (bf16 projections and, on a CPU with AMX, bf16
//! attention): the shipped default model over 12 kb of Kp1084
//! (test-data/Kp1084_200kb.fa.gz) gives hidden states within 5% (relative norm) of f32
//! for every token, 1 kb mean-pooled region embeddings with cosine similarity >= 0.999
//! to f32, stays deterministic under chunking (bit-identical kept
//! centres for any chunk size), and returns to the f32 result when set back. On a CPU
//! without AVX512_BF16 the model reports f32 and gives the f32 result.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use glance_model::{encode_tokens, load, Precision, StreamOptions};
use glance_seq::{Record, SeqReader};
use ndarray::{Array2, Axis};

const BASES: usize = 12_000;
const BIN: usize = 1000;

fn slice() -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut reader = SeqReader::open(root.join("test-data/Kp1084_200kb.fa.gz")).unwrap();
    let mut rec = Record::default();
    assert!(reader.read_record(&mut rec).unwrap());
    rec.sequence[..BASES].to_vec()
}

/// Mean of the token states of each `BIN` tokens (stride 1: token i starts at base i).
fn pooled(states: &Array2<f32>) -> Vec<Vec<f64>> {
    states
        .axis_chunks_iter(Axis(0), BIN)
        .map(|rows| {
            rows.mean_axis(Axis(0))
                .unwrap()
                .iter()
                .map(|&v| v as f64)
                .collect()
        })
        .collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

#[test]
fn bf16_region_embeddings_match_f32() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/default");
    let mut enc = load(&dir).unwrap();
    let mut ids = Vec::new();
    enc.make_tokenizer()
        .unwrap()
        .tokenize_into(&slice(), &mut ids);
    let opts = StreamOptions {
        chunk_tokens: 4000,
        ..StreamOptions::default()
    };
    let f32_states = encode_tokens(&enc, &ids, &opts).unwrap();

    let effective = enc.set_precision(Precision::Bf16);
    assert_eq!(effective, Precision::Bf16.effective());
    assert_eq!(enc.precision(), effective);
    assert!(enc
        .layers
        .iter()
        .all(|l| l.attention.precision == effective));
    let bf16_states = encode_tokens(&enc, &ids, &opts).unwrap();
    if effective == Precision::F32 {
        eprintln!("no AVX512_BF16: bf16 falls back to f32");
        assert_eq!(bf16_states, f32_states);
        return;
    }
    assert_ne!(bf16_states, f32_states, "bf16 ran");

    let worst_token = f32_states
        .outer_iter()
        .zip(bf16_states.outer_iter())
        .map(|(a, b)| {
            let diff: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(x - y).powi(2))
                .sum();
            let norm: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum();
            (diff / norm).sqrt()
        })
        .fold(0.0, f64::max);
    eprintln!("worst token relative error bf16 vs f32: {worst_token}");
    assert!(
        worst_token <= 0.05,
        "worst token relative error {worst_token}"
    );

    let (a, b) = (pooled(&f32_states), pooled(&bf16_states));
    assert_eq!(a.len(), BASES.div_ceil(BIN));
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| cosine(x, y))
        .fold(f64::INFINITY, f64::min);
    eprintln!("worst region cosine bf16 vs f32: {worst}");
    assert!(worst >= 0.999, "worst region cosine {worst}");

    // Chunking does not change a bf16 result (rows are independent in the kernels).
    let other = StreamOptions {
        chunk_tokens: 1500,
        ..StreamOptions::default()
    };
    assert_eq!(encode_tokens(&enc, &ids, &other).unwrap(), bf16_states);

    enc.set_precision(Precision::F32);
    assert_eq!(enc.precision(), Precision::F32);
    assert_eq!(encode_tokens(&enc, &ids, &opts).unwrap(), f32_states);
}

#[test]
fn precision_names_parse() {
    assert_eq!("bf16".parse::<Precision>().unwrap(), Precision::Bf16);
    assert_eq!("f32".parse::<Precision>().unwrap(), Precision::F32);
    assert_eq!(Precision::default(), Precision::F32);
    let err = "fp16".parse::<Precision>().unwrap_err();
    assert!(err.to_string().contains("fp16"), "{err}");
    assert_eq!(Precision::Bf16.to_string(), "bf16");
}

//! The model that ships in models/default equals its PyTorch reference
//! (scripts/native_reference.py in float64, fixture written by
//! scripts/default_model_fixture.py) within 1e-4 on a fragment of the held-out genome,
//! both encoded whole and streamed in chunks much shorter than the receptive field; the
//! copy compiled into the binary is that model.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use crate::common::max_abs_diff;
use glance_model::{
    encode_tokens, load, load_bundled, DefaultModel, Encoder, RunMode, StreamOptions, Weights,
    BUNDLED_FILES,
};
use glance_seq::{Record, SeqReader};
use ndarray::Array2;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// This crate's models/default (the repository's models/default links to it).
fn shipped_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/default")
}

fn shipped() -> Encoder {
    load(&shipped_dir()).unwrap()
}

/// The fragment's bases, and the reference token ids and hidden states.
fn fixture() -> (Vec<u8>, Vec<u32>, Array2<f32>) {
    let dir = repo().join("test-data/models/default_fixture");
    let mut reader = SeqReader::open(dir.join("fragment.fa")).unwrap();
    let mut rec = Record::default();
    assert!(reader.read_record(&mut rec).unwrap());
    let w = Weights::open(&dir.join("expected.safetensors")).unwrap();
    let n = w.shape("fragment.ids").unwrap()[0];
    let ids = w
        .tensor("fragment.ids", &[n])
        .unwrap()
        .into_iter()
        .map(|v| v as u32)
        .collect();
    let d = w.shape("fragment.hidden").unwrap()[1];
    let hidden = w.matrix("fragment.hidden", n, d).unwrap();
    (rec.sequence.clone(), ids, hidden)
}

#[test]
fn default_model_is_a_streaming_local_model() {
    let enc = shipped();
    assert_eq!(enc.d_model(), 128);
    assert_eq!((enc.tokenizer.k, enc.tokenizer.stride), (6, 1));
    // every layer has a finite reach, so long records stream in chunks with a halo
    let radius = enc.receptive_radius().unwrap();
    assert_eq!(radius, 16 + 16 * 4 + (64 * 2 - 1) + 32);
    assert!(matches!(enc.run_mode().unwrap(), RunMode::Chunked { .. }));
}

#[test]
fn default_model_matches_pytorch_on_heldout_fragment() {
    let enc = shipped();
    let (bases, want_ids, want) = fixture();
    let mut ids = Vec::new();
    enc.make_tokenizer()
        .unwrap()
        .tokenize_into(&bases, &mut ids);
    assert_eq!(ids, want_ids, "token ids");
    assert!(ids.len() > 2 * enc.receptive_radius().unwrap());
    let whole = encode_tokens(&enc, &ids, &StreamOptions::default()).unwrap();
    let err = max_abs_diff(&whole, &want);
    assert!(err <= 1e-4, "whole: max abs error {err}");
    for chunk in [97, 256] {
        let opts = StreamOptions {
            chunk_tokens: chunk,
            ..StreamOptions::default()
        };
        let got = encode_tokens(&enc, &ids, &opts).unwrap();
        let err = max_abs_diff(&got, &want);
        assert!(err <= 1e-4, "chunk {chunk}: max abs error {err}");
    }
}

#[test]
fn the_compiled_in_model_is_the_shipped_directory() {
    for (name, bytes) in BUNDLED_FILES {
        let on_disk = std::fs::read(shipped_dir().join(name)).unwrap();
        assert!(on_disk == bytes, "{name} differs from the compiled-in copy");
    }
    let (bases, _, _) = fixture();
    let from_dir = shipped();
    let bundled = load_bundled().unwrap();
    let mut ids = Vec::new();
    bundled
        .make_tokenizer()
        .unwrap()
        .tokenize_into(&bases, &mut ids);
    let opts = StreamOptions::default();
    let a = encode_tokens(&bundled, &ids, &opts).unwrap();
    let b = encode_tokens(&from_dir, &ids, &opts).unwrap();
    assert_eq!(a, b);
    assert!(bundled.mlm_head.is_some() && from_dir.mlm_head.is_some());
    assert_eq!(DefaultModel::Bundled.to_string(), "bundled:models/default");
}

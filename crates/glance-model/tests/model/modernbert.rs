//! ModernBERT parity with transformers (fixtures of scripts/modernbert_fixtures.py):
//! token ids equal the Python tokenizer's (tokenizer.json), last hidden states within
//! 1e-4, MLM log-probabilities within 1e-3, on inputs with N, lower case and odd lengths;
//! the all-local model streams in chunks exactly as it encodes whole.

// Tests unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::{max_abs_diff, model_dir};
use glance_model::encoder::TokenizerSource;
use glance_model::{encode_tokens, load, Architecture, Encoder, RunMode, StreamOptions, Weights};
use glance_seq::{Record, SeqReader};
use ndarray::Array2;

/// The fixture sequences (name, bases).
fn sequences() -> Vec<(String, Vec<u8>)> {
    let mut reader = SeqReader::open(model_dir("modernbert_sequences.fa")).unwrap();
    let mut rec = Record::default();
    let mut out = Vec::new();
    while reader.read_record(&mut rec).unwrap() {
        out.push((rec.name.clone(), rec.sequence.clone()));
    }
    assert_eq!(out.len(), 4);
    out
}

/// `<seq>.<what>` of a fixture's expected.safetensors as `[rows, cols]`.
fn expected(w: &Weights, seq: &str, what: &str) -> Array2<f32> {
    let name = format!("{seq}.{what}");
    let s = w.shape(&name).unwrap().to_vec();
    w.matrix(&name, s[0], s[1]).unwrap()
}

fn expected_ids(w: &Weights, seq: &str) -> Vec<u32> {
    let name = format!("{seq}.ids");
    let n = w.shape(&name).unwrap()[0];
    w.tensor(&name, &[n])
        .unwrap()
        .into_iter()
        .map(|v| v as u32)
        .collect()
}

/// Checks ids and hidden states of every sequence; returns the largest hidden-state
/// error.
fn check_hidden(enc: &Encoder, model: &str) -> f32 {
    let w = Weights::open(&model_dir(model).join("expected.safetensors")).unwrap();
    let tokenizer = enc.make_tokenizer().unwrap();
    let mut worst = 0f32;
    for (name, bases) in sequences() {
        let mut ids = Vec::new();
        tokenizer.tokenize_into(&bases, &mut ids);
        assert_eq!(ids, expected_ids(&w, &name), "{model}/{name}: token ids");
        let got = encode_tokens(enc, &ids, &StreamOptions::default()).unwrap();
        let err = max_abs_diff(&got, &expected(&w, &name, "hidden"));
        assert!(err <= 1e-4, "{model}/{name}: max abs error {err}");
        worst = worst.max(err);
    }
    worst
}

#[test]
fn mixed_global_and_local_layers_match_transformers() {
    let enc = load(&model_dir("modernbert_mixed")).unwrap();
    assert_eq!(enc.architecture, Architecture::ModernBert);
    let patterns: Vec<String> = enc
        .layers
        .iter()
        .map(|l| l.attention.pattern.to_string())
        .collect();
    assert_eq!(patterns, ["full", "sliding:r=8", "sliding:r=8", "full"]);
    // a global layer: whole records
    assert_eq!(enc.run_mode().unwrap(), RunMode::Whole);
    assert!(
        enc.layers[0].norm1.is_none(),
        "layer 0's attn_norm is an identity"
    );
    assert!(enc.layers[1].norm1.is_some());
    assert!(enc.mlm_head.is_none());
    assert_eq!(
        enc.tokenizer_source,
        TokenizerSource::TokenizerJson {
            model: "WordLevel".into()
        }
    );
    let err = check_hidden(&enc, "modernbert_mixed");
    eprintln!("modernbert_mixed: max abs error {err}");
}

#[test]
fn all_local_masked_lm_matches_transformers_and_streams_exactly() {
    let model = "modernbert_local_mlm";
    let enc = load(&model_dir(model)).unwrap();
    // three local layers of ±8 tokens: chunks with a halo of 24
    assert_eq!(enc.run_mode().unwrap(), RunMode::Chunked { halo: 24 });
    let err = check_hidden(&enc, model);
    eprintln!("{model}: max abs error {err}");

    let w = Weights::open(&model_dir(model).join("expected.safetensors")).unwrap();
    let head = enc
        .mlm_head
        .as_ref()
        .expect("ModernBertForMaskedLM has a head");
    assert_eq!(head.vocab_size(), 16);
    let tokenizer = enc.make_tokenizer().unwrap();
    let mut worst = 0f32;
    for (name, bases) in sequences() {
        let mut ids = Vec::new();
        tokenizer.tokenize_into(&bases, &mut ids);
        let whole = enc.forward(&ids, 0).unwrap();
        // chunks much shorter than the 402-token input, so streaming really cuts it
        for chunk in [7, 32, 100] {
            let opts = StreamOptions {
                chunk_tokens: chunk,
                ..StreamOptions::default()
            };
            let streamed = encode_tokens(&enc, &ids, &opts).unwrap();
            let diff = max_abs_diff(&streamed, &whole);
            assert!(
                diff <= 1e-6,
                "{name}, chunk {chunk}: streamed differs by {diff}"
            );
        }
        let got = head.log_probs(whole.view());
        let want = expected(&w, &name, "log_probs");
        let err = max_abs_diff(&got, &want);
        assert!(err <= 1e-3, "{name}: MLM log-prob error {err}");
        worst = worst.max(err);
    }
    eprintln!("{model}: MLM log-prob max abs error {worst}");

    // the fixture is sensitive to the window edge: one token less each side fails parity
    let mut narrower = enc.clone();
    narrower
        .override_patterns(&["sliding:r=7".to_string()])
        .unwrap();
    let (_, long) = sequences().into_iter().find(|(n, _)| n == "long").unwrap();
    let ids = common::tokens(&enc, &long);
    let off = max_abs_diff(
        &narrower.forward(&ids, 0).unwrap(),
        &expected(&w, "long", "hidden"),
    );
    assert!(
        off > 1e-2,
        "r=7 instead of 8 moves the states by only {off}"
    );
}

#[test]
fn n_and_soft_masked_bases_tokenize_as_the_upper_case_reference() {
    let enc = load(&model_dir("modernbert_mixed")).unwrap();
    let vocab = &enc.vocab;
    let ids = common::tokens(&enc, b"ACGTNacgtnR");
    let n = vocab.id("N").unwrap();
    let want: Vec<u32> = ["A", "C", "G", "T", "N", "A", "C", "G", "T", "N"]
        .iter()
        .map(|b| vocab.id(b).unwrap())
        .chain([n]) // IUPAC codes other than N read as N (documented)
        .collect();
    assert_eq!(ids, want);
    assert_eq!(vocab.special().mask, vocab.id("[MASK]"));
}

/// A copy of a fixture directory, `edit` applied to it.
fn copy_of(model: &str, edit: impl Fn(&std::path::Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(model_dir(model)).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    edit(dir.path());
    dir
}

#[test]
fn older_configs_without_layer_types_and_rope_parameters_load_the_same_model() {
    // transformers < 5 configs (as the hub's ModernBERT-base): global_attn_every_n_layers,
    // global_rope_theta and local_rope_theta instead of layer_types and rope_parameters
    let dir = copy_of("modernbert_mixed", |d| {
        let path = d.join("config.json");
        let mut cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let obj = cfg.as_object_mut().unwrap();
        obj.remove("layer_types").unwrap();
        obj.remove("rope_parameters").unwrap();
        obj.insert("global_rope_theta".into(), 160000.0.into());
        obj.insert("local_rope_theta".into(), 10000.0.into());
        assert_eq!(obj["global_attn_every_n_layers"], 3);
        std::fs::write(&path, cfg.to_string()).unwrap();
    });
    let old = load(dir.path()).unwrap();
    let new = load(&model_dir("modernbert_mixed")).unwrap();
    let ids = common::tokens(&new, &common::bases(90, 7, (13, 5)));
    assert_eq!(old.forward(&ids, 0).unwrap(), new.forward(&ids, 0).unwrap());
    // a different local theta changes the result: the theta is really read
    let other = copy_of("modernbert_mixed", |d| {
        let path = d.join("config.json");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("10000.0", "500.0")).unwrap();
    });
    let other = load(other.path()).unwrap();
    let diff = max_abs_diff(
        &other.forward(&ids, 0).unwrap(),
        &new.forward(&ids, 0).unwrap(),
    );
    assert!(diff > 1e-2, "{diff}");
}

#[test]
fn a_dnabert_vocab_txt_serves_when_there_is_no_tokenizer_json() {
    let dir = copy_of("modernbert_mixed", |d| {
        std::fs::remove_file(d.join("tokenizer.json")).unwrap();
        std::fs::write(
            d.join("vocab.txt"),
            "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nA\nT\nC\nG\n",
        )
        .unwrap();
    });
    let enc = load(dir.path()).unwrap();
    assert_eq!(enc.tokenizer_source, TokenizerSource::VocabTxt);
    assert_eq!(common::tokens(&enc, b"ATCGN"), [5, 6, 7, 8, 1]);
    let none = copy_of("modernbert_mixed", |d| {
        std::fs::remove_file(d.join("tokenizer.json")).unwrap();
    });
    let e = load(none.path()).unwrap_err().to_string();
    assert!(e.contains("no tokenizer"), "{e}");
}

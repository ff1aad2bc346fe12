//! Nucleotide Transformer parity with the fixtures of scripts/nt_fixtures.py: v1 against
//! transformers' `EsmForMaskedLM` (a pytorch_model.bin, 6-mers, `token_dropout`,
//! `<eos>` appended), v2 against a reference of the checkpoints' own modelling code
//! (rotary, SwiGLU without biases, no `<eos>`): token ids and spans as `EsmTokenizer`
//! gives them, last hidden states within 1e-4, MLM log-probabilities within 1e-3, and
//! the streamed path (windows cut from each record's token stream) equal to both.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{
    column, edited, ids, max_abs_diff, model_dir, records, reference, table, Streamed,
};
use glance_model::{
    encode_source, encode_tokens, load, Architecture, Encoder, RunMode, StreamOptions, Weights,
};
use glance_seq::SeqReader;
use ndarray::s;

const MODELS: [&str; 2] = ["nt_v1_k6", "nt_v2_k3"];

/// The fixture sequences (name, bases).
fn sequences() -> Vec<(String, Vec<u8>)> {
    records("nt_sequences.fa")
}

/// The first base of each token, `{name}.starts` (the NT fixtures keep no ends).
fn token_starts(w: &Weights, name: &str) -> Vec<u64> {
    column(w, &format!("{name}.starts"))
        .into_iter()
        .map(|v| v as u64)
        .collect()
}

#[test]
fn checkpoints_load_as_nucleotide_transformer_windows() {
    for (model, eos, content) in [("nt_v1_k6", true, 22), ("nt_v2_k3", false, 39)] {
        let enc = load(&model_dir(model)).unwrap();
        assert_eq!(enc.architecture, Architecture::NucleotideTransformer);
        assert!(enc.mlm_head.is_some(), "{model}: EsmForMaskedLM has a head");
        match enc.run_mode().unwrap() {
            RunMode::Windows { tokens, cls, sep } => {
                assert_eq!(tokens, content, "{model}");
                assert_eq!(cls, 3, "{model}: <cls>");
                assert_eq!(sep, eos.then_some(4), "{model}: <eos>");
            }
            other => panic!("{model}: {other:?}"),
        }
    }
}

#[test]
fn tokens_and_spans_match_esm_tokenizer() {
    for model in MODELS {
        let enc = load(&model_dir(model)).unwrap();
        let tokenizer = enc.longest_match_tokenizer().unwrap();
        let want = reference(model);
        for (name, bases) in sequences() {
            let (got, spans) = tokenizer.tokenize(&bases);
            assert_eq!(got, ids(&want, &name), "{model}/{name}");
            let starts: Vec<u64> = spans.iter().map(|s| s.start).collect();
            assert_eq!(starts, token_starts(&want, &name), "{model}/{name}");
        }
        assert!(enc.make_tokenizer().is_err(), "no k-mer grid for {model}");
    }
}

#[test]
fn hidden_states_and_log_probs_match_the_reference() {
    for model in MODELS {
        let enc = load(&model_dir(model)).unwrap();
        let head = enc.mlm_head.as_ref().unwrap();
        let tokenizer = enc.longest_match_tokenizer().unwrap();
        let want = reference(model);
        let mut checked = 0;
        for (name, bases) in sequences() {
            let (tokens, _) = tokenizer.tokenize(&bases);
            let got = encode_tokens(&enc, &tokens, &StreamOptions::default()).unwrap();
            let Some(hidden) = table(&want, &format!("{name}.hidden")) else {
                assert_eq!(got.nrows(), 0);
                continue;
            };
            let err = max_abs_diff(&got, &hidden);
            eprintln!("{model}/{name}: hidden max abs error {err:e}");
            assert!(err <= 1e-4, "{model}/{name}: hidden max abs error {err}");
            checked += 1;
            if let Some(lp) = table(&want, &format!("{name}.log_probs")) {
                let got = head.log_probs(got.slice(s![..lp.nrows(), ..]));
                let err = max_abs_diff(&got, &lp);
                eprintln!("{model}/{name}: log-prob max abs error {err:e}");
                assert!(err <= 1e-3, "{model}/{name}: log-prob max abs error {err}");
            }
        }
        assert_eq!(checked, 4, "{model}");
        // `<mask>` tokens: with token_dropout (v1) they also rescale every embedding.
        let masked = ids(&want, "masked");
        let lp = table(&want, "masked.log_probs").unwrap();
        let hidden = encode_tokens(&enc, &masked, &StreamOptions::default()).unwrap();
        let got = head.log_probs(hidden.slice(s![..lp.nrows(), ..]));
        let err = max_abs_diff(&got, &lp);
        eprintln!("{model}/masked: log-prob max abs error {err:e}");
        assert!(err <= 1e-3, "{model}/masked: log-prob max abs error {err}");
    }
}

fn stream(enc: &Encoder, opts: &StreamOptions) -> Streamed {
    let reader = SeqReader::open(model_dir("nt_sequences.fa")).unwrap();
    let mut sink = Streamed::default();
    let mut bases = 0;
    encode_source(enc, reader, opts, &mut sink, &mut |n| bases += n).unwrap();
    let total: usize = sequences().iter().map(|(_, s)| s.len()).sum();
    assert_eq!(bases, total as u64, "progress counts every base");
    sink
}

#[test]
fn streaming_cuts_windows_from_the_token_stream() {
    for model in MODELS {
        let enc = load(&model_dir(model)).unwrap();
        let want = reference(model);
        for batch in [1, 3] {
            let opts = StreamOptions {
                batch,
                ..StreamOptions::default()
            };
            let got = stream(&enc, &opts);
            for ((name, bases), rec) in sequences().iter().zip(&got.records) {
                let (rows, spans) = (&rec.rows, &rec.spans);
                assert_eq!(name, &rec.name);
                assert_eq!(rec.len, bases.len() as u64);
                let starts: Vec<u64> = spans.iter().map(|s| s.start).collect();
                assert_eq!(starts, token_starts(&want, name), "{model}/{name}");
                // spans tile the record
                assert!(spans.windows(2).all(|w| w[0].end == w[1].start));
                assert_eq!(spans.last().map_or(0, |s| s.end), bases.len() as u64);
                match table(&want, &format!("{name}.hidden")) {
                    Some(hidden) => {
                        let err = max_abs_diff(rows, &hidden);
                        assert!(err <= 1e-4, "{model}/{name}: streamed error {err}");
                    }
                    None => assert_eq!(rows.nrows(), 0),
                }
            }
        }
    }
}

#[test]
fn overlapping_windows_average_their_shared_tokens() {
    let enc = load(&model_dir("nt_v1_k6")).unwrap();
    let (name, bases) = sequences().into_iter().find(|(n, _)| n == "long").unwrap();
    let opts = StreamOptions {
        overlap: 5,
        ..StreamOptions::default()
    };
    let ids = enc.longest_match_tokenizer().unwrap().tokenize(&bases).0;
    let whole = encode_tokens(&enc, &ids, &opts).unwrap();
    let streamed = stream(&enc, &opts);
    let rec = streamed.records.iter().find(|r| r.name == name).unwrap();
    assert_eq!(max_abs_diff(&rec.rows, &whole), 0.0);
    // windows of 22 tokens, 17 apart: token 17 is in two windows, so differs from the
    // reference of non-overlapping windows
    let plain = encode_tokens(&enc, &ids, &StreamOptions::default()).unwrap();
    assert!(max_abs_diff(&whole, &plain) > 1e-3);
}

fn load_error(dir: &tempfile::TempDir) -> String {
    load(dir.path()).expect_err("a clear error").to_string()
}

#[test]
fn mismatched_tokenizer_files_and_shapes_are_refused() {
    // a vocab.txt with more tokens than the embedding table
    let dir = edited("nt_v2_k3", "config.json", |t| {
        t.replace("\"vocab_size\": 75", "\"vocab_size\": 70")
    });
    let err = load_error(&dir);
    assert!(
        err.contains("vocab.txt") && err.contains("vocab_size is 70"),
        "{err}"
    );
    // a vocabulary without the single-nucleotide fallback tokens
    let dir = edited("nt_v2_k3", "vocab.txt", |t| {
        t.lines()
            .filter(|l| !matches!(*l, "A" | "C" | "G" | "T"))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    let err = load_error(&dir);
    assert!(err.contains("single nucleotides"), "{err}");
    // an eos_token the vocabulary lacks
    let dir = edited("nt_v2_k3", "tokenizer_config.json", |t| {
        t.replace("\"eos_token\": null", "\"eos_token\": \"<end>\"")
    });
    let err = load_error(&dir);
    assert!(err.contains("eos_token `<end>`"), "{err}");
    // a config whose FFN width disagrees with the checkpoint: the tensor is named
    let dir = edited("nt_v2_k3", "config.json", |t| {
        t.replace("\"intermediate_size\": 48", "\"intermediate_size\": 40")
    });
    let err = load_error(&dir);
    assert!(
        err.contains("esm.encoder.layer.0.intermediate.dense.weight"),
        "{err}"
    );
    // an unsupported position type
    let dir = edited("nt_v2_k3", "config.json", |t| {
        t.replace("\"rotary\"", "\"relative_key\"")
    });
    let err = load_error(&dir);
    assert!(
        err.contains("position_embedding_type `relative_key`"),
        "{err}"
    );
}

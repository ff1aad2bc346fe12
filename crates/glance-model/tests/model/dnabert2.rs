//! DNABERT-2 parity with the fixtures of scripts/dnabert2_fixtures.py (a BPE
//! tokenizer.json trained with the `tokenizers` package, a random-init checkpoint in
//! DNABERT-2's config shape, a PyTorch reference of bert_layers.py): token ids and base
//! spans as the Python tokenizer gives them, last hidden states within 1e-4, MLM
//! log-probabilities within 1e-3, the streamed path and region embeddings equal to the
//! reference pooled by base span, the BPE chunking rule, and one clear error per bad input.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{
    check_bins_pool_the_reference_by_span, check_hidden_states_and_log_probs, edited, ids, matrix,
    max_abs_diff, model_dir, records, reference, spans, PooledRows, Streamed,
};
use glance_model::{
    encode_source, encode_tokens, load, Architecture, Encoder, ModelError, Pooler, Pooling,
    Regions, RunMode, Segmentation, StreamOptions, TokenSink,
};
use glance_seq::SeqReader;

const MODEL: &str = "dnabert2_bpe";

fn sequences() -> Vec<(String, Vec<u8>)> {
    records("dnabert2_sequences.fa")
}

#[test]
fn checkpoint_loads_as_dnabert2_in_windows() {
    let enc = load(&model_dir(MODEL)).unwrap();
    assert_eq!(enc.architecture, Architecture::Dnabert2);
    assert_eq!(enc.segmentation.name(), "BPE");
    assert_eq!(enc.vocab.len(), 96);
    assert_eq!(enc.tokenizer_source.to_string(), "tokenizer.json BPE");
    assert!(enc.mlm_head.is_some(), "BertForMaskedLM has a head");
    assert!(enc.final_norm.is_none());
    assert!(
        enc.embeddings.positions.is_none(),
        "ALiBi: no position table"
    );
    // [CLS] = 1, [SEP] = 2 in DNABERT-2's order; 32 - 2 content tokens
    assert_eq!(
        enc.run_mode().unwrap(),
        RunMode::Windows {
            tokens: 30,
            cls: 1,
            sep: Some(2)
        }
    );
    // 6 heads: the slopes of bert_layers.py's _get_alibi_head_slopes
    let slopes = enc.layers[0].attention.alibi.clone().unwrap();
    assert_eq!(slopes, [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125]);
    assert!(
        enc.make_tokenizer().is_err(),
        "BPE tokens are not on a grid"
    );
}

#[test]
fn token_ids_and_spans_match_the_python_tokenizer() {
    let enc = load(&model_dir(MODEL)).unwrap();
    let want = reference(MODEL);
    for (name, bases) in sequences() {
        let (got_ids, got_spans) = enc.span_tokenizer().unwrap().tokenize(&bases).unwrap();
        assert_eq!(got_ids, ids(&want, &name), "{name}");
        assert_eq!(got_spans, spans(&want, &name), "{name}");
    }
}

#[test]
fn hidden_states_and_log_probs_match_the_reference() {
    let names: Vec<String> = sequences().into_iter().map(|(name, _)| name).collect();
    check_hidden_states_and_log_probs(MODEL, &names);
}

#[test]
fn alibi_extrapolates_past_the_training_window() {
    // one window holding the whole `long` record (305 tokens, trained on 30)
    let mut enc = load(&model_dir(MODEL)).unwrap();
    if let Some(w) = enc.window.as_mut() {
        w.tokens = 400;
    }
    let want = reference(MODEL);
    let got = encode_tokens(&enc, &ids(&want, "long"), &StreamOptions::default()).unwrap();
    let err = max_abs_diff(&got, &matrix(&want, "whole.long.hidden"));
    assert!(err <= 1e-4, "whole-record window: {err}");
    // a sliding pattern inside the windows runs (and changes the result)
    let mut sliding = load(&model_dir(MODEL)).unwrap();
    sliding.override_patterns(&["sliding:r=4".into()]).unwrap();
    let near = encode_tokens(&sliding, &ids(&want, "long"), &StreamOptions::default()).unwrap();
    assert!(max_abs_diff(&near, &matrix(&want, "long.hidden")) > 1e-3);
}

/// One streamed record: name, rows, their tokens' spans, length.
fn stream(enc: &Encoder, opts: &StreamOptions, sink: &mut dyn TokenSink) {
    let reader = SeqReader::open(model_dir("dnabert2_sequences.fa")).unwrap();
    let mut bases = 0;
    encode_source(enc, reader, opts, sink, &mut |n| bases += n).unwrap();
    let total: usize = sequences().iter().map(|(_, s)| s.len()).sum();
    assert_eq!(bases, total as u64, "progress counts every base");
}

/// `enc` with its BPE tokenizer cutting records into pieces of `piece` bases with
/// `lookahead` bases of look-ahead.
fn with_pieces(enc: &Encoder, piece: usize, lookahead: usize) -> Encoder {
    let mut enc = enc.clone();
    let Segmentation::Bpe(bpe) = &enc.segmentation else {
        panic!("not BPE")
    };
    enc.segmentation = Segmentation::Bpe(bpe.clone().with_pieces(piece, lookahead).unwrap());
    enc
}

#[test]
fn streaming_matches_the_reference_with_token_spans() {
    let enc = load(&model_dir(MODEL)).unwrap();
    let want = reference(MODEL);
    for batch in [1, 4] {
        let opts = StreamOptions {
            batch,
            ..StreamOptions::default()
        };
        let mut got = Streamed::default();
        stream(&enc, &opts, &mut got);
        for ((name, bases), rec) in sequences().iter().zip(&got.records) {
            assert_eq!(name, &rec.name);
            assert_eq!(rec.len, bases.len() as u64);
            assert_eq!(rec.spans, spans(&want, name), "{name}");
            let err = max_abs_diff(&rec.rows, &matrix(&want, &format!("{name}.hidden")));
            assert!(err <= 1e-4, "{name}: streamed error {err}");
        }
    }
}

#[test]
fn bins_equal_the_reference_pooled_by_base_span() {
    let enc = load(&model_dir(MODEL)).unwrap();
    let want = reference(MODEL);
    let size = 50u64;
    let mut rows = PooledRows::default();
    {
        let regions = Regions::Bins { size, step: size };
        let mut pooler =
            Pooler::new(Pooling::Mean, regions, None, enc.d_model(), &mut rows).unwrap();
        stream(&enc, &StreamOptions::default(), &mut pooler);
        pooler.finish().unwrap();
    }
    let mut checked = 0;
    for (name, bases) in sequences() {
        checked += check_bins_pool_the_reference_by_span(&rows, &want, &name);
        assert!(
            bases.len() as u64
                <= rows
                    .0
                    .iter()
                    .filter(|(r, _)| r.chrom == name)
                    .map(|(r, _)| r.end)
                    .max()
                    .unwrap()
        );
    }
    assert!(checked >= 20, "{checked} bins");
}

#[test]
fn bpe_pieces_change_nothing_beyond_the_documented_rule() {
    let enc = load(&model_dir(MODEL)).unwrap();
    let want = reference(MODEL);
    let (_, long) = sequences().into_iter().find(|(n, _)| n == "long").unwrap();
    let whole_ids = ids(&want, "long");
    let whole_spans = spans(&want, "long");
    // pieces larger than the record: exactly the whole record's tokens and states
    let big = with_pieces(&enc, long.len(), 0);
    let mut got = Streamed::default();
    stream(&big, &StreamOptions::default(), &mut got);
    let rec = got.records.iter().find(|r| r.name == "long").unwrap();
    assert_eq!(rec.spans, whole_spans);
    let tokens = encode_tokens(&enc, &whole_ids, &StreamOptions::default()).unwrap();
    assert_eq!(
        max_abs_diff(&rec.rows, &tokens),
        0.0,
        "bit-identical to the whole record"
    );
    // small pieces with look-ahead: the same tokens (this vocabulary's tokens are short)
    for piece in [17, 64, 200] {
        let small = with_pieces(&enc, piece, 32);
        let (i, s) = small.span_tokenizer().unwrap().tokenize(&long).unwrap();
        assert_eq!((&i, &s), (&whole_ids, &whole_spans), "piece {piece}");
    }
    // without look-ahead, tokens still tile the record, and only tokens near a piece's
    // end differ from the whole record's
    let piece = 40u64;
    let bare = with_pieces(&enc, piece as usize, 0);
    let (i, s) = bare.span_tokenizer().unwrap().tokenize(&long).unwrap();
    assert!(s.windows(2).all(|w| w[0].end == w[1].start));
    assert_eq!(s.last().unwrap().end, long.len() as u64);
    let longest = whole_spans.iter().map(|r| r.end - r.start).max().unwrap();
    let mut differ = 0;
    for (t, span) in s.iter().enumerate() {
        let same = whole_spans.iter().position(|w| w == span);
        if same.is_none_or(|u| whole_ids[u] != i[t]) {
            differ += 1;
            // within a few tokens' length before a cut (the piece ends at the last kept
            // token's end, so cuts drift right by less than a token)
            let cut_distance = (0..)
                .map(|c| c * piece)
                .take_while(|&c| c <= long.len() as u64 + piece)
                .map(|c| span.start.abs_diff(c))
                .min()
                .unwrap();
            assert!(
                cut_distance <= 4 * longest + piece / 2,
                "token {span:?} differs far from any cut"
            );
        }
    }
    assert!(
        differ < s.len() / 2,
        "{differ} of {} tokens differ",
        s.len()
    );
}

#[test]
fn bpe_tokens_stream_in_chunks_with_halos_when_the_stack_is_local() {
    // Without training windows and with a local pattern (ALiBi is relative), a BPE model
    // streams in chunks cut from the token stream, with a halo of the summed radii: the
    // kept rows equal encoding the whole record at once.
    let mut enc = load(&model_dir(MODEL)).unwrap();
    enc.window = None;
    enc.override_patterns(&["sliding:r=3".into()]).unwrap();
    assert_eq!(enc.run_mode().unwrap(), RunMode::Chunked { halo: 6 });
    let want = reference(MODEL);
    for chunk_tokens in [5, 16, 1000] {
        let opts = StreamOptions {
            chunk_tokens,
            batch: 3,
            ..StreamOptions::default()
        };
        let mut got = Streamed::default();
        stream(&enc, &opts, &mut got);
        for rec in &got.records {
            let name = &rec.name;
            assert_eq!(rec.spans, spans(&want, name), "{name}");
            let whole = enc.forward(&ids(&want, name), 0).unwrap();
            let err = max_abs_diff(&rec.rows, &whole);
            assert!(err <= 1e-5, "{name}, chunks of {chunk_tokens}: {err}");
        }
    }
}

#[test]
fn bad_inputs_give_one_clear_error_each() {
    // a tokenizer.json that is neither BPE nor WordPiece / WordLevel
    let dir = edited(MODEL, "tokenizer.json", |t| {
        t.replacen("\"type\": \"BPE\"", "\"type\": \"Unigram\"", 1)
    });
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(&e, ModelError::Tokenizer { path, .. } if path.ends_with("tokenizer.json")),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("model type `Unigram`") && !msg.contains('\n'),
        "{msg}"
    );
    // a vocabulary larger than the embedding table
    let dir = edited(MODEL, "config.json", |t| {
        t.replace("\"vocab_size\": 96", "\"vocab_size\": 90")
    });
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(
            &e,
            ModelError::VocabSize {
                tokens: 96,
                vocab_size: 90,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("tokenizer.json"), "{e}");
    // an architecture bert_layers.py does not define
    let dir = edited(MODEL, "config.json", |t| {
        t.replace("\"BertForMaskedLM\"", "\"BertForQuestionAnswering\"")
    });
    let e = load(dir.path()).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, ModelError::Unsupported { .. })
            && msg.contains("BertForQuestionAnswering")
            && msg.contains("config.json"),
        "{msg}"
    );
    // a BPE file that does not parse
    let dir = edited(MODEL, "tokenizer.json", |t| {
        t.replacen("\"merges\"", "\"merged\"", 1)
    });
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(&e, ModelError::Tokenizer { .. }), "{e}");
}

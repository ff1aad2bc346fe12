//! GENA-LM parity with the fixtures of scripts/gena_fixtures.py: a BPE tokenizer.json
//! trained with the `tokenizers` package (`[CLS] ... [SEP]` post-processor), a pre-LN
//! GENA-LM BERT (PyTorch reference of their modeling_bert.py) and a transformers
//! BigBirdForMaskedLM with block-sparse attention (windows of 128 tokens, block 8, 2
//! random blocks: block-sparse, padded block-sparse and full-attention windows). Token
//! ids and spans as the Python tokenizer gives them; every layer's output and the last
//! hidden states within 1e-4; MLM log-probabilities within 1e-3; the streamed path and
//! region embeddings equal to the reference pooled by base span; one clear error per
//! bad BigBird or GENA-LM config.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{
    check_bins_pool_the_reference_by_span, check_hidden_states_and_log_probs, edited, ids, matrix,
    max_abs_diff, model_dir, records, reference, spans, PooledRows, Streamed,
};
use glance_attn::{Local, Pattern};
use glance_model::{
    encode_source, encode_tokens, load, Architecture, ModelError, Pooler, Pooling, Regions,
    RunMode, StreamOptions, TokenSink,
};
use glance_seq::SeqReader;

const BERT: &str = "gena_bert_bpe";
const BIGBIRD: &str = "gena_bigbird_bpe";

fn sequences() -> Vec<(String, Vec<u8>)> {
    records("gena_sequences.fa")
}

#[test]
fn checkpoints_load_as_gena_bert_and_bigbird_in_windows() {
    let bert = load(&model_dir(BERT)).unwrap();
    assert_eq!(bert.architecture, Architecture::GenaLm);
    assert!(bert.final_norm.is_some(), "last_layer_ln");
    let bigbird = load(&model_dir(BIGBIRD)).unwrap();
    assert_eq!(bigbird.architecture, Architecture::BigBird);
    assert!(bigbird.final_norm.is_none());
    assert_eq!(
        bigbird.layers[0].attention.pattern,
        Pattern::local(Local::BigBird {
            block: 8,
            random: 2
        })
    );
    for (enc, window) in [(&bert, 48), (&bigbird, 128)] {
        assert_eq!(enc.segmentation.name(), "BPE");
        assert_eq!(enc.vocab.len(), 128);
        assert_eq!(enc.tokenizer_source.to_string(), "tokenizer.json BPE");
        assert!(enc.mlm_head.is_some());
        // [CLS] = 2, [SEP] = 3 in this tokenizer's order
        assert_eq!(
            enc.run_mode().unwrap(),
            RunMode::Windows {
                tokens: window - 2,
                cls: 2,
                sep: Some(3)
            }
        );
    }
}

#[test]
fn token_ids_and_spans_match_the_python_tokenizer() {
    for model in [BERT, BIGBIRD] {
        let enc = load(&model_dir(model)).unwrap();
        let want = reference(model);
        for (name, bases) in sequences() {
            let (got_ids, got_spans) = enc.span_tokenizer().unwrap().tokenize(&bases).unwrap();
            assert_eq!(got_ids, ids(&want, &name), "{model} {name}");
            assert_eq!(got_spans, spans(&want, &name), "{model} {name}");
        }
    }
}

#[test]
fn every_layer_matches_the_reference_on_a_block_sparse_window() {
    for model in [BERT, BIGBIRD] {
        let enc = load(&model_dir(model)).unwrap();
        let want = reference(model);
        let RunMode::Windows { tokens, cls, sep } = enc.run_mode().unwrap() else {
            panic!("windows")
        };
        let mut window = vec![cls];
        window.extend(&ids(&want, "long")[..tokens]);
        window.extend(sep);
        let mut x = enc.embeddings.forward(&window).unwrap();
        let mut errors = vec![max_abs_diff(&x, &matrix(&want, "layers.long.0"))];
        for (i, layer) in enc.layers.iter().enumerate() {
            x = layer.forward(x, 0).unwrap();
            if i + 1 == enc.layers.len() {
                if let Some(norm) = &enc.final_norm {
                    norm.forward_inplace(&mut x);
                }
            }
            errors.push(max_abs_diff(
                &x,
                &matrix(&want, &format!("layers.long.{}", i + 1)),
            ));
        }
        eprintln!("{model}: max abs error after embeddings and each layer {errors:?}");
        assert!(errors.iter().all(|&e| e <= 1e-4), "{model}: {errors:?}");
    }
}

#[test]
fn hidden_states_and_log_probs_match_the_reference() {
    let names: Vec<String> = sequences().into_iter().map(|(name, _)| name).collect();
    for model in [BERT, BIGBIRD] {
        check_hidden_states_and_log_probs(model, &names);
    }
}

fn stream(model: &str, opts: &StreamOptions, sink: &mut dyn TokenSink) {
    let enc = load(&model_dir(model)).unwrap();
    let reader = SeqReader::open(model_dir("gena_sequences.fa")).unwrap();
    encode_source(&enc, reader, opts, sink, &mut |_| {}).unwrap();
}

#[test]
fn streaming_matches_the_reference_with_token_spans() {
    for model in [BERT, BIGBIRD] {
        let want = reference(model);
        let opts = StreamOptions {
            batch: 3,
            ..StreamOptions::default()
        };
        let mut got = Streamed::default();
        stream(model, &opts, &mut got);
        assert_eq!(got.records.len(), sequences().len());
        for rec in &got.records {
            let name = &rec.name;
            assert_eq!(rec.spans, spans(&want, name), "{model} {name}");
            let err = max_abs_diff(&rec.rows, &matrix(&want, &format!("{name}.hidden")));
            assert!(err <= 1e-4, "{model} {name}: streamed error {err}");
        }
    }
}

#[test]
fn bins_equal_the_reference_pooled_by_base_span() {
    for model in [BERT, BIGBIRD] {
        let want = reference(model);
        let size = 100u64;
        let mut rows = PooledRows::default();
        {
            let d = load(&model_dir(model)).unwrap().d_model();
            let regions = Regions::Bins { size, step: size };
            let mut pooler = Pooler::new(Pooling::Mean, regions, None, d, &mut rows).unwrap();
            stream(model, &StreamOptions::default(), &mut pooler);
            pooler.finish().unwrap();
        }
        let checked: usize = sequences()
            .iter()
            .map(|(name, _)| check_bins_pool_the_reference_by_span(&rows, &want, name))
            .sum();
        assert!(checked >= 20, "{model}: {checked} bins");
    }
}

fn unsupported(dir: &tempfile::TempDir, needle: &str) {
    let e = load(dir.path()).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, ModelError::Unsupported { path, .. } if path.ends_with("config.json")),
        "{msg}"
    );
    assert!(msg.contains(needle) && !msg.contains('\n'), "{msg}");
}

#[test]
fn bad_configs_give_one_clear_error_each() {
    let dir = edited(BIGBIRD, "config.json", |t| {
        t.replace("\"block_sparse\"", "\"sliding_window\"")
    });
    unsupported(&dir, "attention_type `sliding_window`");
    let dir = edited(BIGBIRD, "config.json", |t| {
        t.replace("\"block_size\": 8", "\"block_size\": 0")
    });
    unsupported(&dir, "block_size 0");
    let dir = edited(BIGBIRD, "config.json", |t| {
        t.replace("\"num_random_blocks\": 2", "\"num_random_blocks\": 0")
    });
    unsupported(&dir, "num_random_blocks 0");
    let dir = edited(BIGBIRD, "config.json", |t| {
        t.replace(
            "\"rescale_embeddings\": false",
            "\"rescale_embeddings\": true",
        )
    });
    unsupported(&dir, "rescale_embeddings");
    let dir = edited(BERT, "config.json", |t| {
        t.replace(
            "\"pre_layer_norm\": true",
            "\"pre_layer_norm\": true, \"sparse_config_cls\": \"deepspeed:SparsityConfig\"",
        )
    });
    unsupported(&dir, "sparse_config_cls");
    // without pre_layer_norm, GENA-LM's layers are transformers' post-LN BertLayer:
    // the pre-LN fixture then lacks the post-LN norms, and the error names the tensor
    let dir = edited(BERT, "config.json", |t| {
        t.replace("\"pre_layer_norm\": true", "\"pre_layer_norm\": false")
    });
    let msg = load(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("attention.output.LayerNorm") && !msg.contains('\n'),
        "{msg}"
    );
    // BigBird's full-attention variant loads, with full attention in every layer
    let dir = edited(BIGBIRD, "config.json", |t| {
        t.replace("\"block_sparse\"", "\"original_full\"")
    });
    let enc = load(dir.path()).unwrap();
    assert!(enc
        .layers
        .iter()
        .all(|l| l.attention.pattern == Pattern::local(Local::Full { causal: false })));
}

#[test]
fn bigbird_windows_really_are_block_sparse() {
    // The same weights with full attention everywhere miss the reference on the long
    // record (windows of 128 and 85 tokens are block-sparse in transformers) but not on
    // `short` (57 tokens <= 72: transformers runs full attention).
    let mut full = load(&model_dir(BIGBIRD)).unwrap();
    full.override_patterns(&["full".into()]).unwrap();
    let want = reference(BIGBIRD);
    let err = |name: &str| {
        let got = encode_tokens(&full, &ids(&want, name), &StreamOptions::default()).unwrap();
        max_abs_diff(&got, &matrix(&want, &format!("{name}.hidden")))
    };
    assert!(err("long") > 1e-2, "{}", err("long"));
    assert!(err("short") <= 1e-4, "{}", err("short"));
}

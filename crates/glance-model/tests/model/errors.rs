//! Loading errors name the file and the tensor: missing tensor, wrong shape, wrong
//! dtype, unsupported architecture, a tokenizer (vocab.txt or tokenizer.json) larger than
//! the config's vocab_size, an unsupported tokenizer.json; DNABERT-style configs without
//! layer_norm_eps or pad_token_id load.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;

use crate::common::model_dir;
use glance_model::{load, ModelError};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

/// Copies a fixture model to a temp dir, rewriting its tensors with `edit`.
fn edited(
    model: &str,
    edit: impl Fn(&mut HashMap<String, (Dtype, Vec<usize>, Vec<u8>)>),
) -> tempfile::TempDir {
    let src = model_dir(model);
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "vocab.txt", "tokenizer.json"] {
        if src.join(f).exists() {
            std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
        }
    }
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: HashMap<String, (Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, (t.dtype(), t.shape().to_vec(), t.data().to_vec())))
        .collect();
    edit(&mut tensors);
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, (d, s, b))| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, &dir.path().join("model.safetensors")).unwrap();
    dir
}

fn err(dir: &Path) -> String {
    load(dir).expect_err("load should fail").to_string()
}

#[test]
fn missing_tensor_is_named() {
    let dir = edited("bert_k3", |t| {
        t.remove("encoder.layer.1.attention.self.key.weight");
    });
    let msg = err(dir.path());
    assert!(
        msg.contains("missing tensor `encoder.layer.1.attention.self.key.weight`"),
        "{msg}"
    );
    assert!(msg.contains("model.safetensors"), "{msg}");
}

#[test]
fn wrong_shape_is_named() {
    let dir = edited("native_mixed", |t| {
        let e = t.get_mut("layers.2.ffn.up.weight").unwrap();
        e.1 = vec![32, 64];
    });
    let msg = err(dir.path());
    assert!(
        msg.contains("`layers.2.ffn.up.weight` has shape [32, 64], expected [64, 32]"),
        "{msg}"
    );
}

#[test]
fn wrong_dtype_is_named() {
    let dir = edited("native_alibi", |t| {
        let e = t.get_mut("layers.0.attn.q.bias").unwrap();
        e.0 = Dtype::I32;
    });
    let msg = err(dir.path());
    assert!(
        msg.contains("`layers.0.attn.q.bias` has dtype I32"),
        "{msg}"
    );
}

#[test]
fn half_precision_weights_load() {
    let dir = edited("native_mixed", |t| {
        for (d, _, b) in t.values_mut() {
            let f16: Vec<u8> = b
                .chunks_exact(4)
                .flat_map(|c| {
                    half::f16::from_f32(f32::from_le_bytes([c[0], c[1], c[2], c[3]])).to_le_bytes()
                })
                .collect();
            *d = Dtype::F16;
            *b = f16;
        }
    });
    let enc = load(dir.path()).unwrap();
    let full = load(&model_dir("native_mixed")).unwrap();
    let ids = [5u32, 9, 17, 40, 1, 33];
    let (a, b) = (
        enc.forward(&ids, 0).unwrap(),
        full.forward(&ids, 0).unwrap(),
    );
    let diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(diff > 0.0 && diff < 0.05, "f16 rounding only: {diff}");
}

#[test]
fn unsupported_architecture_and_bad_config_are_clear() {
    let dir = edited("bert_k3", |_| {});
    let cfg = dir.path().join("config.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("\"bert\"", "\"gpt2\"")
            .replace("BertModel", "GPT2Model"),
    )
    .unwrap();
    let msg = err(dir.path());
    assert!(
        msg.contains("unsupported architecture") && msg.contains("gpt2"),
        "{msg}"
    );

    let dir = edited("native_mixed", |_| {});
    let cfg = dir.path().join("config.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("\"version\": 1", "\"version\": 7")).unwrap();
    assert!(err(dir.path()).contains("config version 7 is not supported"));
    std::fs::write(&cfg, text.replace("block:b=8,n=1", "block:b=8")).unwrap();
    assert!(err(dir.path()).contains("layers[2].attention"));
    assert!(matches!(
        load(Path::new("/nonexistent/model")),
        Err(ModelError::Io { .. })
    ));
}

#[test]
fn dnabert_style_config_without_eps_and_pad_loads() {
    let text = std::fs::read_to_string(model_dir("bert_k3").join("config.json")).unwrap();
    assert!(!text.contains("layer_norm_eps") && !text.contains("pad_token_id"));
    assert!(load(&model_dir("bert_k3")).is_ok());
}

/// Rewrites `file` of `dir` with `edit` applied to its text.
fn rewrite(dir: &Path, file: &str, edit: impl Fn(String) -> String) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let new = edit(text.clone());
    assert_ne!(new, text, "{file}: the edit changed nothing");
    std::fs::write(&path, new).unwrap();
}

#[test]
fn unknown_model_type_or_architecture_is_refused() {
    // no model_type, an architecture of another family
    let dir = edited("modernbert_mixed", |_| {});
    rewrite(dir.path(), "config.json", |t| {
        t.replace("\"model_type\": \"modernbert\",", "")
            .replace("ModernBertModel", "GPT2Model")
    });
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, ModelError::Unsupported { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("GPT2Model") && msg.contains("ModernBERT"),
        "{msg}"
    );
    // no model_type, a ModernBERT architecture: read from the architecture
    let dir = edited("modernbert_mixed", |_| {});
    rewrite(dir.path(), "config.json", |t| {
        t.replace("\"model_type\": \"modernbert\",", "")
    });
    assert!(load(dir.path()).is_ok());
    // an unknown model_type
    let dir = edited("modernbert_mixed", |_| {});
    rewrite(dir.path(), "config.json", |t| {
        t.replace(
            "\"model_type\": \"modernbert\"",
            "\"model_type\": \"gpt_neox\"",
        )
    });
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, ModelError::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("\"gpt_neox\""), "{e}");
}

#[test]
fn a_tokenizer_larger_than_vocab_size_is_refused() {
    // vocab.txt: 69 tokens, vocab_size 60
    let dir = edited("bert_k3", |_| {});
    rewrite(dir.path(), "config.json", |t| {
        t.replace("\"vocab_size\": 69", "\"vocab_size\": 60")
    });
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(&e, ModelError::VocabSize { path, tokens: 69, vocab_size: 60 }
            if path.ends_with("vocab.txt")),
        "{e}"
    );
    // tokenizer.json: 10 tokens, vocab_size 8
    let dir = edited("modernbert_mixed", |_| {});
    rewrite(dir.path(), "config.json", |t| {
        t.replace("\"vocab_size\": 16", "\"vocab_size\": 8")
    });
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(&e, ModelError::VocabSize { path, tokens: 10, vocab_size: 8 }
            if path.ends_with("tokenizer.json")),
        "{e}"
    );
    assert!(e.to_string().contains("do not belong together"), "{e}");
}

#[test]
fn modernbert_missing_or_misshapen_tensors_are_named() {
    let dir = edited("modernbert_mixed", |t| {
        t.remove("layers.2.attn.Wqkv.weight");
    });
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(&e, ModelError::MissingTensor { tensor, .. } if tensor == "layers.2.attn.Wqkv.weight"),
        "{e}"
    );
    let dir = edited("modernbert_mixed", |t| {
        let (dtype, _, bytes) = t.remove("layers.1.mlp.Wi.weight").unwrap();
        // [96, 32] stored as [32, 96]
        t.insert(
            "layers.1.mlp.Wi.weight".into(),
            (dtype, vec![32, 96], bytes),
        );
    });
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(&e, ModelError::Shape { tensor, expected, found, .. }
            if tensor == "layers.1.mlp.Wi.weight" && expected == &[96, 32] && found == &[32, 96]),
        "{e}"
    );
}

#[test]
fn unsupported_tokenizer_json_is_refused() {
    let cases: [(&str, &str, &str); 4] = [
        (
            "\"type\": \"WordLevel\"",
            "\"type\": \"Unigram\"",
            "model type `Unigram`",
        ),
        ("\"N\": 9", "\"AC\": 9", "token `AC`"),
        (
            "\"normalizer\": null",
            "\"normalizer\": {\"type\": \"Lowercase\"}",
            "normalizer `Lowercase`",
        ),
        (
            "\"Regex\": \".\"",
            "\"Regex\": \"..\"",
            "pre-tokenizer `Split`",
        ),
    ];
    for (from, to, says) in cases {
        let dir = edited("modernbert_mixed", |_| {});
        rewrite(dir.path(), "tokenizer.json", |t| t.replacen(from, to, 1));
        let e = load(dir.path()).unwrap_err();
        assert!(
            matches!(&e, ModelError::Tokenizer { path, .. } if path.ends_with("tokenizer.json")),
            "{e}"
        );
        let msg = e.to_string();
        assert!(msg.contains(says) && !msg.contains('\n'), "{msg}");
    }
}

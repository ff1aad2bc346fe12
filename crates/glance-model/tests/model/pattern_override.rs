//! `Encoder::override_patterns`: `SPEC` replaces every layer's pattern, `LAYER=SPEC` one
//! layer's; unknown layers and bad specs are typed errors naming the override.
//! `Encoder::limit_window`: shorter windows for windowed models, refused for others.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::model_dir;
use glance_model::{load, PatternOverrideError};

#[test]
fn overrides_apply_to_all_or_one_layer_and_bad_ones_are_refused() {
    let mut enc = load(&model_dir("native_mixed")).unwrap();
    let n = enc.layers.len();
    assert!(n >= 2, "fixture needs at least two layers");

    enc.override_patterns(&["sliding:r=3".to_string()]).unwrap();
    for layer in &enc.layers {
        assert_eq!(layer.attention.pattern.to_string(), "sliding:r=3");
    }
    enc.override_patterns(&["1=block:b=4,n=1".to_string()])
        .unwrap();
    assert_eq!(enc.layers[0].attention.pattern.to_string(), "sliding:r=3");
    assert_eq!(enc.layers[1].attention.pattern.to_string(), "block:b=4,n=1");

    let err = enc.override_patterns(&[format!("{n}=full")]).unwrap_err();
    assert!(matches!(err, PatternOverrideError::NoSuchLayer { last, .. } if last == n - 1));
    let err = enc
        .override_patterns(&["sliding:w=3".to_string()])
        .unwrap_err();
    assert!(matches!(err, PatternOverrideError::Pattern { .. }));
    assert!(err.to_string().starts_with("`sliding:w=3`: "), "{err}");
}

#[test]
fn limit_window_shortens_windows_only() {
    use glance_model::{encode_tokens, RunMode, StreamOptions};
    // bert_k3: 64 learned positions, windows of 62 content tokens in [CLS] ... [SEP]
    let base = load(&model_dir("bert_k3")).unwrap();
    let RunMode::Windows { tokens, cls, sep } = base.run_mode().unwrap() else {
        panic!("bert_k3 runs in windows");
    };
    assert_eq!(tokens, 62);
    let mut short = base.clone();
    short.limit_window(10).unwrap();
    assert_eq!(
        short.run_mode().unwrap(),
        RunMode::Windows {
            tokens: 10,
            cls,
            sep
        }
    );
    for bad in [0, 63] {
        let err = base.clone().limit_window(bad).unwrap_err();
        assert!(err.to_string().contains("1..=62"), "{err}");
    }
    // the model's own window: the same encoding; a shorter one: another
    let ids: Vec<u32> = (0..150).map(|i| 5 + (i * 7 % 64) as u32).collect();
    let opts = StreamOptions::default();
    let reference = encode_tokens(&base, &ids, &opts).unwrap();
    let mut same = base.clone();
    same.limit_window(62).unwrap();
    assert_eq!(encode_tokens(&same, &ids, &opts).unwrap(), reference);
    assert_ne!(encode_tokens(&short, &ids, &opts).unwrap(), reference);
    // a model without windows has none to shorten
    let mut local = load(&model_dir("native_mixed")).unwrap();
    assert!(local.limit_window(8).is_err());
}

//! `Encoder::override_patterns`: `SPEC` replaces every layer's pattern, `LAYER=SPEC` one
//! layer's; unknown layers and bad specs are typed errors naming the override.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::model_dir;
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

//! Checkpoint files (scripts/checkpoint_fixtures.py): one model, bert_k3, stored as
//! model.safetensors, as pytorch_model.bin (a strided view and a shared storage inside),
//! as sharded safetensors and as sharded bf16 .bin, gives the same tensors and the same
//! hidden states; a pickle that would run code is refused without running it; broken
//! files give one clear error each.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::common::{model_dir, sequences};
use glance_model::weights::Weights;
use glance_model::{encode_tokens, load, StreamOptions};

/// Every tensor of `dir` equals bert_k3's, through `round` (identity for f32 copies).
fn same_tensors(dir: &str, round: impl Fn(f32) -> f32) {
    let want = Weights::open_dir(&model_dir("bert_k3")).unwrap();
    let got = Weights::open_dir(&model_dir(dir)).unwrap();
    assert_eq!(got.names(), want.names(), "{dir}: tensor names");
    for name in want.names() {
        let shape = want.shape(name).unwrap().to_vec();
        let a: Vec<f32> = want
            .tensor(name, &shape)
            .unwrap()
            .into_iter()
            .map(&round)
            .collect();
        let b = got.tensor(name, &shape).unwrap();
        assert_eq!(a, b, "{dir}: tensor {name}");
    }
}

#[test]
fn every_layout_gives_the_same_tensors() {
    same_tensors("bert_k3_bin", |x| x);
    same_tensors("bert_k3_sharded", |x| x);
    same_tensors("bert_k3_bin_bf16", |x| half::bf16::from_f32(x).to_f32());
}

#[test]
fn bin_and_sharded_models_encode_as_the_safetensors_one() {
    let want = load(&model_dir("bert_k3")).unwrap();
    for dir in ["bert_k3_bin", "bert_k3_sharded"] {
        let got = load(&model_dir(dir)).unwrap();
        let tokenizer = want.make_tokenizer().unwrap();
        for (name, bases) in sequences() {
            let mut ids = Vec::new();
            tokenizer.tokenize_into(&bases, &mut ids);
            let a = encode_tokens(&want, &ids, &StreamOptions::default()).unwrap();
            let b = encode_tokens(&got, &ids, &StreamOptions::default()).unwrap();
            assert_eq!(a, b, "{dir}/{name}");
        }
    }
}

#[test]
fn a_pickle_that_runs_code_is_refused_without_running_it() {
    let err = load(&model_dir("evil_bin")).unwrap_err().to_string();
    assert!(err.contains("pytorch_model.bin"), "{err}");
    assert!(
        err.contains("`posix.system`") || err.contains("`os.system`"),
        "{err}"
    );
    assert!(err.contains("refusing"), "{err}");
    assert!(!err.contains('\n'), "{err}");
    assert!(!Path::new("evil_ran.txt").exists());
}

/// A copy of a fixture directory with `edit` applied.
fn broken(fixture: &str, edit: impl Fn(&Path)) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(model_dir(fixture)).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    edit(dir.path());
    let err = load(dir.path()).unwrap_err().to_string();
    assert!(!err.contains('\n'), "{err}");
    (dir, err)
}

#[test]
fn broken_checkpoints_give_one_clear_error() {
    // truncated .bin
    let (_d, err) = broken("bert_k3_bin", |d| {
        let p = d.join("pytorch_model.bin");
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert!(
        err.contains("pytorch_model.bin: cannot read the zip archive"),
        "{err}"
    );
    // not a zip (a legacy checkpoint)
    let (_d, err) = broken("bert_k3_bin", |d| {
        std::fs::write(d.join("pytorch_model.bin"), b"\x80\x02}q\x00.").unwrap();
    });
    assert!(err.contains("legacy PyTorch checkpoint"), "{err}");
    // an index naming a shard that lacks the tensor
    let (_d, err) = broken("bert_k3_sharded", |d| {
        let p = d.join("model.safetensors.index.json");
        let text = std::fs::read_to_string(&p).unwrap();
        let text = text.replacen(
            "\"embeddings.LayerNorm.bias\": \"model-00001-of-00003.safetensors\"",
            "\"embeddings.LayerNorm.bias\": \"model-00003-of-00003.safetensors\"",
            1,
        );
        std::fs::write(&p, text).unwrap();
    });
    assert!(
        err.contains("`embeddings.LayerNorm.bias` is not in its shard"),
        "{err}"
    );
    // a shard missing
    let (_d, err) = broken("bert_k3_sharded", |d| {
        std::fs::remove_file(d.join("model-00002-of-00003.safetensors")).unwrap();
    });
    assert!(err.contains("model-00002-of-00003.safetensors"), "{err}");
    // no weights at all
    let (_d, err) = broken("bert_k3_bin", |d| {
        std::fs::remove_file(d.join("pytorch_model.bin")).unwrap();
    });
    assert!(err.contains("no weights"), "{err}");
}

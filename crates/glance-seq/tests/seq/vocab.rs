//! The built-in vocabulary against DNABERT-layout vocab files written by
//! scripts/write_dnabert_vocab.py, and tokenizing through a vocab read from a file.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use crate::common::data;
use glance_seq::{Tokenizer, TokenizerOptions, Vocab};

fn vocab_file(k: usize) -> PathBuf {
    data(&format!("dnabert_vocab_k{k}.txt"))
}

#[test]
fn builtin_order_equals_dnabert_vocab_files() {
    for k in [3, 6] {
        let want = std::fs::read_to_string(vocab_file(k)).unwrap();
        let mut got = Vec::new();
        Vocab::builtin(k).unwrap().write_to(&mut got).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), want, "k={k}");
    }
}

#[test]
fn file_vocab_tokenizes_like_builtin() {
    let seq = b"ACGTTGCANNacgtGGGCCCATATRYACGTACGTTTTAAAACCCGGG";
    for k in [3, 6] {
        for canonical in [false, true] {
            let options = TokenizerOptions {
                k,
                stride: 1,
                canonical,
                ..Default::default()
            };
            let builtin = Tokenizer::new(options).unwrap();
            let file =
                Tokenizer::with_vocab(options, Vocab::from_path(vocab_file(k)).unwrap()).unwrap();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            builtin.tokenize_into(seq, &mut a);
            file.tokenize_into(seq, &mut b);
            assert_eq!(a, b, "k={k} canonical={canonical}");
        }
    }
}

#[test]
fn reordered_vocab_file_changes_ids() {
    // ACGT order instead of ATCG: the same k-mer gets the id of its own line.
    let mut text = String::from("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for a in "ACGT".chars() {
        for b in "ACGT".chars() {
            text.push_str(&format!("{a}{b}\n"));
        }
    }
    let vocab = Vocab::from_reader(text.as_bytes()).unwrap();
    let tok = Tokenizer::with_vocab(
        TokenizerOptions {
            k: 2,
            ..Default::default()
        },
        vocab,
    )
    .unwrap();
    let mut out = Vec::new();
    tok.tokenize_into(b"ACGTN", &mut out);
    // AC = line 6 (id 5+1), CG = 5+6, GT = 5+11, TN = UNK.
    assert_eq!(out, vec![6, 11, 16, 1]);
}

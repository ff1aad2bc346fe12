//! `glance model inspect`: architecture, parameters, receptive field, tokenizer; clear
//! errors for broken directories.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{glance, models};
use predicates::str::contains;

#[test]
fn inspect_native_model() {
    glance()
        .args(["model", "inspect"])
        .arg(models().join("native_mixed"))
        .assert()
        .success()
        .stdout(contains("architecture: glance native encoder"))
        .stdout(contains("parameters:   27,936"))
        .stdout(contains("2: block:b=8,n=1 (reach ±15 tokens)"))
        .stdout(contains("receptive field: ±24 tokens"))
        .stdout(contains("chunked streaming, halo 24 tokens"))
        .stdout(contains("k=3 stride=1"))
        .stdout(contains("MLM head:     no"));
}

#[test]
fn inspect_longformer_and_dnabert() {
    glance()
        .args(["model", "inspect"])
        .arg(models().join("longformer_k3"))
        .assert()
        .success()
        .stdout(contains("Hugging Face Longformer"))
        .stdout(contains(
            "1: sliding:r=2+global:first (reach unbounded, global q/k/v)",
        ))
        .stdout(contains("windows of 63 tokens"));
    glance()
        .args(["model", "inspect"])
        .arg(models().join("bert_k6_mlm"))
        .assert()
        .success()
        .stdout(contains(
            "tokenizer:    k-mer vocab.txt: k=6 stride=1 canonical=false vocab=4101 tokens",
        ))
        .stdout(contains(
            "MLM head:     yes (log-probabilities over 4101 ids)",
        ));
}

#[test]
fn inspect_nucleotide_transformer() {
    glance()
        .args(["model", "inspect"])
        .arg(models().join("nt_v1_k6"))
        .assert()
        .success()
        .stdout(contains("architecture: Nucleotide Transformer (ESM)"))
        .stdout(contains("positions:    learned absolute (24 positions)"))
        .stdout(contains(
            "MLM head:     yes (log-probabilities over 4107 ids)",
        ))
        .stdout(contains(
            "runs as:      windows of 22 tokens wrapped in <cls> ... <eos>",
        ))
        .stdout(contains("EsmTokenizer vocab.txt (longest match"));
    glance()
        .args(["model", "inspect"])
        .arg(models().join("nt_v2_k3"))
        .assert()
        .success()
        .stdout(contains("ffn:          48 hidden, Swiglu (gated)"))
        .stdout(contains("positions:    rope"))
        .stdout(contains(
            "runs as:      windows of 39 tokens wrapped in <cls> ...\n",
        ))
        .stdout(contains(
            "k=3 plus single nucleotides, no grid vocab=75 tokens",
        ));
}

#[test]
fn inspect_dnabert2_names_its_bpe_tokenizer() {
    glance()
        .args(["model", "inspect"])
        .arg(models().join("dnabert2_bpe"))
        .assert()
        .success()
        .stdout(contains("architecture: DNABERT-2 (MosaicBERT, ALiBi)"))
        .stdout(contains("runs as:      windows of 30 tokens wrapped in [CLS] ... [SEP]"))
        .stdout(contains("MLM head:     yes"))
        .stdout(contains(
            "tokenizer:    tokenizer.json BPE: BPE, tokens of varying length, records cut in pieces of 65536 bases + 512 look-ahead vocab=96 tokens",
        ));
}

#[test]
fn inspect_gena_bert_and_bigbird() {
    for (dir, architecture, window, layer) in [
        (
            "gena_bert_bpe",
            "GENA-LM BERT",
            46,
            "  0: full (reach unbounded)",
        ),
        (
            "gena_bigbird_bpe",
            "Hugging Face BigBird (block-sparse)",
            126,
            "  0: bigbird:b=8,random=2 (reach unbounded)",
        ),
    ] {
        glance()
            .args(["model", "inspect"])
            .arg(models().join(dir))
            .assert()
            .success()
            .stdout(contains(format!("architecture: {architecture}")))
            .stdout(contains(format!(
                "runs as:      windows of {window} tokens wrapped in [CLS] ... [SEP]"
            )))
            .stdout(contains(layer))
            .stdout(contains("MLM head:     yes"))
            .stdout(contains("tokenizer:    tokenizer.json BPE: BPE"))
            .stdout(contains("vocab=128 tokens"));
    }
}

#[test]
fn inspect_modernbert() {
    glance()
        .args(["model", "inspect"])
        .arg(models().join("modernbert_mixed"))
        .assert()
        .success()
        .stdout(contains("architecture: Hugging Face ModernBERT"))
        .stdout(contains("ffn:          48 hidden, Gelu (gated)"))
        .stdout(contains("0: full (reach unbounded)"))
        .stdout(contains("1: sliding:r=8 (reach ±8 tokens)"))
        .stdout(contains("receptive field: unbounded"))
        .stdout(contains("runs as:      whole records"))
        .stdout(contains("MLM head:     no"))
        .stdout(contains(
            "tokenizer:    tokenizer.json WordLevel: k=1 stride=1 canonical=false vocab=10 tokens",
        ))
        .stdout(contains("non-ACGT=9 (N)"));
    glance()
        .args(["model", "inspect"])
        .arg(models().join("modernbert_local_mlm"))
        .assert()
        .success()
        .stdout(contains("receptive field: ±24 tokens (±24 bp)"))
        .stdout(contains("runs as:      chunked streaming, halo 24 tokens"))
        .stdout(contains(
            "MLM head:     yes (log-probabilities over 16 ids)",
        ));
}

#[test]
fn inspect_missing_directory_fails_with_one_line() {
    glance()
        .args(["model", "inspect", "/nonexistent/model"])
        .assert()
        .code(1)
        .stderr(contains("error: /nonexistent/model: cannot load model"));
}

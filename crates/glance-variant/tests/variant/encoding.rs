//! Variant encoding is exact: the window embeddings' distances equal encoding the whole
//! REF and ALT contigs and pooling (1e-5), for chunked models (sliding, dilated, block
//! layers; RoPE and ALiBi), windowed learned-position models (native and Hugging Face
//! BERT/DNABERT) and the default model, for substitutions and indels anywhere on the
//! contig; the likelihood ratio equals the PyTorch reference (scripts/mlm_fixtures.py).

// Tests unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use glance_model::{encode_tokens, load, Encoder, StreamOptions};
use glance_variant::{Contigs, Variant, VariantEncoder};
use ndarray::{s, Array1, Axis};

fn test_data(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-data")
        .join(p)
}

/// A deterministic pseudo-random contig with one N.
fn contig(n: usize) -> Vec<u8> {
    let mut x = 20261203u64;
    (0..n)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if i == n / 3 {
                b'N'
            } else {
                b"ACGT"[(x >> 33) as usize % 4]
            }
        })
        .collect()
}

fn variant(pos: usize, reference: &[u8], alternate: &[u8]) -> Variant {
    Variant {
        chrom: "c".into(),
        pos: pos as u64,
        id: ".".into(),
        reference: reference.to_vec(),
        alternate: alternate.to_vec(),
        line: 1,
    }
}

/// Another base than `b` (N stays N's neighbour A).
fn other(b: u8) -> u8 {
    match b {
        b'A' => b'C',
        b'C' => b'G',
        b'G' => b'T',
        _ => b'A',
    }
}

/// Substitutions of `len` bases at `pos`.
fn substitution(seq: &[u8], pos: usize, len: usize) -> Variant {
    let r = &seq[pos..pos + len];
    let a: Vec<u8> = r.iter().map(|&b| other(b)).collect();
    variant(pos, r, &a)
}

/// Deletion of `len` bases after the anchor at `pos`.
fn deletion(seq: &[u8], pos: usize, len: usize) -> Variant {
    variant(pos, &seq[pos..pos + len + 1], &seq[pos..pos + 1])
}

/// Insertion of `bases` after the anchor at `pos`.
fn insertion(seq: &[u8], pos: usize, bases: &[u8]) -> Variant {
    let mut a = vec![seq[pos]];
    a.extend_from_slice(bases);
    variant(pos, &seq[pos..pos + 1], &a)
}

/// The window embedding of a whole contig encoded with the stream, pooled by mean over
/// tokens whose first base lies in [w0, w0 + window).
fn pooled(enc: &Encoder, seq: &[u8], opts: &StreamOptions, w0: u64, window: u64) -> Array1<f64> {
    let mut ids = Vec::new();
    enc.make_tokenizer().unwrap().tokenize_into(seq, &mut ids);
    let rows = encode_tokens(enc, &ids, opts).unwrap();
    let s = enc.tokenizer.stride as u64;
    let n = ids.len() as u64;
    let end = (w0 + window).min(seq.len() as u64);
    let (a, b) = (w0.div_ceil(s).min(n), end.div_ceil(s).min(n));
    rows.slice(s![a as usize..b as usize, ..])
        .map(|&v| f64::from(v))
        .mean_axis(Axis(0))
        .unwrap()
}

fn check_model(enc: &Encoder, opts: StreamOptions, window: u64) {
    let seq = contig(2500);
    let mut genome = Contigs::default();
    genome.0.insert("c".into(), seq.clone());
    let scorer = VariantEncoder::new(enc, window, opts).unwrap();
    let cases = [
        substitution(&seq, 1200, 1),
        substitution(&seq, 1201, 2),
        substitution(&seq, 3, 1),
        substitution(&seq, 2499, 1),
        deletion(&seq, 700, 3),
        insertion(&seq, 1500, b"ACG"),
        deletion(&seq, 2489, 10),
        insertion(&seq, 0, b"T"),
    ];
    let mut shared = Vec::new();
    for v in cases {
        let got = scorer.effect(&mut genome, &v).unwrap();
        let mut alt_seq = seq[..v.pos as usize].to_vec();
        alt_seq.extend_from_slice(&v.alternate);
        alt_seq.extend_from_slice(&seq[v.pos as usize + v.reference.len()..]);
        let w0 = v.pos.saturating_sub(window / 2);
        let r = pooled(enc, &seq, &opts, w0, window);
        let a = pooled(enc, &alt_seq, &opts, w0, window);
        let l2 = (&r - &a).mapv(|d| d * d).sum().sqrt();
        let cos = 1.0 - r.dot(&a) / (r.dot(&r).sqrt() * a.dot(&a).sqrt());
        assert!((got.l2 - l2).abs() <= 1e-5, "{v:?}: l2 {} vs {l2}", got.l2);
        assert!(
            (got.cosine - cos).abs() <= 1e-5,
            "{v:?}: cosine {} vs {cos}",
            got.cosine
        );
        assert!(got.l2 > 0.0, "{v:?}: a change moves the embedding");
        shared.push((v, got));
    }
    // one REF span for every variant gives what each variant's own span gives
    let variants: Vec<&Variant> = shared.iter().map(|(v, _)| v).collect();
    let span = scorer.ref_span(&mut genome, &variants).unwrap();
    for (v, alone) in &shared {
        let got = scorer.effect_in(span.as_ref(), &mut genome, v).unwrap();
        assert!((got.l2 - alone.l2).abs() <= 1e-6, "{v:?}: shared span");
        assert!(
            (got.cosine - alone.cosine).abs() <= 1e-6,
            "{v:?}: shared span"
        );
        assert_eq!(
            got.llr.map(|x| (x * 1e4).round()),
            alone.llr.map(|x| (x * 1e4).round())
        );
    }
}

#[test]
fn chunked_models_match_whole_contigs() {
    for model in ["native_mixed", "native_alibi"] {
        let enc = load(&test_data(&format!("models/{model}"))).unwrap();
        check_model(&enc, StreamOptions::default(), 300);
    }
    let default = glance_model::load_bundled().unwrap();
    check_model(&default, StreamOptions::for_encoder(&default), 1000);
}

#[test]
fn windowed_models_match_whole_contigs() {
    for model in ["native_learned", "bert_k3"] {
        let enc = load(&test_data(&format!("models/{model}"))).unwrap();
        for overlap in [0, 4] {
            let opts = StreamOptions {
                overlap,
                ..StreamOptions::default()
            };
            check_model(&enc, opts, 200);
        }
    }
}

#[test]
fn substitutions_recompute_only_their_receptive_field() {
    let enc = glance_model::load_bundled().unwrap();
    let halo = enc.receptive_radius().unwrap() as u64;
    let seq = contig(5000);
    let mut genome = Contigs::default();
    genome.0.insert("c".into(), seq.clone());
    let scorer = VariantEncoder::new(&enc, 4000, StreamOptions::for_encoder(&enc)).unwrap();
    let got = scorer
        .effect(&mut genome, &substitution(&seq, 2500, 1))
        .unwrap();
    // the 6 tokens holding the base and the radius on each side
    assert_eq!(got.recomputed, 6 + 2 * halo);
    // layer by layer: each recomputes the tokens within its reach of those already
    // changed, reading its reach beyond them
    let (mut field, mut token_layers) = (6u64, 0u64);
    for layer in &enc.layers {
        let reach = layer.attention.pattern.local_radius().unwrap() as u64;
        field += 2 * reach;
        token_layers += field + 2 * reach;
    }
    assert_eq!(got.work.alternate, token_layers);
    // the masked pass of the likelihood ratio edits the same tokens
    assert_eq!(got.work.masked, token_layers);
    // REF: the span encoded for the variant, every layer, window and context included
    let layers = enc.layers.len() as u64;
    assert_eq!(got.work.reference % layers, 0);
    assert!(got.work.reference >= (4000 + 2 * halo) * layers);
    assert!(
        got.work.alternate < (6 + 4 * halo) * enc.layers.len() as u64,
        "less work than re-encoding the field with a halo"
    );
}

#[test]
fn likelihood_ratio_equals_the_pytorch_reference() {
    let variants = fixture_variants();
    let text = std::fs::read_to_string(test_data("models/default_fixture/fragment.fa")).unwrap();
    let seq: Vec<u8> = text
        .lines()
        .filter(|l| !l.starts_with('>'))
        .flat_map(|l| l.trim().bytes())
        .collect();
    let mut genome = Contigs::default();
    genome.0.insert("c".into(), seq.clone());
    let enc = glance_model::load_bundled().unwrap();
    let scorer = VariantEncoder::new(&enc, 200, StreamOptions::for_encoder(&enc)).unwrap();
    for v in variants.as_array().unwrap() {
        let want = v["llr"].as_f64().unwrap();
        let var = Variant {
            chrom: "c".into(),
            pos: v["pos"].as_u64().unwrap(),
            id: ".".into(),
            reference: v["ref"].as_str().unwrap().into(),
            alternate: v["alt"].as_str().unwrap().into(),
            line: 1,
        };
        let got = scorer.effect(&mut genome, &var).unwrap().llr.unwrap();
        assert!((got - want).abs() <= 1e-4, "{v}: {got} vs {want}");
    }
}

/// The variants and their LLRs, kept as JSON in the fixture's safetensors metadata.
fn fixture_variants() -> serde_json::Value {
    let bytes = std::fs::read(test_data("variants/mlm_expected.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    serde_json::from_str(header["__metadata__"]["variants"].as_str().unwrap()).unwrap()
}

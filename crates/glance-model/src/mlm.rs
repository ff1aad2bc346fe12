//! [`MlmHead`]: a masked-language-model head, turning last hidden states into
//! log-probabilities over the model's vocabulary. These layouts are read:
//!
//! - transformers' `BertOnlyMLMHead` (`BertLMPredictionHead` of `BertForMaskedLM`):
//!   `cls.predictions.transform.dense` -> the config's activation ->
//!   `cls.predictions.transform.LayerNorm` -> a decoder to every vocabulary id, whose
//!   weight is tied to the word embeddings unless the checkpoint has its own
//!   (`cls.predictions.decoder.weight`), plus `cls.predictions.bias`;
//! - transformers' `LongformerLMHead` (`lm_head` of `LongformerForMaskedLM`) and
//!   `EsmLMHead` (`lm_head` of `EsmForMaskedLM`, Nucleotide Transformer): `dense` ->
//!   exact GELU -> `layer_norm` -> `decoder` (tied to the word embeddings unless
//!   present) plus `lm_head.bias`;
//! - transformers' `ModernBertPredictionHead` (`head.dense` -> `classifier_activation` ->
//!   `head.norm`, biases as configured) and the `decoder` of `ModernBertForMaskedLM`
//!   (tied to `tok_embeddings` unless present; `decoder.bias` when `decoder_bias`);
//! - glance's native k-mer head (`mlm_head.safetensors` beside a native model, as
//!   `scripts/train_default.py` writes it): `dense` -> exact GELU -> `norm`, then logits
//!   over the 4^k k-mers `out(z) + base(z) kmer_bases^T` (a full projection plus a
//!   per-base part). Special tokens get probability 0 (log-probability -inf).

use ndarray::{s, Array2, ArrayView2, Axis};

use crate::config::Activation;
use crate::error::ModelError;
use crate::layers::{activate, LayerNorm, Linear};
use crate::weights::Weights;

/// The native head's file name, beside `model.safetensors`.
pub const NATIVE_HEAD_FILE: &str = "mlm_head.safetensors";

/// A masked-language-model head (see the module docs).
#[derive(Debug, Clone)]
pub struct MlmHead {
    dense: Linear,
    activation: Activation,
    norm: LayerNorm,
    decoder: Decoder,
    vocab_size: usize,
}

/// What a ModernBERT config says about its MLM head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ModernBertHead {
    /// `classifier_activation`.
    pub activation: Activation,
    /// `classifier_bias`: `head.dense` has a bias.
    pub dense_bias: bool,
    /// `norm_bias`: `head.norm` has a bias.
    pub norm_bias: bool,
    /// `norm_eps`.
    pub eps: f32,
    /// `decoder_bias`: `decoder` has a bias.
    pub decoder_bias: bool,
}

/// The decoder weight `name` when the checkpoint has it, else (tied weights, which
/// `save_pretrained` does not write twice) the word embeddings.
fn tied(w: &Weights, name: &str, embeddings: &Array2<f32>) -> Result<Array2<f32>, ModelError> {
    let (vocab, d) = embeddings.dim();
    if w.contains(name) {
        w.matrix(name, vocab, d)
    } else {
        Ok(embeddings.clone())
    }
}

/// The last projection of a head.
#[derive(Debug, Clone)]
enum Decoder {
    /// Logits for every vocabulary id.
    Vocab(Linear),
    /// Logits for the 4^k k-mers, vocabulary ids `first_kmer..first_kmer + 4^k`.
    Kmer {
        out: Linear,
        base: Linear,
        /// `[4^k, 4k]` one-hot of each k-mer's bases.
        kmer_bases: Array2<f32>,
        first_kmer: usize,
    },
}

impl MlmHead {
    /// Every projection of the head, for [`crate::Encoder::set_precision`].
    pub(crate) fn linears_mut(&mut self) -> Vec<&mut Linear> {
        let mut all = vec![&mut self.dense];
        match &mut self.decoder {
            Decoder::Vocab(l) => all.push(l),
            Decoder::Kmer { out, base, .. } => all.extend([out, base]),
        }
        all
    }

    /// transformers' `BertOnlyMLMHead` from `w` (tensors `cls.predictions.*`), with
    /// `word_embeddings` (`[vocab, d]`) as the decoder weight when the checkpoint ties
    /// them. `None` when the checkpoint has no head.
    pub(crate) fn bert(
        w: &Weights,
        activation: Activation,
        eps: f32,
        word_embeddings: &Array2<f32>,
    ) -> Result<Option<MlmHead>, ModelError> {
        let names = ("cls.predictions", "transform.dense", "transform.LayerNorm");
        MlmHead::dense_norm_decoder(w, names, activation, eps, word_embeddings)
    }

    /// The `lm_head.*` layout shared by transformers' `LongformerLMHead` and
    /// `EsmLMHead` (Nucleotide Transformer): `dense` -> erf GELU -> `layer_norm` ->
    /// `decoder` + `bias`, with `word_embeddings` as the decoder weight when the
    /// checkpoint ties them. `None` when the checkpoint has no head.
    pub(crate) fn lm_head(
        w: &Weights,
        eps: f32,
        word_embeddings: &Array2<f32>,
    ) -> Result<Option<MlmHead>, ModelError> {
        let names = ("lm_head", "dense", "layer_norm");
        MlmHead::dense_norm_decoder(w, names, Activation::Gelu, eps, word_embeddings)
    }

    /// A head `{prefix}.{dense}` -> `activation` -> `{prefix}.{norm}` -> decoder to every
    /// vocabulary id (`{prefix}.decoder.weight`, or the tied `word_embeddings`) plus
    /// `{prefix}.bias` (or `{prefix}.decoder.bias`); `None` when `{prefix}.{dense}` is
    /// absent.
    fn dense_norm_decoder(
        w: &Weights,
        (prefix, dense, norm): (&str, &str, &str),
        activation: Activation,
        eps: f32,
        word_embeddings: &Array2<f32>,
    ) -> Result<Option<MlmHead>, ModelError> {
        if !w.contains(&format!("{prefix}.{dense}.weight")) {
            return Ok(None);
        }
        let (vocab, d) = word_embeddings.dim();
        let weight = tied(w, &format!("{prefix}.decoder.weight"), word_embeddings)?;
        let bias_name = if w.contains(&format!("{prefix}.bias")) {
            format!("{prefix}.bias")
        } else {
            format!("{prefix}.decoder.bias")
        };
        Ok(Some(MlmHead {
            dense: Linear::load(w, &format!("{prefix}.{dense}"), d, d, true)?,
            activation,
            norm: LayerNorm::load(w, &format!("{prefix}.{norm}"), d, eps)?,
            decoder: Decoder::Vocab(Linear::new(weight, Some(w.vector(&bias_name, vocab)?))),
            vocab_size: vocab,
        }))
    }

    /// transformers' `ModernBertPredictionHead` (`head.*`) and `ModernBertForMaskedLM`'s
    /// `decoder`, with `tok_embeddings` as the decoder weight when the checkpoint ties
    /// them. `None` when the checkpoint has no head.
    pub(crate) fn modernbert(
        w: &Weights,
        config: ModernBertHead,
        tok_embeddings: &Array2<f32>,
    ) -> Result<Option<MlmHead>, ModelError> {
        if !w.contains("head.dense.weight") {
            return Ok(None);
        }
        let (vocab, d) = tok_embeddings.dim();
        let weight = tied(w, "decoder.weight", tok_embeddings)?;
        let bias = if config.decoder_bias {
            Some(w.vector("decoder.bias", vocab)?)
        } else {
            None
        };
        Ok(Some(MlmHead {
            dense: Linear::load(w, "head.dense", d, d, config.dense_bias)?,
            activation: config.activation,
            norm: LayerNorm::load_with_bias(w, "head.norm", d, config.eps, config.norm_bias)?,
            decoder: Decoder::Vocab(Linear::new(weight, bias)),
            vocab_size: vocab,
        }))
    }

    /// glance's native k-mer head from `w` (`mlm_head.safetensors`) for a model of
    /// width `d` whose k-mers are vocabulary ids `first_kmer..first_kmer + 4^k` of
    /// `vocab_size`.
    pub(crate) fn native(
        w: &Weights,
        d: usize,
        k: usize,
        first_kmer: usize,
        vocab_size: usize,
    ) -> Result<MlmHead, ModelError> {
        let path = w.path();
        let kmers = 1usize << (2 * k);
        if first_kmer + kmers > vocab_size {
            return Err(ModelError::config(
                path,
                format!("a head over {kmers} k-mers does not fit a vocabulary of {vocab_size}"),
            ));
        }
        Ok(MlmHead {
            dense: Linear::load(w, "dense", d, d, true)?,
            activation: Activation::Gelu,
            // nn.LayerNorm's default epsilon, as the training script builds it
            norm: LayerNorm::load(w, "norm", d, 1e-5)?,
            decoder: Decoder::Kmer {
                out: Linear::load(w, "out", d, kmers, true)?,
                base: Linear::load(w, "base", d, 4 * k, true)?,
                kmer_bases: w.matrix("kmer_bases", kmers, 4 * k)?,
                first_kmer,
            },
            vocab_size,
        })
    }

    /// Log-probabilities of every vocabulary id at each position: `hidden` is
    /// `[n, d_model]`, the result `[n, vocab_size]` (log-softmax over the ids the head
    /// predicts; -inf for the others).
    pub fn log_probs(&self, hidden: ArrayView2<f32>) -> Array2<f32> {
        let mut z = self.dense.forward(hidden);
        z.mapv_inplace(|v| activate(self.activation, v));
        self.norm.forward_inplace(&mut z);
        let n = hidden.nrows();
        let (logits, first) = match &self.decoder {
            Decoder::Vocab(linear) => (linear.forward(z.view()), 0),
            Decoder::Kmer {
                out,
                base,
                kmer_bases,
                first_kmer,
            } => {
                let mut logits = out.forward(z.view());
                let per_base = base.forward(z.view());
                logits += &per_base.dot(&kmer_bases.t());
                (logits, *first_kmer)
            }
        };
        let mut result = Array2::from_elem((n, self.vocab_size), f32::NEG_INFINITY);
        let width = logits.ncols();
        for (mut row, lrow) in result.axis_iter_mut(Axis(0)).zip(logits.axis_iter(Axis(0))) {
            // log-softmax in f64 for the normaliser
            let max = lrow.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let sum: f64 = lrow.iter().map(|&v| f64::from(v - max).exp()).sum();
            let log_z = f64::from(max) + sum.ln();
            row.slice_mut(s![first..first + width])
                .iter_mut()
                .zip(lrow)
                .for_each(|(o, &v)| *o = (f64::from(v) - log_z) as f32);
        }
        result
    }

    /// The vocabulary size of the head's output.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }
}

//! [`Encoder`]: a loaded model (native or imported) — embeddings, layers, final norm —
//! and how its tokens must be grouped to run ([`RunMode`]).

use std::ops::Range;

use glance_seq::{Bpe, LongestMatch, SpanTokenizer, Tokenizer, TokenizerOptions, Vocab};
use ndarray::{s, Array1, Array2};

use crate::error::ModelError;
use crate::layers::{Embeddings, EncoderLayer, LayerNorm, Linear};
use crate::mlm::MlmHead;
use crate::Precision;
use glance_attn::{Pattern, PatternError};

/// Where a model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// A native glance directory (`format: "glance-encoder"`).
    Native,
    /// A Hugging Face `BertModel` / `BertForMaskedLM` checkpoint (DNABERT included).
    Bert,
    /// A Hugging Face `LongformerModel` / `LongformerForMaskedLM` checkpoint.
    Longformer,
    /// A Nucleotide Transformer checkpoint: v1 as transformers' `EsmModel` /
    /// `EsmForMaskedLM`, v2 as the checkpoints' own modelling code (rotary, SwiGLU).
    NucleotideTransformer,
    /// A transformers `ModernBertModel` / `ModernBertForMaskedLM` checkpoint.
    ModernBert,
    /// DNABERT-2 (`zhihan1996/DNABERT-2-117M`): its own `bert_layers.py` (MosaicBERT:
    /// ALiBi, gated GELU, fused `Wqkv`) with a BPE `tokenizer.json`.
    Dnabert2,
    /// GENA-LM's BERT (its own `modeling_bert.py`: pre-LN layers, a final norm) with a
    /// BPE `tokenizer.json`.
    GenaLm,
    /// A transformers `BigBirdModel` / `BigBirdForMaskedLM` checkpoint (GENA-LM's
    /// long-context models): block-sparse attention as in eval mode.
    BigBird,
}

impl Architecture {
    /// A short name for messages and `glance model inspect`.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Native => "glance native encoder",
            Architecture::Bert => "Hugging Face BERT",
            Architecture::Longformer => "Hugging Face Longformer",
            Architecture::NucleotideTransformer => "Nucleotide Transformer (ESM)",
            Architecture::ModernBert => "Hugging Face ModernBERT",
            Architecture::Dnabert2 => "DNABERT-2 (MosaicBERT, ALiBi)",
            Architecture::GenaLm => "GENA-LM BERT",
            Architecture::BigBird => "Hugging Face BigBird (block-sparse)",
        }
    }
}

/// Which file gave a model its tokenizer (for `glance model inspect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerSource {
    /// The built-in DNABERT-layout k-mer vocabulary (a native model without vocab.txt).
    Builtin,
    /// A k-mer `vocab.txt` (DNABERT layout: special tokens, then k-mers).
    VocabTxt,
    /// A Hugging Face `tokenizer.json` whose model has this type: `WordLevel` or
    /// `WordPiece` over single nucleotides, or `BPE` ([`Segmentation::Bpe`]).
    TokenizerJson {
        /// The `model.type` of the file.
        model: String,
    },
    /// Nucleotide Transformer's `vocab.txt`, read as `EsmTokenizer` reads it
    /// ([`Segmentation::LongestMatch`]).
    EsmVocabTxt,
}

impl std::fmt::Display for TokenizerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenizerSource::Builtin => f.write_str("built-in k-mer vocabulary"),
            TokenizerSource::VocabTxt => f.write_str("k-mer vocab.txt"),
            TokenizerSource::TokenizerJson { model } => write!(f, "tokenizer.json {model}"),
            TokenizerSource::EsmVocabTxt => f.write_str(
                "EsmTokenizer vocab.txt (longest match: k-mers, single-nucleotide fallback)",
            ),
        }
    }
}

/// How a long token sequence is split to run through the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Chunks with a halo of `halo` tokens each side; kept centres equal whole-sequence
    /// encoding (every layer's pattern has a bounded reach, positions are relative or
    /// absent).
    Chunked {
        /// The stack's receptive radius: the sum of the layers' reaches.
        halo: usize,
    },
    /// Independent windows of at most `tokens` tokens, each wrapped in `[CLS] ... [SEP]`
    /// (learned absolute positions, as BERT/DNABERT and Longformer) or in the model's
    /// own [`Window`] tokens.
    Windows {
        /// Content tokens per window (the window minus its special tokens).
        tokens: usize,
        /// Id of `[CLS]`, the window's first token.
        cls: u32,
        /// Id of `[SEP]` (or `<eos>`), the window's last token, when the model has one.
        sep: Option<u32>,
    },
    /// The whole sequence at once (a pattern with unbounded reach and no learned
    /// positions): memory grows with the sequence.
    Whole,
}

/// How a model's tokenizer cuts DNA into tokens.
#[derive(Debug, Clone)]
pub enum Segmentation {
    /// k-mers on a fixed grid ([`TokenizerOptions`]): token `i` covers bases
    /// `[i * stride, i * stride + k)`.
    Grid,
    /// The longest vocabulary match at each position ([`LongestMatch`], Nucleotide
    /// Transformer): tokens of varying length, each with its base span.
    LongestMatch,
    /// Byte-pair encoding from a `tokenizer.json` ([`Bpe`], DNABERT-2): tokens of
    /// varying length, each with its base span; long records are tokenized in pieces
    /// with look-ahead as [`Bpe`] documents.
    Bpe(Bpe),
}

impl Segmentation {
    /// Whether tokens lie on a fixed k-mer grid.
    pub fn is_grid(&self) -> bool {
        matches!(self, Segmentation::Grid)
    }

    /// A short name for `glance model inspect`: `k-mer grid`, `longest match`, `BPE`.
    pub fn name(&self) -> &'static str {
        match self {
            Segmentation::Grid => "k-mer grid",
            Segmentation::LongestMatch => "longest match",
            Segmentation::Bpe(_) => "BPE",
        }
    }
}

/// The windows a model runs in when they are fixed by its training rather than by a
/// position table (which [`Encoder::run_mode`] reads otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Tokens per window, special tokens included.
    pub tokens: usize,
    /// The first token of every window (`<cls>`).
    pub cls: u32,
    /// The last token of every window (`<eos>`), when the tokenizer appends one.
    pub eos: Option<u32>,
}

/// A runnable encoder.
#[derive(Debug, Clone)]
pub struct Encoder {
    /// Where the model came from.
    pub architecture: Architecture,
    /// Token (and position) embeddings.
    pub embeddings: Embeddings,
    /// The layers, first to last.
    pub layers: Vec<EncoderLayer>,
    /// LayerNorm after the last layer, if any.
    pub final_norm: Option<LayerNorm>,
    /// Learned query for attention pooling (`[d_model]`), if the model has one.
    pub pool_query: Option<Array1<f32>>,
    /// The tokenizer settings the model expects.
    pub tokenizer: TokenizerOptions,
    /// The model's vocabulary.
    pub vocab: Vocab,
    /// How the tokenizer cuts DNA (`tokenizer` describes the grid of
    /// [`Segmentation::Grid`]).
    pub segmentation: Segmentation,
    /// Windows fixed by the model's training, if any.
    pub window: Option<Window>,
    /// Which file the vocabulary came from.
    pub tokenizer_source: TokenizerSource,
    /// The masked-language-model head, when the checkpoint has one.
    pub mlm_head: Option<MlmHead>,
}

/// Why an attention-pattern override (`SPEC` or `LAYER=SPEC`) was refused.
#[derive(Debug, thiserror::Error)]
pub enum PatternOverrideError {
    /// `LAYER=SPEC` named a layer the model does not have.
    #[error("`{spec}`: the model has layers 0..{last}")]
    NoSuchLayer {
        /// The override as given.
        spec: String,
        /// The last layer index.
        last: usize,
    },
    /// The pattern does not parse.
    #[error("`{spec}`: {source}")]
    Pattern {
        /// The override as given.
        spec: String,
        /// The grammar error.
        source: PatternError,
    },
}

impl Encoder {
    /// Replaces attention patterns, in order: `SPEC` for every layer or `LAYER=SPEC` for
    /// one (0-based), as `glance embed --pattern` and the pipeline's `model.patterns`.
    pub fn override_patterns(&mut self, specs: &[String]) -> Result<(), PatternOverrideError> {
        let n = self.layers.len();
        for spec in specs {
            let (layers, text) = match spec.split_once('=') {
                Some((layer, text)) if layer.chars().all(|c| c.is_ascii_digit()) => {
                    let i = layer
                        .parse::<usize>()
                        .ok()
                        .filter(|&i| i < n)
                        .ok_or_else(|| PatternOverrideError::NoSuchLayer {
                            spec: spec.clone(),
                            last: n.saturating_sub(1),
                        })?;
                    (i..i + 1, text)
                }
                _ => (0..n, spec.as_str()),
            };
            let pattern: Pattern =
                text.parse()
                    .map_err(|source| PatternOverrideError::Pattern {
                        spec: spec.clone(),
                        source,
                    })?;
            for layer in &mut self.layers[layers] {
                layer.attention.pattern = pattern.clone();
            }
        }
        Ok(())
    }

    /// Runs a windowed model ([`RunMode::Windows`]: learned positions, or windows fixed
    /// by its training) in shorter windows of `tokens` content tokens (special tokens
    /// not counted, as in [`RunMode::Windows::tokens`]), from 1 up to the model's own
    /// window. The one place a window is shortened (`glance model sweep`): it sets
    /// [`Encoder::window`], which [`Encoder::run_mode`] reads first.
    pub fn limit_window(&mut self, tokens: usize) -> Result<(), ModelError> {
        let RunMode::Windows {
            tokens: max,
            cls,
            sep,
        } = self.run_mode()?
        else {
            return Err(ModelError::Options(
                "only a model that runs in windows (learned positions) has a window to shorten"
                    .into(),
            ));
        };
        if tokens == 0 || tokens > max {
            return Err(ModelError::Options(format!(
                "a window of {tokens} tokens: the model's windows hold 1..={max} tokens"
            )));
        }
        self.window = Some(Window {
            tokens: tokens + 1 + usize::from(sep.is_some()),
            cls,
            eos: sep,
        });
        Ok(())
    }

    /// Runs every projection (attention q, k, v, output, global projections, the
    /// feed-forward layers and the MLM head) and the attention scores and values in
    /// `precision` from now on, converting and packing the weights once. Returns the precision in effect: `Bf16` falls back to
    /// `F32` on a CPU without AVX512_BF16 ([`Precision::effective`]).
    pub fn set_precision(&mut self, precision: Precision) -> Precision {
        let effective = precision.effective();
        let mut linears: Vec<&mut Linear> = Vec::new();
        for layer in &mut self.layers {
            let a = &mut layer.attention;
            a.precision = effective;
            linears.extend([&mut a.q, &mut a.k, &mut a.v, &mut a.o]);
            if let Some(g) = &mut a.global {
                linears.extend([&mut g.q, &mut g.k, &mut g.v]);
            }
            let f = &mut layer.ffn;
            linears.extend([&mut f.up, &mut f.down]);
            linears.extend(f.gate.as_mut());
        }
        if let Some(head) = &mut self.mlm_head {
            linears.extend(head.linears_mut());
        }
        for l in linears {
            l.set_precision(effective);
        }
        effective
    }

    /// The precision the projections run in (see [`Encoder::set_precision`]).
    pub fn precision(&self) -> Precision {
        self.layers
            .first()
            .map_or(Precision::F32, |l| l.attention.q.precision())
    }

    /// Width of the hidden states.
    pub fn d_model(&self) -> usize {
        self.embeddings.tokens.ncols()
    }

    /// Total number of parameters.
    pub fn parameters(&self) -> usize {
        self.embeddings.parameters()
            + self
                .layers
                .iter()
                .map(EncoderLayer::parameters)
                .sum::<usize>()
            + self.final_norm.as_ref().map_or(0, LayerNorm::parameters)
            + self.pool_query.as_ref().map_or(0, |q| q.len())
    }

    /// The receptive radius in tokens (sum of each layer's reach), `None` if unbounded.
    pub fn receptive_radius(&self) -> Option<usize> {
        self.layers.iter().try_fold(0usize, |acc, l| {
            l.attention
                .pattern
                .local_radius()
                .map(|r| acc.saturating_add(r))
        })
    }

    /// How this model runs over a long sequence.
    pub fn run_mode(&self) -> Result<RunMode, ModelError> {
        if let Some(w) = self.window {
            let specials = 1 + usize::from(w.eos.is_some());
            if w.tokens <= specials {
                return Err(ModelError::Options(format!(
                    "a window of {} tokens holds no content beside its special tokens",
                    w.tokens
                )));
            }
            return Ok(RunMode::Windows {
                tokens: w.tokens - specials,
                cls: w.cls,
                sep: w.eos,
            });
        }
        if let Some(max) = self.embeddings.max_tokens() {
            let special = self.vocab.special();
            let (cls, sep) = special.cls.zip(special.sep).ok_or_else(|| {
                ModelError::Options(
                    "a model with learned positions needs [CLS] and [SEP] in its vocabulary".into(),
                )
            })?;
            return Ok(RunMode::Windows {
                tokens: max - 2,
                cls,
                sep: Some(sep),
            });
        }
        Ok(match self.receptive_radius() {
            Some(halo) => RunMode::Chunked { halo },
            None => RunMode::Whole,
        })
    }

    /// A tokenizer for this model's input, for models whose tokens lie on a fixed
    /// k-mer grid ([`Segmentation::Grid`]).
    pub fn make_tokenizer(&self) -> Result<Tokenizer, ModelError> {
        if !self.segmentation.is_grid() {
            return Err(ModelError::Options(format!(
                "the {} tokenizes by {} (tokens of varying length); this operation needs a \
                 model whose k-mers lie on a fixed grid",
                self.architecture.name(),
                self.segmentation.name()
            )));
        }
        Tokenizer::with_vocab(self.tokenizer, self.vocab.clone())
            .map_err(|e| ModelError::Options(format!("tokenizer: {e}")))
    }

    /// The tokenizer of a model whose tokens are not on a grid ([`Segmentation::LongestMatch`],
    /// [`Segmentation::Bpe`]), ready for a record's first base.
    pub fn span_tokenizer(&self) -> Result<SpanTokenizer, ModelError> {
        match &self.segmentation {
            Segmentation::Grid => Err(ModelError::Options(format!(
                "the {} tokenizes on a k-mer grid; its tokens have no separate spans",
                self.architecture.name()
            ))),
            Segmentation::LongestMatch => Ok(self.longest_match_tokenizer()?.into()),
            Segmentation::Bpe(bpe) => Ok(bpe.clone().into()),
        }
    }

    /// The longest-match tokenizer of a [`Segmentation::LongestMatch`] model.
    pub fn longest_match_tokenizer(&self) -> Result<LongestMatch, ModelError> {
        LongestMatch::new(self.vocab.clone(), self.tokenizer.soft_mask)
            .map_err(|e| ModelError::Options(format!("tokenizer: {e}")))
    }

    /// Encodes `ids` as one sequence whose first token sits at absolute position
    /// `offset` (used by rotary positions, ALiBi and block/global patterns; learned
    /// position tables always start at the window's first token). Returns the last
    /// hidden states, `[ids.len(), d_model]`.
    pub fn forward(&self, ids: &[u32], offset: usize) -> Result<Array2<f32>, ModelError> {
        self.forward_kept(ids, offset, 0..ids.len())
    }

    /// Rows `keep` of [`Encoder::forward`]`(ids, offset)`, where each layer runs only on
    /// the rows that the layers after it still reach from `keep`: after layer `l`, the
    /// rows beyond `keep` by more than the later layers' summed radii are dropped (their
    /// outputs cannot change a kept row). A chunk with halos of the stack's receptive
    /// radius thus encodes each halo row through fewer layers the further out it lies:
    /// for `L` layers of equal reach, `(L - 1) / 2L` of the halo work is saved (37.5% for
    /// 4 layers, nearly half for deep stacks). Rows before a layer of unbounded reach are
    /// all kept. `keep` must lie within `0..ids.len()`.
    pub fn forward_kept(
        &self,
        ids: &[u32],
        offset: usize,
        keep: Range<usize>,
    ) -> Result<Array2<f32>, ModelError> {
        if keep.start > keep.end || keep.end > ids.len() {
            return Err(ModelError::Options(format!(
                "rows {keep:?} of {} tokens",
                ids.len()
            )));
        }
        // later[l]: the summed reach of the layers after layer l (None: unbounded)
        let mut later = vec![Some(0usize); self.layers.len()];
        for l in (1..self.layers.len()).rev() {
            let reach = self.layers[l].attention.pattern.local_radius();
            later[l - 1] = later[l].zip(reach).map(|(a, r)| a.saturating_add(r));
        }
        let mut x = self.embeddings.forward(ids)?;
        // `first`: the index in `ids` of `x`'s first row
        let mut first = 0usize;
        for (layer, later) in self.layers.iter().zip(later) {
            x = layer.forward(x, offset + first)?;
            let Some(later) = later else { continue };
            let lo = keep.start.saturating_sub(later).max(first);
            let hi = keep.end.saturating_add(later).min(first + x.nrows());
            if lo > first || hi < first + x.nrows() {
                x = x.slice(s![lo - first..hi - first, ..]).to_owned();
                first = lo;
            }
        }
        if first != keep.start || x.nrows() != keep.len() {
            x = x
                .slice(s![keep.start - first..keep.end - first, ..])
                .to_owned();
        }
        if let Some(norm) = &self.final_norm {
            norm.forward_inplace(&mut x);
        }
        Ok(x)
    }
}

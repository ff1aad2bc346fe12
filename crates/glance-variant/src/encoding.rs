//! Embedding shift and masked-marginal likelihood ratio of a variant, computed by
//! re-encoding only the tokens whose outputs can change.
//!
//! - Embedding: the mean of the last hidden states of the tokens whose first base lies
//!   in a window of `window` bp starting `window / 2` bases left of the variant (the
//!   same start on both haplotypes; clipped at the contig ends), for the REF and the ALT
//!   haplotype. REF rows come from `glance_model::encode_range` (the window with the
//!   model's context). For a substitution on a model of bounded reach, ALT rows differ
//!   only for tokens within the receptive radius of a changed token: only those are
//!   re-encoded and the rest are REF's. For an indel (positions shift, and block
//!   patterns are anchored to absolute positions) or a model with learned positions or
//!   unbounded reach, the ALT window is encoded like the REF one. Both equal what
//!   encoding each whole haplotype and pooling would give.
//! - Likelihood (substitutions, models with an MLM head): the tokens overlapping the
//!   changed bases are replaced by `[MASK]` in the REF haplotype, encoded once (an edit
//!   of the REF span where there is one), and
//!   LLR = sum over them of log P(ALT token) - log P(REF token). NaN when one of those
//!   tokens is `[UNK]` (a base other than ACGT nearby). docs/variants.md has the
//!   formulas.

use std::ops::Range;

use glance_model::{encode_range, range_context, Encoder, SpanStates, StreamOptions};
use glance_seq::Tokenizer;
use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::allele::Variant;
use crate::error::VariantError;
use crate::haplotype::check_ref;
use crate::reference::Reference;

/// What the encoder says about a variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncodingEffect {
    /// L2 distance between the REF and ALT window embeddings.
    pub l2: f64,
    /// Cosine distance (1 - cosine similarity) between them.
    pub cosine: f64,
    /// Tokens whose outputs were recomputed for ALT.
    pub recomputed: u64,
    /// The encoder work this allele took.
    pub work: Work,
    /// The masked-marginal log-likelihood ratio (natural log); `None` without an MLM
    /// head or for an indel, NaN next to a base other than ACGT.
    pub llr: Option<f64>,
}

/// Encoder work in token-layers: tokens run through one layer, the context they read
/// included (an edit recomputes fewer tokens in early layers than in late ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// The REF window, when it was encoded for this allele alone (0 when it was read
    /// from a shared [`RefSpan`], whose work [`RefSpan::token_layers`] tells).
    pub reference: u64,
    /// The ALT states (an edit of the REF span, or the ALT window encoded).
    pub alternate: u64,
    /// The masked pass of the likelihood ratio (0 without one).
    pub masked: u64,
}

impl Work {
    /// All of it.
    pub fn total(&self) -> u64 {
        self.reference + self.alternate + self.masked
    }
}

/// An encoder set up to score variants.
pub struct VariantEncoder<'a> {
    encoder: &'a Encoder,
    tokenizer: Tokenizer,
    stream: StreamOptions,
    window: u64,
    /// Context tokens `encode_range` reads on each side; `None`: the whole record.
    context: Option<u64>,
    /// The receptive radius in chunked mode (substitutions re-encode their field).
    radius: Option<u64>,
}

/// One haplotype of a contig: the reference with `v`'s REF replaced by its ALT (or not).
struct Haplotype<'v> {
    variant: &'v Variant,
    alt: bool,
    len: u64,
}

impl Haplotype<'_> {
    /// Bases `[a, b)` of the haplotype.
    fn bases(
        &self,
        reference: &mut dyn Reference,
        a: u64,
        b: u64,
    ) -> Result<Vec<u8>, VariantError> {
        let v = self.variant;
        if !self.alt {
            return reference.fetch(&v.chrom, a, b);
        }
        let (p, rl, al) = (v.pos, v.reference.len() as u64, v.alternate.len() as u64);
        let mut out = Vec::with_capacity((b - a) as usize);
        if a < p {
            out.extend(reference.fetch(&v.chrom, a, b.min(p))?);
        }
        let (ia, ib) = (a.max(p), b.min(p + al));
        if ia < ib {
            out.extend_from_slice(&v.alternate[(ia - p) as usize..(ib - p) as usize]);
        }
        let after = a.max(p + al);
        if after < b {
            out.extend(reference.fetch(&v.chrom, after - al + rl, b - al + rl)?);
        }
        Ok(out)
    }
}

/// Token ids of tokens `first..` of a haplotype.
struct Tokens {
    first: u64,
    ids: Vec<u32>,
}

impl Tokens {
    fn get(&self, r: Range<u64>) -> Vec<u32> {
        let a = (r.start - self.first) as usize;
        let b = (r.end - self.first) as usize;
        self.ids[a.min(self.ids.len())..b.min(self.ids.len())].to_vec()
    }
}

fn model_err(e: impl std::fmt::Display) -> VariantError {
    VariantError::Model(e.to_string())
}

impl<'a> VariantEncoder<'a> {
    /// Scores variants with `encoder`, pooling windows of `window` bp, streaming as
    /// `stream` says (overlap of windowed models).
    pub fn new(
        encoder: &'a Encoder,
        window: u64,
        stream: StreamOptions,
    ) -> Result<VariantEncoder<'a>, VariantError> {
        let context = range_context(encoder, &stream).map_err(model_err)?;
        let radius = match encoder.run_mode().map_err(model_err)? {
            glance_model::RunMode::Chunked { halo } => Some(halo as u64),
            _ => None,
        };
        Ok(VariantEncoder {
            encoder,
            tokenizer: encoder.make_tokenizer().map_err(model_err)?,
            stream,
            window: window.max(1),
            context,
            radius,
        })
    }

    /// Reference bases [`VariantEncoder::effect`] may read on each side of a variant's
    /// position (`None`: the whole contig, for models of unbounded reach).
    pub fn margin(&self) -> Option<u64> {
        let c = self.context?;
        Some(self.window + (c + 1) * self.stride() + self.k() + 2 * crate::MAX_INDEL as u64 + 1)
    }

    fn k(&self) -> u64 {
        self.encoder.tokenizer.k as u64
    }

    fn stride(&self) -> u64 {
        self.encoder.tokenizer.stride as u64
    }

    /// Tokens whose first base lies in `[a, b)`, of a record of `n` tokens.
    fn tokens_starting_in(&self, a: u64, b: u64, n: u64) -> Range<u64> {
        let s = self.stride();
        (a.div_ceil(s)).min(n)..(b.div_ceil(s)).min(n)
    }

    /// Tokens covering a base of `[a, b)` (for an empty range: the tokens holding both
    /// bases around position `a`).
    fn tokens_covering(&self, a: u64, b: u64, n: u64) -> Range<u64> {
        let (k, s) = (self.k(), self.stride());
        let (lo, hi) = if b > a {
            (a, b)
        } else {
            (a.saturating_sub(1), a + 1)
        };
        // t * s < hi and t * s + k > lo
        let first = (lo + 1).saturating_sub(k).div_ceil(s);
        (first.min(n))..(hi.div_ceil(s)).min(n)
    }

    /// Token ids of `hap` for tokens `range` plus the context `encode_range` reads.
    fn tokens(
        &self,
        reference: &mut dyn Reference,
        hap: &Haplotype,
        range: &Range<u64>,
        n: u64,
    ) -> Result<Tokens, VariantError> {
        let around = match self.context {
            Some(c) => range.start.saturating_sub(c)..(range.end + c).min(n),
            None => 0..n,
        };
        self.ids_over(reference, hap, around)
    }

    /// Token ids of `hap` for tokens `range`.
    fn ids_over(
        &self,
        reference: &mut dyn Reference,
        hap: &Haplotype,
        range: Range<u64>,
    ) -> Result<Tokens, VariantError> {
        let (k, s) = (self.k(), self.stride());
        let bases = if range.end > range.start {
            hap.bases(
                reference,
                range.start * s,
                ((range.end - 1) * s + k).min(hap.len),
            )?
        } else {
            Vec::new()
        };
        let mut ids = Vec::with_capacity((range.end - range.start) as usize);
        self.tokenizer.tokenize_into(&bases, &mut ids);
        Ok(Tokens {
            first: range.start,
            ids,
        })
    }

    /// Rows of tokens `range` of `hap` (a record of `n` tokens).
    fn rows(
        &self,
        reference: &mut dyn Reference,
        hap: &Haplotype,
        range: Range<u64>,
        n: u64,
    ) -> Result<Array2<f32>, VariantError> {
        let tokens = self.tokens(reference, hap, &range, n)?;
        encode_range(self.encoder, n, range, &self.stream, &|r| tokens.get(r)).map_err(model_err)
    }

    /// Whether REF spans can be kept and edited (a model of bounded reach with relative
    /// positions).
    fn edits(&self) -> bool {
        self.radius.is_some() && self.encoder.embeddings.max_tokens().is_none()
    }

    /// Where `v`'s scoring reads REF tokens: its window, the changed tokens and the
    /// record's token count.
    fn layout(&self, v: &Variant, len: u64) -> (Range<u64>, Range<u64>, u64) {
        let n = self.tokenizer.token_count(len);
        let w0 = v.pos.saturating_sub(self.window / 2);
        let window = self.tokens_starting_in(w0, (w0 + self.window).min(len), n);
        let (prefix, ref_changed, _) = v.changed();
        let start = v.pos + prefix as u64;
        let changed = self.tokens_covering(start, start + ref_changed as u64, n);
        (window, changed, n)
    }

    /// The REF span covering `variants` (one contig, REF already checked against
    /// `reference`): the window outputs with a radius of context, and the changed
    /// tokens with three radii (an edit reads states up to two radii out, which are
    /// exact a radius further in). `None` when the model cannot edit spans.
    pub fn ref_span(
        &self,
        reference: &mut dyn Reference,
        variants: &[&Variant],
    ) -> Result<Option<RefSpan>, VariantError> {
        let (Some(h), true, Some(first)) = (self.radius, self.edits(), variants.first()) else {
            return Ok(None);
        };
        let len = check_ref(reference, first)?;
        let mut span: Option<Range<u64>> = None;
        for v in variants {
            let (window, changed, n) = self.layout(v, len);
            let need = window
                .start
                .saturating_sub(h)
                .min(changed.start.saturating_sub(3 * h))
                ..(window.end + h).max(changed.end + 3 * h).min(n);
            span = Some(match span {
                Some(s) => s.start.min(need.start)..s.end.max(need.end),
                None => need,
            });
        }
        let span = span.unwrap_or(0..0);
        let hap = Haplotype {
            variant: first,
            alt: false,
            len,
        };
        let ids = self.ids_over(reference, &hap, span.clone())?;
        let states = SpanStates::encode(self.encoder, &ids.ids, span.start).map_err(model_err)?;
        Ok(Some(RefSpan {
            chrom: first.chrom.clone(),
            token_layers: (span.end - span.start) * self.encoder.layers.len() as u64,
            states,
        }))
    }

    /// The embedding shift and likelihood ratio of `v` (REF is checked against the
    /// reference first).
    pub fn effect(
        &self,
        reference: &mut dyn Reference,
        v: &Variant,
    ) -> Result<EncodingEffect, VariantError> {
        let span = self.ref_span(reference, &[v])?;
        let mut effect = self.effect_in(span.as_ref(), reference, v)?;
        effect.work.reference += span.map_or(0, |s| s.token_layers);
        Ok(effect)
    }

    /// As [`VariantEncoder::effect`], reading REF from `span` when given (one made by
    /// [`VariantEncoder::ref_span`] for a set of variants holding `v`).
    pub fn effect_in(
        &self,
        span: Option<&RefSpan>,
        reference: &mut dyn Reference,
        v: &Variant,
    ) -> Result<EncodingEffect, VariantError> {
        let len = check_ref(reference, v)?;
        let alt_len = len + v.alternate.len() as u64 - v.reference.len() as u64;
        let ref_hap = Haplotype {
            variant: v,
            alt: false,
            len,
        };
        let alt_hap = Haplotype {
            variant: v,
            alt: true,
            len: alt_len,
        };
        let (window, changed, n) = self.layout(v, len);
        let span = span.filter(|s| {
            let t = s.states.tokens();
            s.chrom == v.chrom
                && t.start <= window.start.min(changed.start)
                && t.end >= window.end.max(changed.end)
        });
        let layers = self.encoder.layers.len() as u64;
        let mut work = Work::default();
        let ref_rows = match span {
            Some(s) => s
                .states
                .outputs(self.encoder, window.clone())
                .map_err(model_err)?,
            None => {
                work.reference = self.with_context(&window, n) * layers;
                self.rows(reference, &ref_hap, window.clone(), n)?
            }
        };
        let (alt_rows, recomputed) = match span {
            Some(s) if v.is_substitution() && !changed.is_empty() => {
                let alt_ids = self.ids_over(reference, &alt_hap, changed.clone())?;
                let edit = s
                    .states
                    .edit(self.encoder, changed.clone(), &alt_ids.ids)
                    .map_err(model_err)?;
                let mut rows = ref_rows.clone();
                let (a, b) = (
                    edit.tokens.start.max(window.start),
                    edit.tokens.end.min(window.end),
                );
                if a < b {
                    let from = (a - edit.tokens.start) as usize..(b - edit.tokens.start) as usize;
                    let to = (a - window.start) as usize..(b - window.start) as usize;
                    rows.slice_mut(ndarray::s![to, ..])
                        .assign(&edit.rows.slice(ndarray::s![from, ..]));
                }
                work.alternate = edit.token_layers;
                (rows, edit.tokens.end - edit.tokens.start)
            }
            _ => {
                let n_alt = self.tokenizer.token_count(alt_len);
                let w0 = v.pos.saturating_sub(self.window / 2);
                let alt_window =
                    self.tokens_starting_in(w0, (w0 + self.window).min(alt_len), n_alt);
                work.alternate = self.with_context(&alt_window, n_alt) * layers;
                let rows = self.rows(reference, &alt_hap, alt_window.clone(), n_alt)?;
                (rows, alt_window.end - alt_window.start)
            }
        };
        let (l2, cosine) = distances(&mean(ref_rows.view()), &mean(alt_rows.view()));
        let llr = self.likelihood_ratio(span, reference, &ref_hap, &alt_hap, changed, n)?;
        work.masked = llr.map_or(0, |(_, w)| w);
        Ok(EncodingEffect {
            l2,
            cosine,
            recomputed,
            work,
            llr: llr.map(|(v, _)| v),
        })
    }

    /// Tokens `encode_range` runs for `range` of a record of `n` tokens: the range and
    /// its context.
    fn with_context(&self, range: &Range<u64>, n: u64) -> u64 {
        match self.context {
            Some(c) => (range.end + c).min(n) - range.start.saturating_sub(c),
            None => n,
        }
    }

    /// The masked-marginal LLR over the `changed` tokens (see the module docs) and the
    /// token-layers its masked pass ran.
    fn likelihood_ratio(
        &self,
        span: Option<&RefSpan>,
        reference: &mut dyn Reference,
        ref_hap: &Haplotype,
        alt_hap: &Haplotype,
        changed: Range<u64>,
        n: u64,
    ) -> Result<Option<(f64, u64)>, VariantError> {
        let Some(head) = &self.encoder.mlm_head else {
            return Ok(None);
        };
        if !ref_hap.variant.is_substitution() || changed.is_empty() {
            return Ok(None);
        }
        let special = self.encoder.vocab.special();
        let mask = special
            .mask
            .ok_or_else(|| model_err("the vocabulary has no [MASK] token"))?;
        let ref_ids = self.ids_over(reference, ref_hap, changed.clone())?.ids;
        let alt_ids = self.ids_over(reference, alt_hap, changed.clone())?.ids;
        let (hidden, work) = match span {
            Some(s) => {
                let masks = vec![mask; ref_ids.len()];
                let edit = s
                    .states
                    .edit(self.encoder, changed.clone(), &masks)
                    .map_err(model_err)?;
                let at = (changed.start - edit.tokens.start) as usize;
                let rows = edit
                    .rows
                    .slice(ndarray::s![at..at + ref_ids.len(), ..])
                    .to_owned();
                (rows, edit.token_layers)
            }
            None => {
                let mut masked = self.tokens(reference, ref_hap, &changed, n)?;
                for t in changed.clone() {
                    masked.ids[(t - masked.first) as usize] = mask;
                }
                let work = self.with_context(&changed, n) * self.encoder.layers.len() as u64;
                let rows = encode_range(self.encoder, n, changed, &self.stream, &|r| masked.get(r))
                    .map_err(model_err)?;
                (rows, work)
            }
        };
        let log_probs = head.log_probs(hidden.view());
        let mut llr = 0.0f64;
        for ((row, &r), &a) in log_probs.axis_iter(Axis(0)).zip(&ref_ids).zip(&alt_ids) {
            if r == special.unk || a == special.unk {
                return Ok(Some((f64::NAN, work)));
            }
            llr += f64::from(row[a as usize]) - f64::from(row[r as usize]);
        }
        Ok(Some((llr, work)))
    }
}

/// REF states of every layer over a stretch of a contig, shared by the variants in it
/// (see [`VariantEncoder::ref_span`]).
pub struct RefSpan {
    chrom: String,
    states: SpanStates,
    token_layers: u64,
}

impl RefSpan {
    /// The encoder work of the span: its tokens through every layer.
    pub fn token_layers(&self) -> u64 {
        self.token_layers
    }
}

/// The mean of the rows (NaN when there are none).
fn mean(rows: ArrayView2<f32>) -> Array1<f64> {
    let n = rows.nrows() as f64;
    rows.map(|&v| f64::from(v)).sum_axis(Axis(0)) / n
}

/// L2 and cosine distance of two vectors.
fn distances(a: &Array1<f64>, b: &Array1<f64>) -> (f64, f64) {
    let l2 = (a - b).mapv(|d| d * d).sum().sqrt();
    let cos = a.dot(b) / (a.dot(a).sqrt() * b.dot(b).sqrt());
    (l2, 1.0 - cos)
}

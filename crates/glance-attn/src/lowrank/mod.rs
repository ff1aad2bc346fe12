//! Approximate attention: Linformer, Performer (FAVOR+) and Reformer LSH, each exact to
//! its published PyTorch reference (lucidrains' `linformer`, `performer-pytorch`,
//! `reformer-pytorch`) when given the same random matrices.
//!
//! - [`Spec`] / [`Approx`] parse `linformer:k=K[,b=B][,share_kv]`,
//!   `performer:m=M[,causal]`, `lsh:bucket=B,hashes=H[,nb=NB]`.
//! - [`attend_approx`] computes one of them over `[heads, n, d_head]` inputs; the
//!   random matrices come from [`ApproxOptions::weights`] (a model's own) or are drawn
//!   from [`ApproxOptions::seed`] by glance's counter-based generator (not PyTorch's
//!   numbers).
//!
//! All three split work into pieces whose boundaries depend on `n` only and reduce
//! partial results in a fixed order, so outputs are bit-identical for any thread count.

mod hash;
mod linformer;
mod lsh;
mod math;
mod performer;
mod rng;
pub(crate) use rng::mix;
mod spec;
mod tile;

pub use spec::{Approx, LinformerSpec, LshSpec, PerformerSpec, Spec};

use ndarray::{
    Array2, Array3, Array4, ArrayView2, ArrayView3, ArrayView4, ArrayViewMut3, CowArray, Ix3,
};

use crate::error::AttnError;
use crate::options::AttendOptions;
use crate::validate::{self, Dims};

/// The random matrices of an approximate pattern, as a model stores them.
#[derive(Debug, Clone, Copy)]
pub enum ApproxWeights<'a> {
    /// Linformer's `proj_k` (`E`) and `proj_v` (`F`), each `[rows, k]` with `rows >= n`
    /// (or `>= b` in block form; only the first rows are used, as the reference slices
    /// them). `f` must be `None` exactly when the spec says `share_kv`.
    Linformer {
        /// Key projection `[rows, k]`.
        e: ArrayView2<'a, f32>,
        /// Value projection `[rows, k]`, absent with `share_kv`.
        f: Option<ArrayView2<'a, f32>>,
    },
    /// Performer's `projection_matrix` `[m, d_head]` (shared by all heads).
    Performer {
        /// Feature directions, one row per feature.
        features: ArrayView2<'a, f32>,
    },
    /// Reformer's `random_rotations`, `[1 or heads, hashes, d_head, n_buckets / 2]`
    /// (the reference's `[batch, d, hashes, n_buckets/2]` with the last two axes swapped
    /// in front of `d`: `rotations[h, r, f, i]`).
    Lsh {
        /// One rotation per (head or shared, round).
        rotations: ArrayView4<'a, f32>,
    },
}

/// Owned random matrices of an approximate pattern, e.g. from [`draw_weights`].
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedWeights {
    /// Linformer's `E` and (without `share_kv`) `F`, `[rows, k]`.
    Linformer {
        /// Key projection.
        e: Array2<f32>,
        /// Value projection.
        f: Option<Array2<f32>>,
    },
    /// Performer's features `[m, d_head]`.
    Performer {
        /// Feature directions.
        features: Array2<f32>,
    },
    /// Reformer's rotations `[1, hashes, d_head, n_buckets / 2]`.
    Lsh {
        /// Rotations.
        rotations: Array4<f32>,
    },
}

impl OwnedWeights {
    /// Borrows the matrices as [`ApproxWeights`].
    pub fn view(&self) -> ApproxWeights<'_> {
        match self {
            OwnedWeights::Linformer { e, f } => ApproxWeights::Linformer {
                e: e.view(),
                f: f.as_ref().map(|f| f.view()),
            },
            OwnedWeights::Performer { features } => ApproxWeights::Performer {
                features: features.view(),
            },
            OwnedWeights::Lsh { rotations } => ApproxWeights::Lsh {
                rotations: rotations.view(),
            },
        }
    }
}

/// The random matrices [`attend_approx`] draws from `seed` for `n` rows of `d_head`
/// (Linformer: `[n or b, k]`; Performer: `[m, d]`; LSH: `[1, hashes, d, nb/2]`).
/// Passing them as [`ApproxOptions::weights`] gives bit-identical outputs, and saves
/// drawing them on every call (a model would store them). These are glance's numbers,
/// not those `torch.manual_seed(seed)` would give.
pub fn draw_weights(
    approx: &Approx,
    n: usize,
    d: usize,
    seed: u64,
) -> Result<OwnedWeights, AttnError> {
    Ok(match approx {
        Approx::Linformer(s) => {
            let rows = s.block.unwrap_or(n);
            let (e, f) = linformer::seeded(s, rows, seed);
            OwnedWeights::Linformer { e, f }
        }
        Approx::Performer(s) => OwnedWeights::Performer {
            features: performer::seeded_features(s.features, d, seed),
        },
        Approx::Lsh(s) => {
            let nb = lsh::n_buckets(s, n)?;
            OwnedWeights::Lsh {
                rotations: lsh::seeded_rotations(s.hashes, d, nb / 2, seed),
            }
        }
    })
}

/// Options of one [`attend_approx`] call.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApproxOptions<'a> {
    /// Score scale; `None` means `1 / sqrt(d_head)` (Performer scales `x` by
    /// `scale^(1/2)`, i.e. `d_head^(-1/4)` by default).
    pub scale: Option<f32>,
    /// Absolute position of row 0 (block boundaries of `linformer:...,b=B` are absolute).
    pub offset: usize,
    /// Seed of the random matrices when `weights` is `None`.
    pub seed: u64,
    /// The model's random matrices; `None` draws them from `seed`.
    pub weights: Option<ApproxWeights<'a>>,
}

/// Approximate multi-head attention of `q`, `k`, `v` (`[heads, n, d_head]`).
///
/// LSH is shared-QK as in Reformer: `q` is both query and key and `k` is not read
/// (pass `q` again). Errors on inconsistent shapes, weights that do not fit the
/// spec, or (LSH) a length that the chunking does not divide; never panics.
pub fn attend_approx(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    approx: &Approx,
    opts: &ApproxOptions,
) -> Result<Array3<f32>, AttnError> {
    let mut out = Array3::<f32>::zeros(q.dim());
    attend_approx_into(q, k, v, approx, opts, out.view_mut())?;
    Ok(out)
}

/// [`attend_approx`] into a caller-owned output `[heads, n, d_head]`.
pub fn attend_approx_into(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    approx: &Approx,
    opts: &ApproxOptions,
    mut out: ArrayViewMut3<f32>,
) -> Result<(), AttnError> {
    let dims = validate::check(&q, &k, &v, &AttendOptions::default())?;
    if out.dim() != q.dim() {
        return Err(AttnError::Shape(format!(
            "output is {:?}, q is {:?}",
            out.shape(),
            q.shape()
        )));
    }
    let scale = opts.scale.unwrap_or(1.0 / (dims.d as f32).sqrt());
    if !(scale.is_finite() && scale > 0.0) {
        return Err(AttnError::Option(format!(
            "scale {scale} must be finite and > 0"
        )));
    }
    if dims.n == 0 || dims.heads == 0 {
        return Ok(());
    }
    let (q, k, v) = (contiguous(q), contiguous(k), contiguous(v));
    let inputs = Inputs {
        q: as_slice(&q)?,
        k: as_slice(&k)?,
        v: as_slice(&v)?,
        dims,
        scale,
    };
    if let Some(slice) = out.as_slice_mut() {
        return dispatch(&inputs, approx, opts, slice);
    }
    let mut tmp = vec![0f32; dims.heads * dims.n * dims.d];
    dispatch(&inputs, approx, opts, &mut tmp)?;
    out.iter_mut().zip(tmp).for_each(|(o, t)| *o = t);
    Ok(())
}

/// Runs the method of `approx` with its weights (given or seeded).
fn dispatch(
    inputs: &Inputs,
    approx: &Approx,
    opts: &ApproxOptions,
    slice: &mut [f32],
) -> Result<(), AttnError> {
    match (approx, opts.weights) {
        (Approx::Linformer(s), None) => linformer::attend(inputs, s, opts, None, slice),
        (Approx::Linformer(s), Some(ApproxWeights::Linformer { e, f })) => {
            linformer::attend(inputs, s, opts, Some((e, f)), slice)
        }
        (Approx::Performer(s), None) => performer::attend(inputs, s, opts.seed, None, slice),
        (Approx::Performer(s), Some(ApproxWeights::Performer { features })) => {
            performer::attend(inputs, s, opts.seed, Some(features), slice)
        }
        (Approx::Lsh(s), None) => lsh::attend(inputs, s, opts.seed, None, slice),
        (Approx::Lsh(s), Some(ApproxWeights::Lsh { rotations })) => {
            lsh::attend(inputs, s, opts.seed, Some(rotations), slice)
        }
        (a, Some(_)) => Err(AttnError::Option(format!(
            "the weights given are not those of `{a}`"
        ))),
    }
}

/// Contiguous `[heads, n, d]` inputs of one call, with the resolved scale.
pub(crate) struct Inputs<'a> {
    pub q: &'a [f32],
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub dims: Dims,
    pub scale: f32,
}

impl Inputs<'_> {
    /// Row `i` of head `h` of `a` (`d` values).
    #[inline]
    pub(crate) fn row<'s>(&self, a: &'s [f32], h: usize, i: usize) -> &'s [f32] {
        let d = self.dims.d;
        let start = (h * self.dims.n + i) * d;
        &a[start..start + d]
    }

    /// Rows `[lo, hi)` of head `h` of `a` as a `[hi - lo, d]` matrix.
    #[inline]
    pub(crate) fn rows<'s>(
        &self,
        a: &'s [f32],
        h: usize,
        lo: usize,
        hi: usize,
    ) -> ArrayView2<'s, f32> {
        let d = self.dims.d;
        let start = (h * self.dims.n + lo) * d;
        math::mat(&a[start..start + (hi - lo) * d], hi - lo, d)
    }
}

fn contiguous(a: ArrayView3<f32>) -> CowArray<f32, Ix3> {
    if a.is_standard_layout() {
        CowArray::from(a)
    } else {
        CowArray::from(a.as_standard_layout().into_owned())
    }
}

fn as_slice<'a>(a: &'a CowArray<f32, Ix3>) -> Result<&'a [f32], AttnError> {
    a.as_slice()
        .ok_or_else(|| AttnError::Shape("input is not contiguous".into()))
}

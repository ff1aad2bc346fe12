//! Attention kernels for glance: the exact local patterns (full, sliding, dilated,
//! block-wise, each with optional global tokens, and BigBird's block-sparse attention as
//! transformers computes it in eval mode) over `[heads, n, d_head]` f32 arrays. Kernels
//! know nothing of DNA.
//!
//! - [`Pattern`] parses the spec grammar (`sliding:r=128`, `dilated:r=64,d=4`,
//!   `block:b=512,n=1`, `full`, each optionally `+global:first|every=K|tokens=...`, and
//!   `bigbird:b=64,random=3`, see [`Local::BigBird`]).
//! - [`attend`] computes `softmax(scale * q k^T + bias, masked) v` for the pattern.
//! - [`Spec`] also parses the approximate patterns (`linformer:k=256`,
//!   `performer:m=256`, `lsh:bucket=64,hashes=4`), computed by [`attend_approx`].
//! - [`Visibility`] states exactly which (query, key) pairs a pattern allows and counts
//!   them; [`reference::attend_f64`] is the dense masked f64 reference and
//!   [`reference::FullRows`] exact full attention on sampled query rows, with the
//!   relative error of an output against it.
//!
//! - [`AttendOptions::precision`] selects bf16 scores and values (AMX tiles, f32
//!   accumulation and softmax) where the CPU and the call allow it
//!   ([`runs_bf16_tiles`]).
//!
//! A query row with no visible key (all its keys are padding) is returned as zeros.

mod bf16;
mod error;
pub mod inputs;
mod kernels;
mod lowrank;
mod options;
mod pattern;
pub mod reference;
mod schedule;
mod simd;
mod tiled;
mod validate;
mod visibility;

/// The ndarray crate of this API's array types, for callers without their own.
pub use ndarray;

pub use error::{AttnError, PatternError};
pub use glance_kernels::bf16::Kernel as Bf16Kernel;
pub use glance_kernels::Precision;
pub use lowrank::{
    attend_approx, attend_approx_into, draw_weights, Approx, ApproxOptions, ApproxWeights,
    LinformerSpec, LshSpec, OwnedWeights, PerformerSpec, Spec,
};
pub use options::{AttendOptions, GlobalQkv, Isa, PositionBias};
pub use pattern::{Global, Local, Pattern};
pub use schedule::on_calling_thread;
pub use visibility::Visibility;

use ndarray::{Array3, ArrayView3, ArrayViewMut3};

/// Multi-head attention of `q`, `k`, `v` (`[heads, n, d_head]`) restricted to `pattern`.
///
/// Returns `[heads, n, d_head]`. Global rows (see [`Global`]) attend to every key,
/// using [`AttendOptions::global_qkv`] when given. Errors on inconsistent shapes or
/// options; never panics on bad input.
pub fn attend(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    pattern: &Pattern,
    opts: &AttendOptions,
) -> Result<Array3<f32>, AttnError> {
    let mut out = Array3::<f32>::zeros(q.dim());
    attend_into(q, k, v, pattern, opts, out.view_mut())?;
    Ok(out)
}

/// Whether [`attend`] with these arguments runs the bf16 AMX kernel: `opts` asks for
/// [`Precision::Bf16`], the CPU has AMX (or `opts.bf16_kernel` forces it) and the call
/// has no global tokens, key padding or position bias. Otherwise it runs the f32
/// kernels. Errors as [`attend`] on options that do not fit the pattern.
pub fn runs_bf16_tiles(
    pattern: &Pattern,
    n: usize,
    heads: usize,
    opts: &AttendOptions,
) -> Result<bool, AttnError> {
    let vis = Visibility::new(pattern, n, heads, opts)?;
    Ok(bf16::applies(&vis, opts))
}

/// [`attend`] into a caller-owned output `[heads, n, d_head]` (every element is
/// overwritten), so repeated calls reuse one buffer.
pub fn attend_into(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    pattern: &Pattern,
    opts: &AttendOptions,
    mut out: ArrayViewMut3<f32>,
) -> Result<(), AttnError> {
    let dims = validate::check(&q, &k, &v, opts)?;
    if out.dim() != q.dim() {
        return Err(AttnError::Shape(format!(
            "output is {:?}, q is {:?}",
            out.shape(),
            q.shape()
        )));
    }
    let vis = Visibility::new(pattern, dims.n, dims.heads, opts)?;
    // Both kernels write every element of `out`, which holds `[heads, n, d]`.
    let run = |out: &mut [f32]| {
        if out.len() != dims.heads * dims.n * dims.d {
            return Err(AttnError::Shape(format!(
                "output has {} elements, expected {} x {} x {}",
                out.len(),
                dims.heads,
                dims.n,
                dims.d
            )));
        }
        #[cfg(target_arch = "x86_64")]
        if bf16::applies(&vis, opts) {
            return bf16::attend(q, k, v, &vis, opts, dims, out);
        }
        tiled::attend(q, k, v, &vis, opts, dims, out)
    };
    match out.as_slice_mut() {
        Some(slice) => run(slice),
        None => {
            let mut tmp = vec![0f32; out.len()];
            run(&mut tmp)?;
            out.iter_mut().zip(tmp).for_each(|(o, t)| *o = t);
            Ok(())
        }
    }
}

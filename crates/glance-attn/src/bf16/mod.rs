//! bf16 attention on AMX tiles, for [`Precision::Bf16`](crate::Precision::Bf16): the
//! exact local patterns `full`, `sliding`, `block` and `dilated` (causal or not) with
//! q, k, v rounded to bf16, scores and `P V` accumulated in f32 by `tdpbf16ps`, and the
//! online softmax (running max, sum, rescaling) in f32.
//!
//! - `pack`: the keys a strip of query rows of one lane reaches (a lane: the rows of
//!   one head with one residue modulo the dilation, as in the f32 driver), as `B`
//!   panels of `S = Q K^T`, and its values as `B` panels of `O = P V`;
//! - `tile`: a strip of query tiles of 32 rows: scores of a key chunk on tiles, the
//!   mask and the online softmax in f32 (probabilities rounded to bf16, the sum taken
//!   over the rounded values), `O += P V` on tiles, and the normalised rows written.
//!
//! Query tiles (32 rows), key blocks (32 keys) and key chunks (512 keys) are aligned to multiples of their size in absolute lane coordinates, keys a row does not
//! see contribute exact zeros, and every output element is the same instruction
//! sequence whatever tile it falls in: a row's result does not depend on `offset`,
//! chunking or the thread count.
//!
//! What runs the f32 kernels instead, even when bf16 is asked for ([`applies`]): a CPU
//! without AMX (on AVX512_BF16 alone `vdpbf16ps` is no faster than the f32 FMA kernel
//! on the Intel parts this was built on), global tokens (and so `bigbird`), key padding
//! and position biases (ALiBi, relative tables).

#[cfg(target_arch = "x86_64")]
mod pack;
#[cfg(target_arch = "x86_64")]
mod tile;

use glance_kernels::bf16::Kernel;
use glance_kernels::Precision;

use crate::options::AttendOptions;
use crate::visibility::Visibility;

#[cfg(target_arch = "x86_64")]
pub(crate) use driver::attend;

/// Whether a call with `vis` and `opts` runs on the bf16 AMX kernel (see the module
/// doc for what falls back to f32).
pub(crate) fn applies(vis: &Visibility, opts: &AttendOptions) -> bool {
    opts.precision == Precision::Bf16
        && opts.bf16_kernel.or_else(Kernel::detect) == Some(Kernel::Amx)
        && Kernel::Amx.is_available()
        && vis.globals().is_empty()
        && vis.padding().is_none()
        && opts.bias.is_none()
        && opts.global_qkv.is_none()
        && !matches!(vis.local_pattern(), crate::Local::BigBird { .. })
}

#[cfg(target_arch = "x86_64")]
mod driver {
    //! The parallel driver: lanes packed, then query tiles on the rayon pool (or on the
    //! calling thread inside [`crate::on_calling_thread`]).

    use std::cell::RefCell;

    use ndarray::ArrayView3;
    use rayon::prelude::*;

    use glance_kernels::bf16::Kernel;

    use super::pack::LaneRows;
    use super::tile::{self, Scratch, TileCtx, STRIP};
    use crate::error::AttnError;
    use crate::options::AttendOptions;
    use crate::schedule;
    use crate::tiled::{contiguous, local_rule, Lane, OutPtr};
    use crate::validate::Dims;
    use crate::visibility::Visibility;

    /// Runs the bf16 kernel into `out` (`[heads, n, d]`, every element written). Callers
    /// check [`applies`] first.
    pub(crate) fn attend(
        q: ArrayView3<f32>,
        k: ArrayView3<f32>,
        v: ArrayView3<f32>,
        vis: &Visibility,
        opts: &AttendOptions,
        dims: Dims,
        out: &mut [f32],
    ) -> Result<(), AttnError> {
        let (heads, n, d) = (dims.heads, dims.n, dims.d);
        if !Kernel::Amx.is_available() {
            return Err(AttnError::IsaUnavailable(Kernel::Amx.name()));
        }
        let scale = opts.scale.unwrap_or(1.0 / (d as f32).sqrt());
        let (q, k, v) = (
            q.as_standard_layout(),
            k.as_standard_layout(),
            v.as_standard_layout(),
        );
        let (q, k, v) = (contiguous(&q)?, contiguous(&k)?, contiguous(&v)?);
        let (rule, dilated) = local_rule(vis.local_pattern());
        let offset = vis.offset();
        let mut lanes = Vec::new();
        for h in 0..heads {
            let stride = if dilated { vis.dilation(h) } else { 1 };
            lanes.extend((0..stride.min(n)).map(|i| Lane::starting_at(h, stride, i, offset, n)));
        }
        let head_len = n * d;
        let items: Vec<(usize, usize)> = lanes
            .iter()
            .enumerate()
            .flat_map(|(l, lane)| {
                (lane.u_lo / STRIP..=(lane.u_hi - 1) / STRIP).map(move |t| (l, t))
            })
            .collect();
        let ctx = TileCtx { q, rule, n, scale };
        let out_ptr = OutPtr(out.as_mut_ptr());
        let run_strip = |&(l, strip): &(usize, usize)| {
            with_scratch(d, |sc| {
                let lane = lanes[l];
                let head = lane.head * head_len..(lane.head + 1) * head_len;
                let rows = LaneRows {
                    lane,
                    offset,
                    d,
                    k: &k[head.clone()],
                    v: &v[head],
                };
                // SAFETY: AMX (with AVX512_BF16) is available (checked above); `rows`
                // holds the lane's head, `out` holds `heads * n * d` floats, and each
                // row is written by the one strip that owns it.
                unsafe { tile::run(&ctx, &rows, strip, sc, out_ptr) }
            })
        };
        if schedule::tiles_in_parallel() {
            items.par_iter().for_each(run_strip);
        } else {
            items.iter().for_each(run_strip);
        }
        Ok(())
    }

    thread_local! {
        /// This thread's buffers, kept from call to call: they are large enough
        /// (hundreds of KiB) that fresh ones would cost page faults every time. The
        /// packed keys and values grow to the largest reach of a strip seen (for
        /// `full` attention all keys of a lane: `n * d_head * 4` bytes) and stay.
        static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
    }

    /// Runs `f` on this thread's buffers for head width `d` (fresh ones when they are
    /// in use further up this thread's stack, which the kernel never does).
    fn with_scratch(d: usize, f: impl FnOnce(&mut Scratch)) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => {
                let sc = match slot.take() {
                    Some(sc) if sc.fits(d) => slot.insert(sc),
                    _ => slot.insert(Scratch::new(d)),
                };
                f(sc)
            }
            Err(_) => f(&mut Scratch::new(d)),
        })
    }
}

//! Shape and option checks shared by the kernels and the reference.

use ndarray::ArrayView3;

use crate::error::AttnError;
use crate::options::{AttendOptions, PositionBias};

/// The checked dimensions of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dims {
    pub heads: usize,
    pub n: usize,
    pub d: usize,
}

/// Checks q, k, v (and the global projections, bias and scale) and returns the shape.
pub(crate) fn check(
    q: &ArrayView3<f32>,
    k: &ArrayView3<f32>,
    v: &ArrayView3<f32>,
    opts: &AttendOptions,
) -> Result<Dims, AttnError> {
    let (heads, n, d) = q.dim();
    for (name, a) in [("k", k), ("v", v)] {
        if a.dim() != (heads, n, d) {
            return Err(AttnError::Shape(format!(
                "{name} is {:?}, q is {:?} ([heads, n, d_head])",
                a.shape(),
                q.shape()
            )));
        }
    }
    if d == 0 {
        return Err(AttnError::Shape("d_head must be at least 1".into()));
    }
    if let Some(g) = &opts.global_qkv {
        for (name, a) in [("global q", &g.q), ("global k", &g.k), ("global v", &g.v)] {
            if a.dim() != (heads, n, d) {
                return Err(AttnError::Shape(format!(
                    "{name} is {:?}, q is {:?}",
                    a.shape(),
                    q.shape()
                )));
            }
        }
    }
    match &opts.bias {
        Some(PositionBias::Alibi { slopes }) if slopes.len() != heads => {
            return Err(AttnError::Option(format!(
                "ALiBi has {} slopes for {heads} heads",
                slopes.len()
            )))
        }
        Some(PositionBias::Relative {
            max_distance,
            values,
        }) if values.dim() != (heads, 2 * max_distance + 1) => {
            return Err(AttnError::Option(format!(
                "relative bias table is {:?}, expected [{heads}, {}]",
                values.shape(),
                2 * max_distance + 1
            )))
        }
        _ => {}
    }
    if let Some(s) = opts.scale {
        if !s.is_finite() {
            return Err(AttnError::Option(format!("scale {s} is not finite")));
        }
    }
    if let Some(isa) = opts.isa {
        if !isa.is_available() {
            return Err(AttnError::IsaUnavailable(isa.name()));
        }
    }
    if let Some(kernel) = opts.bf16_kernel {
        if !kernel.is_available() {
            return Err(AttnError::IsaUnavailable(kernel.name()));
        }
    }
    Ok(Dims { heads, n, d })
}

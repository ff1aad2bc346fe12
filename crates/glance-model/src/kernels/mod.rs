//! Compute kernels apart from the layers that call them: [`bf16`], the packed
//! bf16 GEMM (AMX `tdpbf16ps` or AVX512_BF16 `vdpbf16ps`, f32 accumulation) behind
//! [`Precision::Bf16`](crate::Precision::Bf16), and `elementwise`, the f32 LayerNorm,
//! GELU and residual loops built per instruction set, and [`packed_f32`], the f32 GEMM
//! on weights packed once for AVX2 + FMA (elsewhere the f32 GEMM is the `gemm` crate's).

pub mod bf16;
pub(crate) mod elementwise;
pub mod packed_f32;

/// Why a packed GEMM ([`bf16`], [`packed_f32`]) refused a product.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GemmError {
    /// The slices do not hold the stated shapes.
    #[error("GEMM shapes: a has {a} elements for [{m}, {k}], c has {c} for [{m}, {n}]")]
    Shape {
        /// Rows of `A` and `C`.
        m: usize,
        /// Depth.
        k: usize,
        /// Columns of `C`.
        n: usize,
        /// Elements of `a`.
        a: usize,
        /// Elements of `c`.
        c: usize,
    },
    /// The CPU lacks the kernel's instructions.
    #[error("this CPU cannot run the {0} GEMM kernel")]
    Unavailable(&'static str),
}

/// `Ok` when `a` holds `[m, k]` and `c` holds `[m, n]` elements.
fn check_shapes(a: usize, c: usize, m: usize, k: usize, n: usize) -> Result<(), GemmError> {
    if Some(a) != m.checked_mul(k) || Some(c) != m.checked_mul(n) {
        return Err(GemmError::Shape { m, k, n, a, c });
    }
    Ok(())
}

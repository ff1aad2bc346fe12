//! Compute kernels apart from the layers that call them: [`bf16`], the packed
//! bf16 GEMM (AMX `tdpbf16ps` or AVX512_BF16 `vdpbf16ps`, f32 accumulation) behind
//! [`Precision::Bf16`](crate::Precision::Bf16), and `elementwise`, the f32 LayerNorm,
//! GELU and residual loops built per instruction set, and [`packed_f32`], the f32 GEMM
//! on weights packed once for AVX2 + FMA (elsewhere the f32 GEMM is the `gemm` crate's).

pub mod bf16;
pub(crate) mod elementwise;
pub mod packed_f32;

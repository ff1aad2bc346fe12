//! Compute kernels apart from the layers that call them: [`bf16`], the packed
//! bf16 GEMM (AVX512_BF16 `vdpbf16ps`, f32 accumulation) behind
//! [`Precision::Bf16`](crate::Precision::Bf16). The f32 GEMM is the `gemm` crate's.

pub mod bf16;

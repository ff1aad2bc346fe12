//! Low-level CPU primitives that both glance-attn (attention) and glance-model (GEMMs)
//! build their bf16 kernels on, so that each exists once:
//!
//! - [`bf16`]: f32 <-> bf16 rounding, the bf16 instruction sets a CPU offers
//!   ([`bf16::Kernel`], detected at run time) and the AVX-512 row packing into bf16
//!   pairs;
//! - [`amx`]: AMX enablement (CPUID and the Linux `arch_prctl` permission), the tile
//!   configuration and the one `tdpbf16ps` register block every AMX kernel uses;
//! - [`Precision`]: the arithmetic a caller asks for (`f32` or `bf16`).
//!
//! Why a crate of its own: glance-attn sits below glance-model (the encoder calls
//! attention), so attention cannot reach glance-model's kernels, and a copy of the AMX
//! setup in glance-attn would be a second owner of process-wide state (the tile
//! permission) and of unsafe inline assembly. Kernels apart from layers apart from
//! models: this crate knows no attention and no layer, only the hardware.

pub mod amx;
pub mod bf16;
mod precision;

pub use precision::{Precision, PrecisionError};

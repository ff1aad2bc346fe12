//! [`AttendOptions`]: everything about one `attend` call besides q, k, v and the pattern.

use glance_kernels::bf16::Kernel as Bf16Kernel;
use glance_kernels::Precision;
use ndarray::{Array2, ArrayView1, ArrayView3};

/// An additive score bias that depends only on the head and the distance `i - j`
/// (absolute positions), added after scaling: `s = scale * q.k + bias(h, i - j)`.
#[derive(Debug, Clone, PartialEq)]
pub enum PositionBias {
    /// ALiBi (Press et al.): `bias = -slopes[h] * |i - j|`, one slope per head.
    Alibi {
        /// One slope per head.
        slopes: Vec<f32>,
    },
    /// A learned table: `bias = values[h, clamp(i - j, -max_distance, max_distance) + max_distance]`.
    Relative {
        /// Distances beyond this share the last entry.
        max_distance: usize,
        /// `[heads, 2 * max_distance + 1]`.
        values: Array2<f32>,
    },
}

impl PositionBias {
    /// The bias for head `h` and signed distance `delta = i - j`.
    #[inline]
    pub fn value(&self, h: usize, delta: i64) -> f32 {
        match self {
            PositionBias::Alibi { slopes } => -slopes[h] * delta.unsigned_abs() as f32,
            PositionBias::Relative {
                max_distance,
                values,
            } => {
                let m = *max_distance as i64;
                values[[h, (delta.clamp(-m, m) + m) as usize]]
            }
        }
    }
}

/// Separate projections used by global queries (Longformer's `query_global`,
/// `key_global`, `value_global`): a global query row attends to every key with these
/// instead of the ordinary q, k, v. Same shape as q, k, v.
#[derive(Debug, Clone, Copy)]
pub struct GlobalQkv<'a> {
    /// Queries of the global rows (only global rows are read).
    pub q: ArrayView3<'a, f32>,
    /// Keys seen by global queries.
    pub k: ArrayView3<'a, f32>,
    /// Values seen by global queries.
    pub v: ArrayView3<'a, f32>,
}

/// An instruction set for the micro-kernels; `None` in [`AttendOptions::isa`] picks the
/// best one this CPU supports at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Plain Rust, any CPU.
    Portable,
    /// x86-64 AVX2 + FMA.
    Avx2,
    /// x86-64 AVX-512F.
    Avx512,
}

impl Isa {
    /// The best instruction set available on this CPU.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Whether this CPU can run `self`.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The instruction sets this CPU can run, portable first.
    pub fn available() -> impl Iterator<Item = Isa> {
        [Isa::Portable, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|isa| isa.is_available())
    }

    /// A short lower-case name (`portable`, `avx2`, `avx512`).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }
}

/// Options of one [`crate::attend`] call. Build with struct update syntax:
/// `AttendOptions { offset: 4096, ..Default::default() }`.
#[derive(Debug, Clone, Default)]
pub struct AttendOptions<'a> {
    /// Score scale; `None` means `1 / sqrt(d_head)`.
    pub scale: Option<f32>,
    /// Absolute sequence position of row 0. Block boundaries and global positions are
    /// absolute, so a chunk of a longer sequence gives the rows of the whole.
    pub offset: usize,
    /// Length `n`; `true` marks a padding key that no query sees (padding queries
    /// still attend normally).
    pub key_padding: Option<ArrayView1<'a, bool>>,
    /// Optional additive bias per (head, i - j), e.g. ALiBi.
    pub bias: Option<PositionBias>,
    /// One dilation per head, overriding `d` of a `dilated` pattern (Longformer's
    /// per-head dilation). Only valid with a `dilated` pattern.
    pub head_dilation: Option<Vec<usize>>,
    /// Separate projections for global queries; without them global rows use q, k, v.
    pub global_qkv: Option<GlobalQkv<'a>>,
    /// Force an instruction set of the f32 kernels (errors when unavailable); `None`
    /// picks the best.
    pub isa: Option<Isa>,
    /// The arithmetic of scores and values. [`Precision::Bf16`] runs the bf16 AMX
    /// kernel where the CPU has AMX and the call allows it (local patterns without
    /// global tokens, key padding or position bias), the f32 kernels otherwise; see
    /// [`crate::runs_bf16_tiles`].
    pub precision: Precision,
    /// With [`Precision::Bf16`]: force a bf16 instruction set (errors when
    /// unavailable); `None` picks the best. Only [`Bf16Kernel::Amx`] has an attention
    /// kernel: [`Bf16Kernel::Avx512`] runs the f32 kernels (on the Intel CPUs this was
    /// built on, `vdpbf16ps` is no faster than f32 FMA).
    pub bf16_kernel: Option<Bf16Kernel>,
}

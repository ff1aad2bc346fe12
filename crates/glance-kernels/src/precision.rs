//! [`Precision`]: the arithmetic an encoder (its GEMMs and its attention) runs in,
//! chosen by `--precision` and the pipeline's `model.precision`.

use std::sync::Once;

/// The arithmetic of an encoder's GEMMs (every `Linear` of glance-model) and
/// attention scores and values. Softmax, norms, residuals and activations are f32 in both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// f32 throughout: the reference.
    #[default]
    F32,
    /// bf16 inputs with f32 accumulation (AVX512_BF16 `vdpbf16ps`); weights are
    /// converted and packed once when the precision is set. On a CPU without
    /// AVX512_BF16 the encoder stays f32 ([`Precision::effective`]).
    Bf16,
}

impl Precision {
    /// The name used on the command line and in configs: `f32` or `bf16`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }

    /// What this CPU runs when `self` is asked for: `Bf16` needs AVX512_BF16 (checked
    /// at run time) and falls back to `F32`, with one warning per process.
    pub fn effective(self) -> Precision {
        match self {
            Precision::Bf16 if crate::bf16::available() => Precision::Bf16,
            Precision::Bf16 => {
                static NOTICE: Once = Once::new();
                NOTICE.call_once(|| {
                    log::warn!(
                        "precision bf16: this CPU has no AVX512_BF16; the encoder runs in f32"
                    )
                });
                Precision::F32
            }
            Precision::F32 => Precision::F32,
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A precision name other than `f32` or `bf16`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown precision `{0}` (expected f32 or bf16)")]
pub struct PrecisionError(pub String);

impl std::str::FromStr for Precision {
    type Err = PrecisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f32" | "fp32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            other => Err(PrecisionError(other.to_string())),
        }
    }
}

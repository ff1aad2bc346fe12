//! The spec grammar of the approximate patterns and [`Spec`], which accepts any pattern
//! (exact or approximate):
//!
//! ```text
//! approx  = "linformer:k=" K [ ",b=" B ] [ ",share_kv" ]
//!         | "performer:m=" M [ ",causal" ]
//!         | "lsh:bucket=" B ",hashes=" H [ ",nb=" NB ]
//! ```
//!
//! Options come in any order; `Display` writes the canonical form above. Approximate
//! patterns take no `+global:` part.

use std::fmt;
use std::str::FromStr;

use crate::error::PatternError;
use crate::pattern::{Options, Pattern};

/// Linformer (Wang et al. 2020; lucidrains' `LinformerSelfAttention`): keys and values
/// projected along the sequence by `E`, `F` (`n -> k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinformerSpec {
    /// Projected length `k` (>= 1).
    pub k: usize,
    /// Block form: project each block of `b` absolute positions on its own (a query
    /// mixes only the tokens of its own block); `None` projects the whole sequence.
    pub block: Option<usize>,
    /// One projection for keys and values (`F = E`).
    pub share_kv: bool,
}

/// Performer FAVOR+ (Choromanski et al. 2021; lucidrains' `FastAttention`) with `m`
/// positive orthogonal random features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PerformerSpec {
    /// Number of random features `m` (>= 1).
    pub features: usize,
    /// Causal prefix-sum form: query `i` sees keys `j <= i`.
    pub causal: bool,
}

/// Reformer LSH attention (Kitaev et al. 2020; lucidrains' `LSHAttention`), shared-QK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LshSpec {
    /// Chunk length: the sorted sequence is cut into chunks of this many tokens (>= 1).
    pub bucket: usize,
    /// Hash rounds (>= 1).
    pub hashes: usize,
    /// Number of hash buckets (even, >= 2); `None` means `n / bucket` as in the reference.
    pub n_buckets: Option<usize>,
}

/// An approximate attention pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Approx {
    /// `linformer:k=K[,b=B][,share_kv]`.
    Linformer(LinformerSpec),
    /// `performer:m=M[,causal]`.
    Performer(PerformerSpec),
    /// `lsh:bucket=B,hashes=H[,nb=NB]`.
    Lsh(LshSpec),
}

/// Any attention pattern: an exact [`Pattern`] or an [`Approx`]imation. Parses the whole
/// grammar (exact specs as [`Pattern`] does).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Spec {
    /// Computed exactly by [`crate::attend`].
    Exact(Pattern),
    /// Computed by [`crate::attend_approx`].
    Approx(Approx),
}

impl fmt::Display for Approx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Approx::Linformer(s) => {
                write!(f, "linformer:k={}", s.k)?;
                if let Some(b) = s.block {
                    write!(f, ",b={b}")?;
                }
                if s.share_kv {
                    write!(f, ",share_kv")?;
                }
                Ok(())
            }
            Approx::Performer(s) => {
                write!(f, "performer:m={}", s.features)?;
                if s.causal {
                    write!(f, ",causal")?;
                }
                Ok(())
            }
            Approx::Lsh(s) => {
                write!(f, "lsh:bucket={},hashes={}", s.bucket, s.hashes)?;
                if let Some(nb) = s.n_buckets {
                    write!(f, ",nb={nb}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::Exact(p) => write!(f, "{p}"),
            Spec::Approx(a) => write!(f, "{a}"),
        }
    }
}

/// Parses an optional numeric option.
fn optional(o: &mut Options, key: &'static str, min: usize) -> Result<Option<usize>, PatternError> {
    o.take_value(key)?
        .map(|v| crate::pattern::parse_number(key, v, min))
        .transpose()
}

impl FromStr for Approx {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PatternError::Empty);
        }
        if s.contains('+') {
            return Err(PatternError::BadGlobal(s.to_string()));
        }
        let (kind, rest) = match s.split_once(':') {
            Some((k, r)) => (k.trim(), Some(r)),
            None => (s, None),
        };
        let opts = Options::parse(kind, rest)?;
        let approx = match kind {
            "linformer" => {
                let mut o = opts.only(&["k", "b", "share_kv"])?;
                let spec = LinformerSpec {
                    k: o.required("linformer", "k", 1)?,
                    block: optional(&mut o, "b", 1)?,
                    share_kv: o.take_flag("share_kv")?,
                };
                o.finish()?;
                Approx::Linformer(spec)
            }
            "performer" => {
                let mut o = opts.only(&["m", "causal"])?;
                let spec = PerformerSpec {
                    features: o.required("performer", "m", 1)?,
                    causal: o.take_flag("causal")?,
                };
                o.finish()?;
                Approx::Performer(spec)
            }
            "lsh" => {
                let mut o = opts.only(&["bucket", "hashes", "nb"])?;
                let spec = LshSpec {
                    bucket: o.required("lsh", "bucket", 1)?,
                    hashes: o.required("lsh", "hashes", 1)?,
                    n_buckets: optional(&mut o, "nb", 2)?,
                };
                o.finish()?;
                if spec.n_buckets.is_some_and(|nb| nb % 2 != 0) {
                    return Err(PatternError::BadValue {
                        option: "nb".into(),
                        value: spec.n_buckets.unwrap_or_default().to_string(),
                        reason: "must be even",
                    });
                }
                Approx::Lsh(spec)
            }
            other => return Err(PatternError::UnknownKind(other.to_string())),
        };
        Ok(approx)
    }
}

impl FromStr for Spec {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let kind = s.trim().split([':', '+']).next().unwrap_or("").trim();
        if matches!(kind, "linformer" | "performer" | "lsh") {
            Ok(Spec::Approx(s.parse()?))
        } else {
            Ok(Spec::Exact(s.parse()?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &str) -> Spec {
        let p: Spec = s.parse().unwrap();
        assert_eq!(p.to_string().parse::<Spec>().unwrap(), p, "{s}");
        p
    }

    #[test]
    fn parses_and_round_trips_every_approximate_kind() {
        assert_eq!(
            roundtrip("linformer:k=256"),
            Spec::Approx(Approx::Linformer(LinformerSpec {
                k: 256,
                block: None,
                share_kv: false
            }))
        );
        assert_eq!(
            roundtrip("linformer:share_kv,b=4096,k=64").to_string(),
            "linformer:k=64,b=4096,share_kv"
        );
        assert_eq!(
            roundtrip("performer:causal,m=128").to_string(),
            "performer:m=128,causal"
        );
        assert_eq!(
            roundtrip("lsh:hashes=4,bucket=64"),
            Spec::Approx(Approx::Lsh(LshSpec {
                bucket: 64,
                hashes: 4,
                n_buckets: None
            }))
        );
        assert_eq!(
            roundtrip("lsh:bucket=64,hashes=2,nb=1024").to_string(),
            "lsh:bucket=64,hashes=2,nb=1024"
        );
        assert!(matches!(
            roundtrip("sliding:r=3+global:first"),
            Spec::Exact(_)
        ));
    }

    #[test]
    fn rejects_bad_approximate_specs() {
        let err = |s: &str| s.parse::<Spec>().unwrap_err();
        assert!(matches!(
            err("linformer"),
            PatternError::MissingOption { .. }
        ));
        assert!(matches!(
            err("linformer:k=0"),
            PatternError::BadValue { .. }
        ));
        assert!(matches!(
            err("linformer:k=4,r=2"),
            PatternError::UnknownOption { .. }
        ));
        assert!(matches!(
            err("performer:m=4,m=5"),
            PatternError::Duplicate(_)
        ));
        assert!(matches!(
            err("performer:m=4,causal=1"),
            PatternError::BadValue { .. }
        ));
        assert!(matches!(
            err("lsh:bucket=64"),
            PatternError::MissingOption { .. }
        ));
        assert!(matches!(
            err("lsh:bucket=64,hashes=2,nb=3"),
            PatternError::BadValue { .. }
        ));
        assert!(matches!(
            err("lsh:bucket=64,hashes=2+global:first"),
            PatternError::BadGlobal(_)
        ));
        assert!(matches!(err("window:r=2"), PatternError::UnknownKind(_)));
        assert_eq!(err(""), PatternError::Empty);
    }
}

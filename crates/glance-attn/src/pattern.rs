//! The attention pattern spec: which keys each query may see.
//!
//! Grammar (one spec for CLI, config files and the library):
//!
//! ```text
//! spec    = local [ "+" global ]
//! local   = "full" [ ":causal" ]
//!         | "sliding:r=" R [ ",causal" ]
//!         | "dilated:r=" R ",d=" D [ ",causal" ]
//!         | "block:b=" B ",n=" N
//!         | "bigbird:b=" B ",random=" R
//! global  = "global:first" | "global:every=" K | "global:tokens=" I { "," I }
//! ```
//!
//! `bigbird` is BigBird's block-sparse attention as transformers' `BigBirdModel`
//! computes it in eval mode; it carries its own global blocks, so it takes no
//! `+global` part (see [`Local::BigBird`]).
//!
//! Options of a local pattern may come in any order; [`Pattern`]'s `Display` writes the
//! canonical form above, and parsing it gives the same pattern back. Positions
//! (block boundaries, global tokens) are absolute sequence coordinates; see
//! [`crate::AttendOptions::offset`].

use std::fmt;
use std::str::FromStr;

use crate::error::PatternError;

/// The local part of a pattern: the keys a query sees through its neighbourhood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Local {
    /// Every key (`full`); with `causal`, keys `j <= i`.
    Full {
        /// Only keys at or before the query.
        causal: bool,
    },
    /// Keys with `|i - j| <= radius` (Longformer `attention_window = 2 * radius`).
    Sliding {
        /// The one-sided window.
        radius: usize,
        /// Only keys at or before the query (`0 <= i - j <= radius`).
        causal: bool,
    },
    /// Keys `j = i + dilation * t` with `|t| <= radius` (strided attention).
    Dilated {
        /// How many strided steps each side.
        radius: usize,
        /// The stride between keys (>= 1; 1 is `sliding`).
        dilation: usize,
        /// Only keys at or before the query (`t <= 0`).
        causal: bool,
    },
    /// Block-wise: blocks of `size` absolute positions; a query sees every key of its
    /// own block and of `neighbours` blocks each side (0 = block-diagonal).
    Block {
        /// Block length (>= 1).
        size: usize,
        /// Blocks seen on each side.
        neighbours: usize,
    },
    /// BigBird block-sparse attention (`bigbird:b=B,random=R`) as transformers'
    /// `BigBirdBlockSparseAttention` computes it in eval mode, over blocks of `block`
    /// rows counted from row 0 of the call (the last block may be short: transformers
    /// pads it with masked keys):
    ///
    /// - queries of the first and the last block see every key;
    /// - every other query sees its own block and one block each side, the first block
    ///   and the last block;
    /// - the `random` blocks: in eval mode transformers' random adjacency is all zeros,
    ///   so each "random" block is block 0 again, and block 0's keys enter the softmax
    ///   of every non-global query `1 + random` times (a weight of `1 + random`).
    ///
    /// Not translation invariant: needs [`crate::AttendOptions::offset`] 0.
    BigBird {
        /// Block length (>= 1).
        block: usize,
        /// Random blocks per query block (`num_random_blocks`).
        random: usize,
    },
}

/// Global tokens: they see every key and every query sees them (Longformer/BigBird).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Global {
    /// Absolute position 0 only (a CLS token).
    First,
    /// Every absolute position that is a multiple of `K` (>= 1), including 0.
    Every(usize),
    /// An explicit, sorted, de-duplicated list of absolute positions.
    Tokens(Vec<usize>),
}

impl Global {
    /// Whether absolute position `p` is a global token.
    pub fn contains(&self, p: usize) -> bool {
        match self {
            Global::First => p == 0,
            Global::Every(k) => p.is_multiple_of(*k),
            Global::Tokens(list) => list.binary_search(&p).is_ok(),
        }
    }

    /// The global positions within `[offset, offset + n)`, relative to `offset`, ascending.
    pub fn positions(&self, offset: usize, n: usize) -> Vec<usize> {
        let end = offset.saturating_add(n);
        match self {
            Global::First => {
                if offset == 0 && n > 0 {
                    vec![0]
                } else {
                    Vec::new()
                }
            }
            Global::Every(k) => {
                let first = offset.div_ceil(*k) * k;
                (first..end).step_by(*k).map(|p| p - offset).collect()
            }
            Global::Tokens(list) => list
                .iter()
                .copied()
                .filter(|&p| p >= offset && p < end)
                .map(|p| p - offset)
                .collect(),
        }
    }
}

/// An exact attention pattern: a local neighbourhood plus optional global tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    /// The local neighbourhood.
    pub local: Local,
    /// Optional global tokens.
    pub global: Option<Global>,
}

impl Pattern {
    /// A pattern without global tokens.
    pub fn local(local: Local) -> Self {
        Pattern {
            local,
            global: None,
        }
    }

    /// The farthest key distance `|i - j|` a query can reach, or `None` when unbounded
    /// (`full`, or any global tokens). With per-head dilation
    /// ([`crate::AttendOptions::head_dilation`]) use the largest dilation instead of `d`.
    pub fn local_radius(&self) -> Option<usize> {
        if self.global.is_some() {
            return None;
        }
        match self.local {
            Local::Full { .. } | Local::BigBird { .. } => None,
            Local::Sliding { radius, .. } => Some(radius),
            Local::Dilated {
                radius, dilation, ..
            } => Some(radius.saturating_mul(dilation)),
            Local::Block { size, neighbours } => Some(
                size.saturating_mul(neighbours.saturating_add(1))
                    .saturating_sub(1),
            ),
        }
    }

    /// Whether the local part only looks backwards (`causal`).
    pub fn is_causal(&self) -> bool {
        matches!(
            self.local,
            Local::Full { causal: true }
                | Local::Sliding { causal: true, .. }
                | Local::Dilated { causal: true, .. }
        )
    }
}

impl fmt::Display for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let causal = |c: bool| if c { ",causal" } else { "" };
        match *self {
            Local::Full { causal: false } => write!(f, "full"),
            Local::Full { causal: true } => write!(f, "full:causal"),
            Local::Sliding { radius, causal: c } => write!(f, "sliding:r={radius}{}", causal(c)),
            Local::Dilated {
                radius,
                dilation,
                causal: c,
            } => write!(f, "dilated:r={radius},d={dilation}{}", causal(c)),
            Local::Block { size, neighbours } => write!(f, "block:b={size},n={neighbours}"),
            Local::BigBird { block, random } => write!(f, "bigbird:b={block},random={random}"),
        }
    }
}

impl fmt::Display for Global {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Global::First => write!(f, "global:first"),
            Global::Every(k) => write!(f, "global:every={k}"),
            Global::Tokens(list) => {
                write!(f, "global:tokens=")?;
                for (idx, p) in list.iter().enumerate() {
                    if idx > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.local)?;
        if let Some(global) = &self.global {
            write!(f, "+{global}")?;
        }
        Ok(())
    }
}

/// Parses a non-negative integer option value; `min` is the smallest accepted value.
pub(crate) fn parse_number(option: &str, value: &str, min: usize) -> Result<usize, PatternError> {
    let bad = |reason| PatternError::BadValue {
        option: option.to_string(),
        value: value.to_string(),
        reason,
    };
    let parsed: usize = value
        .parse()
        .map_err(|_| bad("not a non-negative integer"))?;
    if parsed < min {
        return Err(bad(if min == 1 {
            "must be at least 1"
        } else {
            "out of range"
        }));
    }
    Ok(parsed)
}

/// The `key=value` and flag options of a local pattern, each used at most once.
pub(crate) struct Options<'a> {
    kind: &'a str,
    items: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> Options<'a> {
    pub(crate) fn parse(kind: &'a str, rest: Option<&'a str>) -> Result<Self, PatternError> {
        let mut items: Vec<(&str, Option<&str>)> = Vec::new();
        for item in rest.into_iter().flat_map(|r| r.split(',')) {
            let item = item.trim();
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (item, None),
            };
            if items.iter().any(|(k, _)| *k == key) {
                return Err(PatternError::Duplicate(key.to_string()));
            }
            items.push((key, value));
        }
        Ok(Options { kind, items })
    }

    /// Removes and returns the value of `key=value`.
    pub(crate) fn take_value(
        &mut self,
        key: &'static str,
    ) -> Result<Option<&'a str>, PatternError> {
        match self.items.iter().position(|(k, _)| *k == key) {
            None => Ok(None),
            Some(idx) => match self.items.remove(idx) {
                (_, Some(v)) => Ok(Some(v)),
                (_, None) => Err(PatternError::BadValue {
                    option: key.to_string(),
                    value: String::new(),
                    reason: "needs a value (key=value)",
                }),
            },
        }
    }

    pub(crate) fn required(
        &mut self,
        kind: &'static str,
        key: &'static str,
        min: usize,
    ) -> Result<usize, PatternError> {
        let value = self
            .take_value(key)?
            .ok_or(PatternError::MissingOption { kind, option: key })?;
        parse_number(key, value, min)
    }

    /// Removes the bare flag `causal`.
    pub(crate) fn take_flag(&mut self, key: &str) -> Result<bool, PatternError> {
        match self.items.iter().position(|(k, _)| *k == key) {
            None => Ok(false),
            Some(idx) => match self.items.remove(idx) {
                (_, None) => Ok(true),
                (_, Some(v)) => Err(PatternError::BadValue {
                    option: key.to_string(),
                    value: v.to_string(),
                    reason: "is a flag without a value",
                }),
            },
        }
    }

    /// Fails on the first option not in `allowed` (checked before missing ones, so a
    /// typo such as `w=3` for `r=3` is reported as such).
    pub(crate) fn only(self, allowed: &[&str]) -> Result<Self, PatternError> {
        match self.items.iter().find(|(k, _)| !allowed.contains(k)) {
            None => Ok(self),
            Some((key, _)) => Err(PatternError::UnknownOption {
                kind: self.kind.to_string(),
                option: key.to_string(),
            }),
        }
    }

    /// Fails on any option left over.
    pub(crate) fn finish(self) -> Result<(), PatternError> {
        match self.items.first() {
            None => Ok(()),
            Some((key, _)) => Err(PatternError::UnknownOption {
                kind: self.kind.to_string(),
                option: key.to_string(),
            }),
        }
    }
}

impl FromStr for Local {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PatternError::Empty);
        }
        let (kind, rest) = match s.split_once(':') {
            Some((k, r)) => (k.trim(), Some(r)),
            None => (s, None),
        };
        let opts = Options::parse(kind, rest)?;
        let local = match kind {
            "full" => {
                let mut o = opts.only(&["causal"])?;
                Local::Full {
                    causal: o.take_flag("causal")?,
                }
                .finished(o)?
            }
            "sliding" => {
                let mut o = opts.only(&["r", "causal"])?;
                Local::Sliding {
                    radius: o.required("sliding", "r", 0)?,
                    causal: o.take_flag("causal")?,
                }
                .finished(o)?
            }
            "dilated" => {
                let mut o = opts.only(&["r", "d", "causal"])?;
                Local::Dilated {
                    radius: o.required("dilated", "r", 0)?,
                    dilation: o.required("dilated", "d", 1)?,
                    causal: o.take_flag("causal")?,
                }
                .finished(o)?
            }
            "block" => {
                let mut o = opts.only(&["b", "n"])?;
                Local::Block {
                    size: o.required("block", "b", 1)?,
                    neighbours: o.required("block", "n", 0)?,
                }
                .finished(o)?
            }
            "bigbird" => {
                let mut o = opts.only(&["b", "random"])?;
                Local::BigBird {
                    block: o.required("bigbird", "b", 1)?,
                    random: o.required("bigbird", "random", 0)?,
                }
                .finished(o)?
            }
            "linformer" | "performer" | "lsh" => {
                return Err(PatternError::Approximate(kind.to_string()))
            }
            other => return Err(PatternError::UnknownKind(other.to_string())),
        };
        Ok(local)
    }
}

impl Local {
    /// `self`, once `opts` has no option left over.
    fn finished(self, opts: Options) -> Result<Local, PatternError> {
        opts.finish()?;
        Ok(self)
    }
}

impl FromStr for Global {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PatternError::BadGlobal(s.to_string());
        let body = s.trim().strip_prefix("global:").ok_or_else(bad)?;
        if body == "first" {
            return Ok(Global::First);
        }
        if let Some(k) = body.strip_prefix("every=") {
            return Ok(Global::Every(parse_number("every", k.trim(), 1)?));
        }
        if let Some(list) = body.strip_prefix("tokens=") {
            let mut positions = list
                .split(',')
                .map(|p| parse_number("tokens", p.trim(), 0))
                .collect::<Result<Vec<_>, _>>()?;
            positions.sort_unstable();
            positions.dedup();
            return Ok(Global::Tokens(positions));
        }
        Err(bad())
    }
}

impl FromStr for Pattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (local, global) = match s.split_once('+') {
            Some((l, g)) => (l, Some(g.parse::<Global>()?)),
            None => (s, None),
        };
        let local: Local = local.parse()?;
        if matches!(local, Local::BigBird { .. }) && global.is_some() {
            return Err(PatternError::GlobalNotAllowed(local.to_string()));
        }
        Ok(Pattern { local, global })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &str) -> Pattern {
        let p: Pattern = s.parse().unwrap();
        assert_eq!(p.to_string().parse::<Pattern>().unwrap(), p, "{s}");
        p
    }

    #[test]
    fn parses_every_kind_and_round_trips() {
        assert_eq!(roundtrip("full").local, Local::Full { causal: false });
        assert_eq!(roundtrip("full:causal").to_string(), "full:causal");
        assert_eq!(
            roundtrip("sliding:r=128").local,
            Local::Sliding {
                radius: 128,
                causal: false
            }
        );
        assert_eq!(
            roundtrip("sliding:causal,r=3").to_string(),
            "sliding:r=3,causal"
        );
        assert_eq!(
            roundtrip("dilated:d=4,r=64").local,
            Local::Dilated {
                radius: 64,
                dilation: 4,
                causal: false
            }
        );
        assert_eq!(
            roundtrip("block:b=512,n=1").local,
            Local::Block {
                size: 512,
                neighbours: 1
            }
        );
        let p = roundtrip("sliding:r=8+global:tokens=17,0,17,3");
        assert_eq!(p.global, Some(Global::Tokens(vec![0, 3, 17])));
        assert_eq!(p.to_string(), "sliding:r=8+global:tokens=0,3,17");
        assert_eq!(
            roundtrip("block:b=4,n=0+global:every=16").global,
            Some(Global::Every(16))
        );
        assert_eq!(
            roundtrip("dilated:r=2,d=3+global:first").global,
            Some(Global::First)
        );
        assert_eq!(
            roundtrip("bigbird:random=3,b=64").local,
            Local::BigBird {
                block: 64,
                random: 3
            }
        );
        assert_eq!(
            roundtrip("bigbird:b=16,random=0").to_string(),
            "bigbird:b=16,random=0"
        );
    }

    #[test]
    fn rejects_bad_specs_with_clear_errors() {
        let err = |s: &str| s.parse::<Pattern>().unwrap_err();
        assert_eq!(err(""), PatternError::Empty);
        assert!(matches!(err("window:r=3"), PatternError::UnknownKind(_)));
        assert!(matches!(
            err("linformer:k=256"),
            PatternError::Approximate(_)
        ));
        assert!(matches!(err("sliding"), PatternError::MissingOption { .. }));
        assert!(matches!(err("sliding:r=x"), PatternError::BadValue { .. }));
        assert!(matches!(err("sliding:r=-1"), PatternError::BadValue { .. }));
        assert!(matches!(
            err("dilated:r=2,d=0"),
            PatternError::BadValue { .. }
        ));
        assert!(matches!(
            err("block:b=0,n=1"),
            PatternError::BadValue { .. }
        ));
        assert!(matches!(
            err("block:b=4,n=1,causal"),
            PatternError::UnknownOption { .. }
        ));
        assert!(matches!(
            err("bigbird:b=0,random=3"),
            PatternError::BadValue { .. }
        ));
        assert!(matches!(
            err("bigbird:b=64"),
            PatternError::MissingOption { .. }
        ));
        assert!(matches!(
            err("bigbird:b=64,random=3,global=2"),
            PatternError::UnknownOption { .. }
        ));
        assert!(matches!(
            err("bigbird:b=64,random=3+global:first"),
            PatternError::GlobalNotAllowed(_)
        ));
        assert!(matches!(err("sliding:r=1,r=2"), PatternError::Duplicate(_)));
        assert!(matches!(
            err("sliding:r=1,causal=1"),
            PatternError::BadValue { .. }
        ));
        assert!(matches!(
            err("sliding:r=1+global:all"),
            PatternError::BadGlobal(_)
        ));
        assert!(matches!(
            err("sliding:r=1+global:every=0"),
            PatternError::BadValue { .. }
        ));
        assert!(matches!(
            err("sliding:r=1+tokens=1"),
            PatternError::BadGlobal(_)
        ));
        assert!(err("sliding:r=1,w=2").to_string().contains("`w`"));
        assert!(matches!(
            err("sliding:w=2"),
            PatternError::UnknownOption { .. }
        ));
    }

    #[test]
    fn local_radius_is_the_farthest_reachable_key() {
        let r = |s: &str| s.parse::<Pattern>().unwrap().local_radius();
        assert_eq!(r("full"), None);
        assert_eq!(r("sliding:r=128"), Some(128));
        assert_eq!(r("dilated:r=64,d=4"), Some(256));
        assert_eq!(r("block:b=512,n=1"), Some(1023));
        assert_eq!(r("block:b=512,n=0"), Some(511));
        assert_eq!(r("sliding:r=128+global:first"), None);
    }

    #[test]
    fn global_positions_are_absolute() {
        assert_eq!(Global::Every(4).positions(6, 10), vec![2, 6]);
        assert_eq!(Global::First.positions(1, 10), Vec::<usize>::new());
        assert_eq!(Global::First.positions(0, 10), vec![0]);
        assert_eq!(Global::Tokens(vec![3, 9, 40]).positions(5, 10), vec![4]);
        assert!(Global::Every(4).contains(8) && !Global::Every(4).contains(9));
    }
}

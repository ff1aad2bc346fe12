//! Error types: [`PatternError`] for the spec grammar and [`AttnError`] for `attend`.

use thiserror::Error;

/// A pattern spec that does not parse (see [`crate::Pattern`] for the grammar).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatternError {
    /// The spec is empty.
    #[error("empty attention pattern spec")]
    Empty,
    /// The pattern name is not one of the exact patterns.
    #[error("unknown attention pattern `{0}` (expected full, sliding, dilated, block or bigbird)")]
    UnknownKind(String),
    /// The name is an approximate pattern (`linformer`, `performer`, `lsh`): it is not a
    /// [`crate::Pattern`]; parse it as a [`crate::Spec`] and run it with
    /// [`crate::attend_approx`].
    #[error("`{0}` is an approximate pattern, not an exact one; parse it as a Spec and run it with attend_approx")]
    Approximate(String),
    /// A required `key=value` option is missing.
    #[error("pattern `{kind}` needs option `{option}=...`")]
    MissingOption {
        /// The pattern name.
        kind: &'static str,
        /// The missing option.
        option: &'static str,
    },
    /// An option that the pattern does not accept.
    #[error("pattern `{kind}` does not accept option `{option}`")]
    UnknownOption {
        /// The pattern name.
        kind: String,
        /// The offending option.
        option: String,
    },
    /// An option was given twice.
    #[error("option `{0}` given twice")]
    Duplicate(String),
    /// An option value is not a valid number or is out of range.
    #[error("invalid value `{value}` for `{option}`: {reason}")]
    BadValue {
        /// The option name.
        option: String,
        /// The value as written.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// The `+global:` part is malformed.
    #[error("invalid global spec `{0}` (expected global:first, global:every=K or global:tokens=I,J,...)")]
    BadGlobal(String),
    /// A `+global:...` part after a pattern that has its own global blocks (`bigbird`).
    #[error("pattern `{0}` has its own global blocks and takes no `+global` part")]
    GlobalNotAllowed(String),
}

/// Why [`crate::attend`] rejected its inputs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AttnError {
    /// q, k, v (or the global projections, or the output) disagree in shape.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// An option is inconsistent with the inputs or the pattern.
    #[error("invalid attention option: {0}")]
    Option(String),
    /// The requested instruction set is not available on this CPU.
    #[error("instruction set {0} is not available on this CPU")]
    IsaUnavailable(&'static str),
}

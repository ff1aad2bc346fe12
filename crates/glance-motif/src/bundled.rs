//! The default motif set compiled into the binary: JASPAR 2026 CORE vertebrates,
//! non-redundant (1019 motifs; CC BY 4.0, cite JASPAR, jaspar.elixir.no). The file lives
//! in this crate's `data/` (so that the crate packages on its own); see
//! test-data/motifs/README.md for provenance.

use crate::error::MotifError;
use crate::format::{parse_motifs, MotifFile, MotifFormat};

/// Name shown for the bundled set.
pub const JASPAR_NAME: &str = "JASPAR 2026 CORE vertebrates non-redundant (bundled)";

/// The MEME text of the bundled JASPAR set.
pub const JASPAR_MEME: &str = include_str!("../data/jaspar2026_core_vertebrates_nr.meme");

/// Parses the bundled JASPAR set.
pub fn jaspar() -> Result<MotifFile, MotifError> {
    parse_motifs(JASPAR_MEME, MotifFormat::Meme, "jaspar")
}

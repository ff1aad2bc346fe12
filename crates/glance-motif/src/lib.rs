//! Motif scoring for glance: motif file formats, position weight matrices with FIMO's
//! arithmetic, exact p-values, q-values, fast scanning and region motif scores.

pub mod background;
pub mod bundled;
pub mod error;
pub mod format;
pub mod motif;
pub mod numfmt;
pub mod output;
pub mod pssm;

pub use background::{parse_background_file, BackgroundSource};
pub use error::MotifError;
pub use format::{parse_motifs, read_motifs, write_meme, MotifFile, MotifFormat};
pub use motif::Motif;
pub use pssm::{MotifModel, Pssm};
pub mod qvalue;
pub mod region;
pub mod scan;

pub use scan::{ChunkMeta, Hit, ScanOptions, ScanTally, Scanner};

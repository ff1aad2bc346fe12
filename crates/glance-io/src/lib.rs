//! glance's output plumbing, shared by the pipeline and the command-line tool:
//!
//! - [`AtomicFile`]: every output is written under a hidden temporary name and renamed
//!   into place only when complete, so a failed run leaves nothing that looks finished;
//!   its writer starts the kernel's writeback as the file grows ([`Writeback`]);
//! - [`NpyWriter`]: f32 `.npy` arrays streamed row by row (header rewritten at the end),
//!   [`NpyInfo`] to read such a header back;
//! - [`FileEntry`]: a file's size and SHA-256, as manifests record them;
//! - [`Track`]: genome-browser tracks written as bigWig ([`write_bigwig`], with the
//!   bigtools crate) or bedGraph ([`write_bedgraph`]).
//!
//! Errors are [`IoError`]s naming the file.

mod atomic;
mod checksum;
mod entry;
mod error;
pub mod npy;
mod prefix;
mod track;
mod writeback;

pub use atomic::{
    clean_partials, write_atomically, write_measured, AtomicFile, Finished, OUTPUT_BUFFER,
};
pub use checksum::{bytes_sha256, file_sha256};
pub use entry::FileEntry;
pub use error::IoError;
pub use npy::{NpyInfo, NpyWriter};
pub use prefix::with_suffix;
pub use track::{write_bedgraph, write_bigwig, Track, TrackInterval};
pub use writeback::{Writeback, WRITEBACK_STEP};

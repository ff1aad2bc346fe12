//! The glance batch pipeline: `glance run` and `glance merge` as a library.
//!
//! - [`Config`]: the TOML configuration (every key is a `glance run` option);
//! - [`run`]: one run or one shard of it (`--shard I/N`), resumable;
//! - [`merge`]: shards gathered into what one run gives ([`read_tallies`]: a shard's
//!   scan tables read back);
//! - [`Manifest`]: manifest.json (version, resolved config, input and output checksums,
//!   timings);
//! - [`MotifSet`]: the one way a motif file, background and thresholds become a scanner;
//! - [`tracks`]: genome-browser tracks (bigWig/bedGraph) of a complete output directory,
//!   [`Pca`] of its embeddings; [`report`]: report.html, the self-contained page a run
//!   ends with.
//! - whole-input jobs over [`Input`]s (files or in-memory text): [`scan_inputs`] /
//!   [`collect_hits`], [`score_inputs`], [`embed_inputs`] / [`embed_to_memory`], run on
//!   [`Workers`].
//!
//! Inside, the stages (`stages`) stream records through bounded channels (`tee`),
//! `sharding` says which shard owns which record pieces, `layout` names the output files
//! and the tables `merge` reads back, `priority` and `cputime` run and measure the motif
//! stages in the encoder's shadow.
//!
//! Errors are [`WorkflowError`]s naming the file, record or key.

mod config;
mod cputime;
mod embeddings;
mod error;
mod hits;
mod input;
mod layout;
mod manifest;
mod merge;
mod pca;
mod pipeline;
mod priority;
mod progress;
mod region_scores;
pub mod report;
mod resolve;
mod sharding;
mod stages;
mod tee;
pub mod tracks;
mod variant_stage;
mod variants;
mod workers;

pub use config::{
    to_toml, Config, ModelConfig, MotifsConfig, OutputsConfig, RegionsConfig, Shard,
    VariantsConfig, DEFAULT_SHARD_SPAN, EXAMPLE,
};
pub use embeddings::{embed_inputs, embed_to_memory, EmbedRows, EmbeddedRegion, EmbeddingTable};
pub use error::WorkflowError;
pub use hits::{collect_hits, scan_inputs, HitFormat, ScanHits, ScanSettings, ScanSummary};
pub use input::{open_location, read_regions, Input, InputReader, ReadObserver};
pub use layout::read_tallies;
pub use manifest::{Manifest, StageTiming, MANIFEST};
pub use merge::merge;
pub use pca::{Pca, PcaAccumulator};
pub use pipeline::{run, RunOutcome};
pub use region_scores::{
    score_inputs, write_score_outputs, ScoreRegions, ScoreTracks, ScoredRegion,
};
pub use resolve::MotifSet;
pub use variants::{score_variants, Owns, VariantJob, VariantSummary};
pub use workers::Workers;

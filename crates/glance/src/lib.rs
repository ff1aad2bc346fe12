//! glance: the library facade. Re-exports the public API of the glance crates so that
//! tool authors depend on one crate: [`seq`] (readers, regions, chunker, tokenizer),
//! [`attn`] (attention kernels), [`model`] (encoders, checkpoints, streaming, pooling)
//! [`motif`] (motif formats, scoring, scanning), [`variant`] (VCF/BCF and variant
//! effects), [`io`] (atomic outputs, .npy) and [`workflow`] (whole-file jobs and the
//! `glance run` pipeline: config, sharding, merge, manifest). docs/library.md is the
//! guide.
//!
//! End to end on one sequence held in memory: the default model (compiled in) embeds it
//! in 500 bp bins, the bundled JASPAR motifs are scanned with FIMO's p-values and
//! q-values, and each bin gets its region motif scores.
//!
//! ```
//! use glance::model::{load_bundled, Pooling, Regions, StreamOptions};
//! use glance::motif::region::{RegionSettings, RegionTables};
//! use glance::workflow::{
//!     collect_hits, embed_to_memory, score_inputs, EmbedRows, HitFormat, Input, MotifSet,
//!     MotifsConfig, ScanSettings, ScoreRegions,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // 2 kb of sequence with a CTCF site (JASPAR MA0139.2) in the middle
//! let mut bases: Vec<u8> = (0..2000u32).map(|i| b"ACGT"[(i * 7 % 11 % 4) as usize]).collect();
//! bases[1000..1019].copy_from_slice(b"TGGCCACCAGGGGGCGCTA");
//! let input = [Input::sequence("seq1", &bases)];
//!
//! // embeddings: one row per 500 bp bin, d_model columns
//! let encoder = load_bundled()?;
//! let rows = EmbedRows::Pooled {
//!     regions: Regions::Bins { size: 500, step: 500 },
//!     pooling: Pooling::Mean,
//! };
//! let table = embed_to_memory(
//!     &encoder,
//!     &input,
//!     &StreamOptions::for_encoder(&encoder),
//!     &rows,
//!     &mut |_| {},
//! )?;
//! assert_eq!(table.regions.len(), 4);
//! assert_eq!(table.values.len(), 4 * encoder.d_model());
//!
//! // motif hits at p <= 1e-4 over the bundled JASPAR set (FIMO-identical)
//! let motifs = MotifSet::load(&MotifsConfig::default(), true)?;
//! let settings = ScanSettings {
//!     format: HitFormat::Tsv,
//!     text: false,
//!     qv_thresh: false,
//!     fimo_pi0: false,
//!     chunk_size: 1 << 20,
//!     command_line: String::new(),
//! };
//! let found = collect_hits(&motifs, &input, &settings)?;
//! let ctcf = found
//!     .hits
//!     .iter()
//!     .find(|h| motifs.scanner.motifs()[h.motif as usize].motif.id == "MA0139.2")
//!     .expect("the planted CTCF site");
//! assert!((995..1010).contains(&ctcf.start) && ctcf.pvalue < 1e-8);
//!
//! // region motif scores over the same bins: best site, hits, affinity, occupancy
//! let tables = RegionTables::new(&motifs.scanner, &RegionSettings::default())?;
//! let scored = score_inputs(
//!     &motifs.scanner,
//!     &tables,
//!     &input,
//!     &ScoreRegions::Bins { size: 500, step: 500 },
//! )?;
//! assert_eq!(scored.len(), 4);
//! assert_eq!(scored[2].scores.len(), motifs.scanner.motifs().len());
//! # Ok(())
//! # }
//! ```

pub use glance_attn as attn;
pub use glance_io as io;
pub use glance_model as model;
pub use glance_motif as motif;
pub use glance_seq as seq;
pub use glance_variant as variant;
pub use glance_workflow as workflow;

//! glance: the library facade. Re-exports the public API of the glance crates so that
//! tool authors depend on one crate: [`seq`] (readers, regions, chunker, tokenizer),
//! [`attn`] (attention kernels), [`model`] (encoders, checkpoints, streaming, pooling)
//! [`motif`] (motif formats, scoring, scanning), [`variant`] (VCF/BCF and variant
//! effects), [`io`] (atomic outputs, .npy) and [`workflow`] (whole-file jobs and the
//! `glance run` pipeline: config, sharding, merge, manifest).

pub use glance_attn as attn;
pub use glance_io as io;
pub use glance_model as model;
pub use glance_motif as motif;
pub use glance_seq as seq;
pub use glance_variant as variant;
pub use glance_workflow as workflow;

//! manifest.json: what a run was (glance version, resolved configuration, inputs with
//! checksums), what it wrote (each output with size and SHA-256) and how long each
//! stage took. It is written last, atomically: a directory whose manifest verifies
//! holds a complete run, and anything else is an interrupted or foreign one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use glance_io::{file_sha256, write_atomically, FileEntry};

use crate::error::WorkflowError;

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// Time and throughput of one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageTiming {
    /// Stage name (read, embed, scan, hits, scores, write; merge in `glance merge`).
    pub stage: String,
    /// Seconds the stage was working (not waiting for input).
    pub busy_s: f64,
    /// Seconds from the stage's start to its end.
    pub wall_s: f64,
    /// CPU seconds the stage used, over all its threads (0 in manifests of older
    /// versions and where the platform cannot tell).
    #[serde(default)]
    pub cpu_s: f64,
    /// Bases the stage processed.
    pub bases: u64,
    /// `bases / busy_s`.
    pub bases_per_s: f64,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `glance` version that wrote it.
    pub glance_version: String,
    /// `run` or `merge`.
    pub command: String,
    /// The resolved configuration (defaults filled in).
    pub config: serde_json::Value,
    /// Everything the results depend on besides the config: inputs, model and motif
    /// files, with checksums (the resume key).
    pub inputs: Vec<FileEntry>,
    /// The outputs, in the order written.
    pub outputs: Vec<FileEntry>,
    /// Records seen (all shards) and bases processed by this shard.
    pub records: u64,
    /// Bases of the records this run processed.
    pub bases: u64,
    /// Rows of regions.bed.
    pub regions: u64,
    /// Seconds from start to the manifest.
    pub wall_s: f64,
    /// Per-stage timings.
    pub stages: Vec<StageTiming>,
    /// Anything a reader must know (e.g. stages that did not run and why).
    pub notes: Vec<String>,
    /// For `merge`: the shard directories gathered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<PathBuf>,
}

impl Manifest {
    /// Reads `DIR/manifest.json`; `Ok(None)` when there is none.
    pub fn read(dir: &Path) -> Result<Option<Manifest>, WorkflowError> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(WorkflowError::Merge(format!(
                    "{}: cannot read: {e}",
                    path.display()
                )))
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| WorkflowError::Merge(format!("{}: {e}", path.display())))
    }

    /// The manifest as the JSON text of manifest.json.
    pub fn to_json(&self) -> Result<String, WorkflowError> {
        serde_json::to_string_pretty(self)
            .map_err(|e| WorkflowError::Merge(format!("manifest: {e}")))
    }

    /// Writes `DIR/manifest.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<(), WorkflowError> {
        let text = self.to_json()?;
        write_atomically(&dir.join(MANIFEST), |w| {
            w.write_all(text.as_bytes())?;
            w.write_all(b"\n")
        })?;
        Ok(())
    }

    /// Checks every listed output in `dir` against its recorded size and checksum;
    /// returns the first that does not match.
    pub fn verify_outputs(&self, dir: &Path) -> Result<(), String> {
        for o in &self.outputs {
            let p = dir.join(&o.path);
            match file_sha256(&p) {
                Ok((bytes, sum)) if bytes == o.bytes && sum == o.sha256 => {}
                Ok(_) => {
                    return Err(format!(
                        "{}: changed since the manifest was written",
                        p.display()
                    ))
                }
                Err(e) => return Err(format!("{}: {e}", p.display())),
            }
        }
        Ok(())
    }
}

/// Why a previous run in an output directory can or cannot be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    /// No previous run (no manifest, no outputs).
    None,
    /// A complete run of the same configuration and inputs: nothing to do.
    Complete,
    /// Outputs without a manifest: a run was interrupted.
    Interrupted,
    /// A complete run of something else (config or inputs changed), or outputs that
    /// no longer match their manifest; the message says which.
    Stale(String),
}

/// Classifies what `dir` holds relative to a run with `config` over `inputs`.
pub fn previous_run(
    dir: &Path,
    config: &serde_json::Value,
    inputs: &[FileEntry],
    outputs: &[&str],
) -> Result<Previous, WorkflowError> {
    let Some(m) = Manifest::read(dir)? else {
        let leftover = outputs.iter().any(|o| dir.join(o).exists())
            || std::fs::read_dir(dir)
                .map(|d| {
                    d.flatten()
                        .any(|e| e.file_name().to_string_lossy().contains(".glance-partial."))
                })
                .unwrap_or(false);
        return Ok(if leftover {
            Previous::Interrupted
        } else {
            Previous::None
        });
    };
    if m.command != "run" || &m.config != config {
        return Ok(Previous::Stale("the configuration changed".into()));
    }
    if m.glance_version != env!("CARGO_PKG_VERSION") {
        return Ok(Previous::Stale(format!(
            "written by glance {}",
            m.glance_version
        )));
    }
    if m.inputs != inputs {
        return Ok(Previous::Stale("the inputs changed".into()));
    }
    match m.verify_outputs(dir) {
        Ok(()) => Ok(Previous::Complete),
        Err(why) => Ok(Previous::Stale(why)),
    }
}

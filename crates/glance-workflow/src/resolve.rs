//! Resolution of what a configuration leaves implicit about motifs: the motif set
//! (a file or the bundled JASPAR set) with its background, compiled into a scanner
//! ([`MotifSet`]). The default model is glance-model's (`glance_model::DefaultModel`).

use std::path::Path;

use glance_motif::{bundled, read_motifs, BackgroundSource, MotifFile, ScanOptions, Scanner};

use crate::config::MotifsConfig;
use crate::error::WorkflowError;

/// Reads the motif file of the config (or the bundled JASPAR set); returns the set and
/// a label for logs.
fn load_motifs(file: Option<&Path>) -> Result<(MotifFile, String), WorkflowError> {
    match file {
        Some(p) => {
            let f = read_motifs(p)
                .map_err(|e| WorkflowError::Motif(format!("{}: {e}", p.display())))?;
            Ok((f, p.display().to_string()))
        }
        None => Ok((
            bundled::jaspar()
                .map_err(|e| WorkflowError::Motif(format!("bundled JASPAR set: {e}")))?,
            bundled::JASPAR_NAME.to_string(),
        )),
    }
}

/// Resolves `motifs.background` as FIMO does.
fn background(cfg: &MotifsConfig, file: &MotifFile) -> Result<[f64; 4], WorkflowError> {
    let label = cfg.background.as_str();
    let source = BackgroundSource::from_bfile_arg(label, file.background)
        .map_err(|e| WorkflowError::Motif(e.to_string()))?;
    source
        .resolve(!cfg.norc)
        .map_err(|e| WorkflowError::Motif(format!("motifs.background {label}: {e}")))
}

/// The compiled motif set of a configuration: the one way glance builds a [`Scanner`]
/// from motif settings (`glance run`, `glance merge`, `glance scan`, `glance score`).
pub struct MotifSet {
    /// The scanner (PSSMs, p-value tables, lookup tables).
    pub scanner: Scanner,
    /// The motif file's name for logs and outputs (the path, or the bundled set's name).
    pub label: String,
}

impl MotifSet {
    /// Reads the motifs of `cfg` (or the bundled JASPAR set), resolves the background as
    /// FIMO does and compiles the scanner for `cfg.thresh`; `full_pvalue_tables` keeps
    /// every p-value (region scores' best p-values need them).
    pub fn load(cfg: &MotifsConfig, full_pvalue_tables: bool) -> Result<MotifSet, WorkflowError> {
        let (file, label) = load_motifs(cfg.file.as_deref())?;
        MotifSet::compile(&file, label, cfg, full_pvalue_tables)
    }

    /// As [`MotifSet::load`], for motifs already read (`cfg.file` is not read; `label`
    /// names the set in errors and outputs).
    pub fn compile(
        file: &MotifFile,
        label: String,
        cfg: &MotifsConfig,
        full_pvalue_tables: bool,
    ) -> Result<MotifSet, WorkflowError> {
        let bg = background(cfg, file)?;
        let options = ScanOptions {
            thresh: cfg.thresh,
            both_strands: !cfg.norc,
            pseudocount: cfg.motif_pseudo,
            full_pvalue_tables,
        };
        let scanner = Scanner::new(&file.motifs, bg, options)
            .map_err(|e| WorkflowError::Motif(format!("{label}: {e}")))?;
        Ok(MotifSet { scanner, label })
    }
}

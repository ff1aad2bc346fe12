//! Motif-set and background options shared by `glance scan` and `glance score`,
//! resolved by the pipeline's [`MotifSet`] as `glance run` resolves them.

use clap::Args;
use std::path::PathBuf;

use glance::workflow::{MotifSet, MotifsConfig};

/// Which motifs to score and against which background.
#[derive(Debug, Args)]
pub struct MotifArgs {
    /// Motif file (MEME, JASPAR .jaspar/.pfm, TRANSFAC, HOMER .motif); default: the
    /// bundled JASPAR 2026 CORE vertebrates non-redundant set.
    #[arg(long, value_name = "FILE")]
    pub motifs: Option<PathBuf>,

    /// Background: a MEME background file, or `--nrdb--` (default), `--uniform--`,
    /// `--motif--` (the motif file's own block).
    #[arg(
        long,
        value_name = "F",
        conflicts_with = "uniform",
        allow_hyphen_values = true
    )]
    pub bfile: Option<String>,

    /// Uniform background (same as `--bfile --uniform--`).
    #[arg(long)]
    pub uniform: bool,

    /// Scan the given strand only.
    #[arg(long)]
    pub norc: bool,

    /// Motif pseudocount (FIMO --motif-pseudo).
    #[arg(long, default_value_t = 0.1, value_name = "A")]
    pub motif_pseudo: f64,
}

impl MotifArgs {
    /// These options as the pipeline's motif settings, with p-value threshold `thresh`.
    pub fn config(&self, thresh: f64) -> MotifsConfig {
        let background = if self.uniform {
            "--uniform--".to_string()
        } else {
            self.bfile.clone().unwrap_or_else(|| "--nrdb--".to_string())
        };
        MotifsConfig {
            file: self.motifs.clone(),
            background,
            thresh,
            norc: self.norc,
            motif_pseudo: self.motif_pseudo,
            ..MotifsConfig::default()
        }
    }

    /// Loads the motifs, resolves the background and compiles the scanner for p-value
    /// threshold `thresh` (`full_pvalue_tables` for region best p-values).
    pub fn load(&self, thresh: f64, full_pvalue_tables: bool) -> anyhow::Result<MotifSet> {
        Ok(MotifSet::load(&self.config(thresh), full_pvalue_tables)?)
    }
}

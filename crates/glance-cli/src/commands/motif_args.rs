//! Motif-set and background options shared by `glance scan` and `glance score`, and
//! their resolution as FIMO resolves them.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

use glance::motif::{bundled, read_motifs, BackgroundSource, MotifFile, ScanOptions, Scanner};

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
    /// Reads the motif set (or the bundled one) with the path in errors; returns it with
    /// a name for logs.
    fn load_motifs(&self) -> anyhow::Result<(MotifFile, String)> {
        match &self.motifs {
            Some(p) => {
                let f = read_motifs(p).with_context(|| p.display().to_string())?;
                Ok((f, p.display().to_string()))
            }
            None => Ok((
                bundled::jaspar().context("bundled JASPAR set")?,
                bundled::JASPAR_NAME.to_string(),
            )),
        }
    }

    /// Resolves `--bfile`/`--uniform` for `file` as FIMO does (averaged with the
    /// complement unless `--norc`).
    fn background(&self, file: &MotifFile) -> anyhow::Result<[f64; 4]> {
        let label = if self.uniform {
            "--uniform--"
        } else {
            self.bfile.as_deref().unwrap_or("--nrdb--")
        };
        BackgroundSource::from_bfile_arg(label, file.background)?
            .resolve(!self.norc)
            .with_context(|| format!("background {label}"))
    }

    /// Loads the motifs, resolves the background and compiles the scanner for p-value
    /// threshold `thresh` (`full_pvalue_tables` for region best p-values); returns it
    /// with the motif set's name for logs.
    pub fn scanner(
        &self,
        thresh: f64,
        full_pvalue_tables: bool,
    ) -> anyhow::Result<(Scanner, String)> {
        let (file, name) = self.load_motifs()?;
        let options = ScanOptions {
            thresh,
            both_strands: !self.norc,
            pseudocount: self.motif_pseudo,
            full_pvalue_tables,
        };
        let scanner = Scanner::new(&file.motifs, self.background(&file)?, options)
            .context("--thresh/--motif-pseudo")?;
        Ok((scanner, name))
    }
}

//! `--region chr:start-end` (repeatable, 1-based inclusive as in samtools) and
//! `--regions BED` (0-based half-open), shared by the commands that read part of an
//! input.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use glance::seq::{read_bed, Region};

/// Which parts of the input to read.
#[derive(Debug, Args)]
pub struct RegionArgs {
    /// Only this region, `chr:start-end` (1-based inclusive, as samtools); repeatable.
    #[arg(long, value_name = "R", conflicts_with = "regions")]
    pub region: Vec<String>,

    /// Only the regions of this BED file (0-based half-open).
    #[arg(long, value_name = "BED")]
    pub regions: Option<PathBuf>,
}

impl RegionArgs {
    /// The regions asked for, or `None` for the whole input.
    pub fn parse(&self) -> anyhow::Result<Option<Vec<Region>>> {
        if let Some(bed) = &self.regions {
            let file = std::fs::File::open(bed)
                .with_context(|| format!("{}: cannot open", bed.display()))?;
            let regions = read_bed(std::io::BufReader::new(file))
                .with_context(|| bed.display().to_string())?;
            return Ok(Some(regions));
        }
        if self.region.is_empty() {
            return Ok(None);
        }
        let regions = self
            .region
            .iter()
            .map(|r| r.parse::<Region>())
            .collect::<Result<Vec<_>, _>>()
            .context("--region")?;
        Ok(Some(regions))
    }
}

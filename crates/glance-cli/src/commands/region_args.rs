//! `--region chr:start-end` (repeatable, 1-based inclusive as in samtools) and
//! `--regions BED` (0-based half-open), shared by the commands that read part of an
//! input (`glance run`: keys `regions.region` and `regions.bed`).

use std::path::PathBuf;

use clap::Args;
use glance::seq::Region;
use glance::workflow::{read_regions, WorkflowError};

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
        read_regions(&self.region, self.regions.as_deref()).map_err(|e| match e {
            WorkflowError::Config(m) => anyhow::anyhow!("--region: {m}"),
            other => other.into(),
        })
    }
}

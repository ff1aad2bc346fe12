//! Flags accepted by every subcommand (`--threads`, `--quiet`) and the thread pool
//! they set up.

use clap::Args;

/// Flags accepted by every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Worker threads (default: all cores).
    #[arg(short = 't', long, global = true, value_name = "N")]
    pub threads: Option<usize>,

    /// Print nothing but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl GlobalArgs {
    /// Configures rayon's global pool with `--threads` (all cores when absent).
    pub fn init_threads(&self) -> anyhow::Result<()> {
        if let Some(n) = self.threads {
            anyhow::ensure!(n >= 1, "--threads must be at least 1");
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()?;
        }
        Ok(())
    }
}

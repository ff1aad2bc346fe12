//! `glance config`: prints the commented example configuration, or checks a file.

use std::path::PathBuf;

use clap::Args;
use glance::workflow::{Config, EXAMPLE};

use crate::global::GlobalArgs;

/// Arguments of `glance config`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance config --example > glance.toml
  glance config --check glance.toml")]
pub struct ConfigArgs {
    /// Print a commented example configuration (every key, with its default).
    #[arg(long, conflicts_with = "check", required_unless_present = "check")]
    pub example: bool,
    /// Check a configuration file and print it resolved (as TOML).
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
}

/// Runs `glance config`.
pub fn run(args: &ConfigArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if args.example {
        print!("{EXAMPLE}");
        return Ok(());
    }
    if let Some(p) = &args.check {
        let c = Config::read(p)?;
        c.validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        if !global.quiet {
            print!("{}", glance::workflow::to_toml(&c)?);
        }
    }
    Ok(())
}

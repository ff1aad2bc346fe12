//! `glance completions SHELL` and `glance man [SUBCOMMAND]`: shell completion scripts
//! (clap_complete) and roff man pages (clap_mangen) generated from the same grammar as
//! the parser, printed to stdout.

use std::io::Write;

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;

/// Arguments of `glance completions`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance completions bash > ~/.local/share/bash-completion/completions/glance
  glance completions zsh > ~/.zfunc/_glance      # with fpath+=~/.zfunc in ~/.zshrc
  glance completions fish > ~/.config/fish/completions/glance.fish")]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Arguments of `glance man`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance man > glance.1 && man ./glance.1
  glance man variants > glance-variants.1")]
pub struct ManArgs {
    /// The subcommand whose page to print (default: glance's own page).
    #[arg(value_name = "SUBCOMMAND")]
    pub subcommand: Option<String>,
}

/// Prints the completion script.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut cmd = Cli::command();
    // into memory first: clap_complete panics on a failed write (`| head`)
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "glance", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .context("stdout")
}

/// Prints the man page.
pub fn man(args: &ManArgs) -> anyhow::Result<()> {
    let cmd = Cli::command();
    let page = match &args.subcommand {
        None => cmd,
        Some(name) => {
            let sub = cmd
                .find_subcommand(name)
                .with_context(|| format!("no subcommand `{name}` (see glance --help)"))?
                .clone();
            let full = format!("glance-{name}");
            sub.display_name(full.clone()).bin_name(full)
        }
    };
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .context("stdout")?;
    out.flush().context("stdout")
}

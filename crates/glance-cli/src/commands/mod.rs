//! One module per subcommand (dispatched by `cli::Command::run`).

pub mod bench;
pub mod bench_sweep;
pub mod config;
pub mod embed;
pub mod merge;
pub mod model;
pub mod motif_args;
pub mod run;
pub mod scan;
pub mod score;
pub mod tokenize;

/// `PREFIX.ext` for an output prefix, keeping any dots already in the prefix.
pub(crate) fn with_suffix(prefix: &std::path::Path, ext: &str) -> std::path::PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    std::path::PathBuf::from(s)
}

//! The `glance` binary: parses the command line, sets up the thread pool, dispatches to
//! one subcommand and turns any error into one line on stderr with exit status 1 (clap
//! exits with 2 on usage errors, and so does a [`commands::UsageError`] found later).

mod cli;
mod commands;
mod global;
mod progress;
mod thp;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of the system allocator (see Cargo.toml): the encoder allocates
/// and frees megabytes per chunk on every worker, which glibc's arenas sometimes hand
/// back to the kernel and fault in again on each chunk.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` (the 16th entry of `mi_option_e` in mimalloc.h, v2 and v3;
/// libmimalloc-sys 0.1.49 builds v3): the delay in ms before freed pages go back to
/// the operating system (default 1000); -1 keeps them.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed pages for reuse: every thread's working set is the same from one chunk,
/// block or batch to the next, so purging them only costs page faults (about 2% of the
/// pipeline's CPU time with the default delay). Peak memory stays bounded by the
/// working sets.
fn keep_freed_pages() {
    // SAFETY: called first thing in main, before any other thread exists (the option
    // setter is not thread-safe); the option id and value are valid for mimalloc v2/v3.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

fn main() -> ExitCode {
    keep_freed_pages();
    thp::disable_for_process();
    let cli = cli::Cli::parse();
    init_logger(cli.global.quiet);
    if let Err(err) = cli.global.init_threads() {
        eprintln!("error: {err:#}");
        return ExitCode::from(1);
    }
    match cli.command.run(&cli.global) {
        Ok(()) => ExitCode::SUCCESS,
        // `glance scan ... | head`: the reader has what it wanted
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if err.chain().any(|c| c.is::<commands::UsageError>()) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
        Err(err) => {
            // `{:#}` joins the context chain with ": ", giving one line such as
            // `error: genome.fa: line 3: FASTA record has no '>' header`.
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// The crates whose `log` records are printed by default (info and above); the
/// others' warnings and errors only. `RUST_LOG` overrides it, `--quiet` keeps errors.
const DEFAULT_LOG: &str = "warn,glance=info,glance_seq=info,glance_attn=info,glance_model=info,\
glance_motif=info,glance_variant=info,glance_io=info,glance_workflow=info";

/// Prints the library crates' `log` records on stderr, one line each, as they are.
fn init_logger(quiet: bool) {
    let default = if quiet { "error" } else { DEFAULT_LOG };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
        .format(|buf, record| {
            use std::io::Write as _;
            writeln!(buf, "{}", record.args())
        })
        .target(env_logger::Target::Stderr)
        .init();
}

/// Whether the error is a write to a closed pipe, wherever in the chain.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<glance::io::IoError>()
                .is_some_and(glance::io::IoError::is_broken_pipe)
            || cause
                .downcast_ref::<glance::workflow::WorkflowError>()
                .is_some_and(glance::workflow::WorkflowError::is_broken_pipe)
    })
}

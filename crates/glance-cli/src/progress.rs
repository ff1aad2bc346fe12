//! Progress bars on stderr: a bar with rate and ETA when the total is known, a spinner
//! with the rate otherwise; hidden with `-q` or when stderr is not a terminal. Commands
//! that read whole files (tokenize, scan, score) show one when their inputs reach
//! [`LARGE_INPUT`] bytes.

use std::path::PathBuf;

use glance::workflow::{Input, ReadObserver};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Inputs of at least this many bytes (as stored) get a progress bar; smaller ones are
/// done before a bar would tell anything.
pub const LARGE_INPUT: u64 = 4 << 20;

/// A bar over the stored bytes of `inputs` (stdin: a spinner), drawn only when they
/// total at least [`LARGE_INPUT`] bytes or one is stdin. Feed it with
/// `glance::seq::SeqReader::open_observed`.
pub fn input_bar(quiet: bool, inputs: &[PathBuf]) -> ProgressBar {
    let stdin = inputs.iter().any(|p| p.as_os_str() == "-");
    let bytes: u64 = inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if !stdin && bytes < LARGE_INPUT {
        return ProgressBar::hidden();
    }
    let target = ProgressDrawTarget::stderr();
    if quiet || target.is_hidden() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target((!stdin).then_some(bytes), target);
    let template = if stdin {
        "{spinner} {elapsed_precise} {binary_bytes} read ({binary_bytes_per_sec})"
    } else {
        "{bar:30} {percent}% {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, ETA {eta})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// The inputs of `paths` (whole files) with [`input_bar`] told of every byte read from
/// them, and the bar (hidden unless drawn), for commands that read through
/// glance-workflow's [`Input`].
pub fn observed_inputs(quiet: bool, paths: &[PathBuf]) -> (ProgressBar, Vec<Input>) {
    let bar = input_bar(quiet, paths);
    let inputs = if bar.is_hidden() {
        Input::paths(paths)
    } else {
        let fed = bar.clone();
        Input::observed(paths, &ReadObserver::new(move |n| fed.inc(n)))
    };
    (bar, inputs)
}

/// A progress bar counting `unit`s; `total` is asked only when the bar is drawn.
pub fn bar(quiet: bool, unit: &str, total: impl FnOnce() -> Option<u64>) -> ProgressBar {
    let target = ProgressDrawTarget::stderr();
    if quiet || target.is_hidden() {
        return ProgressBar::hidden();
    }
    let total = total();
    let bar = ProgressBar::with_draw_target(total, target);
    let template = if total.is_some() {
        format!(
            "{{bar:30}} {{percent}}% {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, ETA {{eta}})"
        )
    } else {
        format!("{{spinner}} {{elapsed_precise}} {{human_pos}} {unit} ({{per_sec}})")
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

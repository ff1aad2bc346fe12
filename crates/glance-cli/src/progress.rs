//! Progress bars on stderr: a bar with rate and ETA when the total is known, a spinner
//! with the rate otherwise; hidden with `-q` or when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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

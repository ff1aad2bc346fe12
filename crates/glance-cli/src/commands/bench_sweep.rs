//! `glance bench attention --sweep`: a table of patterns (exact windows of several
//! sizes and the approximations) on one random input, one TSV row per pattern with its
//! error against exact full attention ([`glance::attn::reference::FullRows`]), median
//! time, tokens/s and memory, and optionally (`--plot`, cargo feature `plot`) a PNG
//! plot of error against time (submodule `plot`). It answers "which window size /
//! which approximation?" with numbers from this machine.

#[cfg(feature = "plot")]
mod plot;

use anyhow::Context;
use glance::attn::ndarray::Array3;
use glance::attn::reference::FullRows;
use glance::attn::{Approx, Spec};

use super::bench::{
    check_shape, chosen_isa, parse_spec, peak_rss_bytes, predrawn, reference_of, run_spec,
    time_runs, AttentionArgs, BenchInputs,
};
use crate::global::GlobalArgs;

/// The built-in table: windows, block and dilation sizes, K, M and hash rounds.
const DEFAULT_SWEEP: [&str; 15] = [
    "sliding:r=32",
    "sliding:r=128",
    "sliding:r=512",
    "dilated:r=64,d=4",
    "block:b=256,n=1",
    "linformer:k=64",
    "linformer:k=256",
    "linformer:k=256,b=4096",
    "performer:m=64",
    "performer:m=256",
    "lsh:bucket=64,hashes=1",
    "lsh:bucket=64,hashes=2",
    "lsh:bucket=64,hashes=4",
    "lsh:bucket=64,hashes=4,nb=256",
    "full",
];

/// Longest sequence for which the default table includes `full` (it is quadratic).
const FULL_MAX_LEN: usize = 16384;

/// One row of the table.
struct Row {
    spec: Spec,
    error: f64,
    median_s: f64,
    cpu_s: Option<f64>,
    tokens_per_s: f64,
    peak_rss: Option<u64>,
    extra: Option<u64>,
}

/// Resident set size now (`VmRSS`), if the OS reports it.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak RSS (`VmHWM`) to the current RSS (Linux `clear_refs` 5); false when
/// the OS does not allow it (then peaks are the process's so far).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The patterns of the sweep: the `--pattern` values, or the built-in table without
/// the entries this length cannot run (LSH needs `n` a multiple of `2 * bucket`).
fn specs(args: &AttentionArgs) -> anyhow::Result<Vec<Spec>> {
    if !args.pattern.is_empty() {
        return args.pattern.iter().map(|p| parse_spec(p)).collect();
    }
    let n = args.len;
    let mut out = Vec::new();
    for text in DEFAULT_SWEEP {
        let spec = parse_spec(text)?;
        let fits = match &spec {
            Spec::Approx(Approx::Lsh(l)) => n.is_multiple_of(2 * l.bucket) && n >= 2 * l.bucket,
            Spec::Approx(Approx::Linformer(l)) => l.block.is_none_or(|b| b < n),
            Spec::Exact(p) if p.local_radius().is_none() => n <= FULL_MAX_LEN,
            Spec::Exact(p) => p.local_radius().is_some_and(|r| r < n),
            _ => true,
        };
        if fits {
            out.push(spec);
        }
    }
    Ok(out)
}

/// Runs the sweep and prints the TSV table (and writes `--plot`).
pub fn sweep(args: &AttentionArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    #[cfg(not(feature = "plot"))]
    anyhow::ensure!(
        args.plot.is_none(),
        "--plot: this glance was built without the `plot` feature; build it with \
         `cargo install --path crates/glance-cli --features plot`"
    );
    check_shape(args)?;
    let specs = specs(args)?;
    let isa = chosen_isa(args)?;
    let x = BenchInputs::random(args);
    let mut out = Array3::<f32>::zeros((args.heads, args.len, args.head_dim));
    let mut references: Vec<(glance::attn::Spec, FullRows)> = Vec::new();
    let mut rows = Vec::with_capacity(specs.len());
    for spec in specs {
        let reset = reset_peak_rss();
        let before = rss_bytes();
        let weights = predrawn(&spec, args)?;
        let timing = time_runs(args.runs, || {
            run_spec(
                &spec,
                &x,
                (isa, args.precision),
                args.seed,
                weights.as_ref(),
                &mut out,
            )
        })
        .with_context(|| format!("--pattern {spec}"))?;
        drop(weights);
        let peak_rss = peak_rss_bytes();
        let extra = match (reset, before, peak_rss) {
            (true, Some(b), Some(p)) => Some(p.saturating_sub(b)),
            _ => None,
        };
        // One reference per kind (full, or full shared-QK for LSH), computed once.
        let kind = reference_of(&spec);
        let idx = match references.iter().position(|(s, _)| reference_of(s) == kind) {
            Some(i) => i,
            None => {
                references.push((spec.clone(), x.full_rows(&spec)?));
                references.len() - 1
            }
        };
        let error = references[idx].1.relative_error(out.view())?;
        rows.push(Row {
            error,
            median_s: timing.median_s(),
            cpu_s: timing.cpu_s,
            tokens_per_s: args.len as f64 / timing.median_s(),
            peak_rss,
            extra,
            spec,
        });
        if !global.quiet {
            eprintln!("swept {}", rows[rows.len() - 1].spec);
        }
    }
    let sampled = references.first().map_or(0, |r| r.1.sampled());
    println!(
        "# glance bench attention --sweep: len {} heads {} head_dim {} threads {} ({}), runs {}, seed {}, inputs {}; error = relative Frobenius vs exact full attention on {sampled} sampled query rows (lsh: vs full shared-QK attention)",
        args.len,
        args.heads,
        args.head_dim,
        global.threads.unwrap_or_else(rayon::current_num_threads),
        isa.name(),
        args.runs,
        args.seed,
        args.smooth.map_or_else(|| "random".to_string(), |l| format!("smooth (L = {l})"))
    );
    println!(
        "pattern\treference\terror_vs_full\tmedian_s\tcpu_s\ttokens_per_s\tpeak_rss_mib\textra_mib"
    );
    let mib = |b: Option<u64>| {
        b.map_or_else(
            || "NA".to_string(),
            |b| format!("{:.1}", b as f64 / 1048576.0),
        )
    };
    for r in &rows {
        println!(
            "{}\t{}\t{:.4e}\t{:.6}\t{}\t{:.0}\t{}\t{}",
            r.spec,
            reference_of(&r.spec).name(),
            r.error,
            r.median_s,
            r.cpu_s
                .map_or_else(|| "NA".to_string(), |c| format!("{c:.6}")),
            r.tokens_per_s,
            mib(r.peak_rss),
            mib(r.extra)
        );
    }
    #[cfg(feature = "plot")]
    if let Some(path) = &args.plot {
        plot::plot(path, &rows, args).with_context(|| format!("{}", path.display()))?;
    }
    Ok(())
}

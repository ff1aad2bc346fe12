//! `glance model sweep DIR INPUT --windows 64,128,256 -o PREFIX`: how much a model's
//! region embeddings change when it sees less context, and how fast each window runs,
//! on the user's own model and sequences.
//!
//! The reference is the model as it is: a windowed model (learned positions: BERT/DNABERT,
//! Longformer, Nucleotide Transformer) in its own windows, a model with full-attention
//! layers and relative or no positions (ModernBERT, native rope/alibi/none) over whole
//! records. Each window W then runs the same input either in windows of W tokens
//! ([`Encoder::limit_window`], mode `windows`) or with every `full` layer converted to
//! `sliding:r=W/2` ([`Encoder::override_patterns`], mode `sliding`, the opt-in
//! conversion of `glance embed --pattern`). A model whose layers are all local already
//! has nothing to shorten and is refused. Every run is pooled into the same bins by the
//! pooled path of `glance embed` ([`embed_to_memory`]), and each bin's embedding is
//! compared with the reference's by cosine similarity. Writes PREFIX.tsv and, in a glance
//! built with the cargo feature `plot`, PREFIX.png (submodule `plot`), both atomically
//! and only once every run has succeeded.

#[cfg(feature = "plot")]
mod plot;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use glance::io::{with_suffix, AtomicFile};
use glance::model::{Encoder, Pooling, Precision, Regions, RunMode, StreamOptions};
use glance::workflow::{embed_to_memory, EmbedRows, EmbeddingTable, Input};

use super::UsageError;
use crate::global::GlobalArgs;

/// Arguments of `glance model sweep`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance model sweep ~/hf/nt-v2-50m regions.fa --windows 64,128,256,512 -o nt_sweep
  glance model sweep ~/hf/modernbert chr21_10kb.fa --windows 128,512,2048 --bin 500 -o mb
  glance model sweep ~/hf/dnabert-6 peaks.fa.gz --windows 32,64,128,256,510 -o dnabert")]
pub struct SweepArgs {
    /// Model directory (native glance, or a Hugging Face checkpoint as `glance embed`
    /// takes it).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Input FASTA/FASTQ files (plain, gzip or BGZF), read once per window (so not
    /// stdin). Models with full attention encode whole records for the reference: use
    /// records of a few kb to a few hundred kb.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Windows to try, in tokens, comma-separated: for a windowed model (learned
    /// positions) the content tokens of each window (at most the model's own window, as
    /// `glance model inspect` prints it); for a full-attention model the span of
    /// `sliding:r=W/2` that replaces every `full` layer (W >= 2).
    #[arg(long, required = true, value_name = "W,...", value_delimiter = ',',
          value_parser = parse_window)]
    pub windows: Vec<u64>,

    /// Encoder arithmetic of every run, the reference included: f32, or bf16 (bf16
    /// GEMM inputs with f32 accumulation, on CPUs with AVX512_BF16; others run f32 with
    /// a warning). docs/precision.md.
    #[arg(long, value_name = "P", default_value = "f32")]
    pub precision: Precision,

    /// Bin size in bp: embeddings are mean-pooled per bin, as `glance embed --bin`.
    #[arg(long, value_name = "BP", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub bin: u64,

    /// Output prefix: writes PREFIX.tsv (and PREFIX.png with the `plot` feature).
    #[arg(short, long, value_name = "PREFIX")]
    pub output: PathBuf,
}

/// One `--windows` value: a whole number of tokens, at least 1.
fn parse_window(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("a window holds at least 1 token".to_string()),
        Ok(w) => Ok(w),
        Err(_) => Err("expected window sizes in tokens, e.g. 64,128,256".to_string()),
    }
}

/// How a row's run differs from the model as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The model as it is, in its own windows.
    FullWindows,
    /// The model as it is, whole records.
    Whole,
    /// Windows of `W` tokens.
    Windows,
    /// Every `full` layer as `sliding:r=W/2`.
    Sliding,
}

impl Mode {
    /// The TSV's `mode` column.
    fn name(self) -> &'static str {
        match self {
            Mode::FullWindows | Mode::Windows => "windows",
            Mode::Whole => "whole",
            Mode::Sliding => "sliding",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
struct Row {
    /// Window in tokens; `None` for the reference (`full`).
    window: Option<u64>,
    mode: Mode,
    /// Bins compared (bins with tokens).
    bins: usize,
    mean: f64,
    median: f64,
    min: f64,
    max_abs: f64,
    seconds: f64,
    seconds_per_mb: f64,
}

impl Row {
    /// The `window` column.
    fn window_label(&self) -> String {
        self.window
            .map_or_else(|| "full".to_string(), |w| w.to_string())
    }
}

/// The TSV header.
const HEADER: &str = "window\tmode\tbins\tmean_cosine\tmedian_cosine\tmin_cosine\tmax_abs_error\tseconds\tseconds_per_mb";

/// Runs `glance model sweep`.
pub fn run(args: &SweepArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if let Some(stdin) = args.inputs.iter().find(|p| p.as_os_str() == "-") {
        return Err(UsageError(format!(
            "INPUT {}: the sweep reads its input once per window; give a file, not stdin",
            stdin.display()
        ))
        .into());
    }
    let dir = &args.dir;
    let mut model = glance::model::load(dir)
        .with_context(|| format!("{}: cannot load model", dir.display()))?;
    super::use_precision(&mut model, args.precision);
    let reference_mode = match model.run_mode()? {
        RunMode::Windows { tokens, .. } => {
            if let Some(&w) = args.windows.iter().find(|&&w| w > tokens as u64) {
                return Err(UsageError(format!(
                    "--windows {w}: larger than the model's window of {tokens} tokens ({})",
                    dir.display()
                ))
                .into());
            }
            Mode::FullWindows
        }
        RunMode::Chunked { halo } => anyhow::bail!(
            "{}: every layer of this model is local attention already (receptive field ±{halo} \
             tokens): it has no full-attention layer or learned-position window to shorten",
            dir.display()
        ),
        RunMode::Whole => {
            if !model
                .layers
                .iter()
                .any(|l| l.attention.pattern.to_string() == "full")
            {
                anyhow::bail!(
                    "{}: no layer of this model is `full` attention (its unbounded reach comes \
                     from global tokens): there is nothing to convert to sliding windows",
                    dir.display()
                );
            }
            if let Some(&w) = args.windows.iter().find(|&&w| w < 2) {
                return Err(UsageError(format!(
                    "--windows {w}: a full-attention layer becomes sliding:r=W/2, which needs \
                     W >= 2"
                ))
                .into());
            }
            Mode::Whole
        }
    };
    let mut windows = args.windows.clone();
    windows.sort_unstable();
    windows.dedup();

    let inputs = Input::paths(&args.inputs);
    let rows_spec = EmbedRows::Pooled {
        regions: Regions::Bins {
            size: args.bin,
            step: args.bin,
        },
        pooling: Pooling::Mean,
    };
    let embed = |encoder: &Encoder| -> anyhow::Result<(EmbeddingTable, f64, u64)> {
        let opts = StreamOptions::for_encoder(encoder);
        let mut bases = 0u64;
        let start = Instant::now();
        let table = embed_to_memory(encoder, &inputs, &opts, &rows_spec, &mut |b| bases += b)?;
        Ok((table, start.elapsed().as_secs_f64(), bases))
    };

    // Warm-up (not timed): maps the weights in and starts the worker threads, so that
    // the reference's time is not the only one to pay for them.
    let warm_up: Vec<u8> = (0..4096)
        .map(|i| b"ACGGTCAT"[(i * 7 + i / 5) % 8])
        .collect();
    embed_to_memory(
        &model,
        &[Input::sequence("warm-up", &warm_up)],
        &StreamOptions::for_encoder(&model),
        &rows_spec,
        &mut |_| {},
    )
    .context("warm-up")?;
    let (reference, ref_seconds, bases) =
        embed(&model).context("the reference (the model as it is)")?;
    let per_mb = |seconds: f64| {
        if bases == 0 {
            f64::NAN
        } else {
            seconds / (bases as f64 / 1e6)
        }
    };
    let mut rows = vec![compare(
        None,
        reference_mode,
        &reference,
        &reference,
        ref_seconds,
        per_mb(ref_seconds),
    )?];
    anyhow::ensure!(
        rows[0].bins > 0,
        "{}: no sequence long enough for one token: nothing to compare",
        args.inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !global.quiet {
        eprintln!(
            "swept full ({}): {} bins, {ref_seconds:.3} s",
            reference_mode.name(),
            rows[0].bins
        );
    }
    for &w in &windows {
        let mut encoder = model.clone();
        let mode = if reference_mode == Mode::FullWindows {
            let tokens = usize::try_from(w).context("--windows")?;
            encoder.limit_window(tokens)?;
            Mode::Windows
        } else {
            let specs: Vec<String> = encoder
                .layers
                .iter()
                .enumerate()
                .filter(|(_, l)| l.attention.pattern.to_string() == "full")
                .map(|(i, _)| format!("{i}=sliding:r={}", w / 2))
                .collect();
            encoder.override_patterns(&specs)?;
            Mode::Sliding
        };
        let (table, seconds, _) = embed(&encoder).with_context(|| format!("window {w}"))?;
        let row = compare(Some(w), mode, &table, &reference, seconds, per_mb(seconds))?;
        if !global.quiet {
            eprintln!(
                "swept {w} ({}): mean cosine {:.6}, {seconds:.3} s",
                mode.name(),
                row.mean
            );
        }
        rows.push(row);
    }
    write_outputs(args, &rows, global)
}

/// The row of a run: per-bin cosine similarity of `table` to `reference`.
fn compare(
    window: Option<u64>,
    mode: Mode,
    table: &EmbeddingTable,
    reference: &EmbeddingTable,
    seconds: f64,
    seconds_per_mb: f64,
) -> anyhow::Result<Row> {
    anyhow::ensure!(
        table.regions == reference.regions && table.values.len() == reference.values.len(),
        "window {}: the bins differ from the reference's ({} against {})",
        window.map_or_else(|| "full".to_string(), |w| w.to_string()),
        table.regions.len(),
        reference.regions.len()
    );
    let d = table.d.max(1);
    let mut cosines = Vec::with_capacity(table.regions.len());
    let mut max_abs = 0f64;
    for (a, b) in table.values.chunks(d).zip(reference.values.chunks(d)) {
        let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (f64::from(x), f64::from(y));
            ab += x * y;
            aa += x * x;
            bb += y * y;
            max_abs = max_abs.max((x - y).abs());
        }
        if aa == 0.0 && bb == 0.0 {
            // a bin without tokens: nothing to compare
            continue;
        }
        let cos = if aa == 0.0 || bb == 0.0 {
            0.0
        } else {
            (ab / (aa.sqrt() * bb.sqrt())).clamp(-1.0, 1.0)
        };
        cosines.push(cos);
    }
    cosines.sort_by(f64::total_cmp);
    let n = cosines.len();
    let (mean, median, min) = if n == 0 {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        let median = if n % 2 == 1 {
            cosines[n / 2]
        } else {
            (cosines[n / 2 - 1] + cosines[n / 2]) / 2.0
        };
        (cosines.iter().sum::<f64>() / n as f64, median, cosines[0])
    };
    Ok(Row {
        window,
        mode,
        bins: n,
        mean,
        median,
        min,
        max_abs,
        seconds,
        seconds_per_mb,
    })
}

/// Writes PREFIX.tsv (and PREFIX.png), committing them only once both are written.
fn write_outputs(args: &SweepArgs, rows: &[Row], global: &GlobalArgs) -> anyhow::Result<()> {
    let tsv_path = with_suffix(&args.output, "tsv");
    let mut tsv = AtomicFile::create(&tsv_path)?;
    {
        let mut w = tsv.writer();
        write_tsv(&mut w, rows)
            .and_then(|()| w.flush())
            .with_context(|| format!("{}: cannot write", tsv_path.display()))?;
    }
    #[cfg(feature = "plot")]
    {
        let png_path = with_suffix(&args.output, "png");
        let png = plot::plot(&png_path, rows, &args.dir)
            .with_context(|| format!("{}", png_path.display()))?;
        tsv.commit()?;
        png.commit()?;
        if !global.quiet {
            eprintln!(
                "glance model sweep: {} windows and the reference to {} and {}",
                rows.len() - 1,
                tsv_path.display(),
                png_path.display()
            );
        }
    }
    #[cfg(not(feature = "plot"))]
    {
        tsv.commit()?;
        if !global.quiet {
            eprintln!(
                "glance model sweep: {} windows and the reference to {}; no plot: {} needs a \
                 glance built with `--features plot`",
                rows.len() - 1,
                tsv_path.display(),
                with_suffix(&args.output, "png").display()
            );
        }
    }
    Ok(())
}

/// The table, header first, the reference (`full`) then the windows from small to large.
fn write_tsv(w: &mut dyn Write, rows: &[Row]) -> std::io::Result<()> {
    writeln!(w, "{HEADER}")?;
    for r in rows {
        writeln!(
            w,
            "{}\t{}\t{}\t{:.8}\t{:.8}\t{:.8}\t{:.4e}\t{:.4}\t{:.4}",
            r.window_label(),
            r.mode.name(),
            r.bins,
            r.mean,
            r.median,
            r.min,
            r.max_abs,
            r.seconds,
            r.seconds_per_mb
        )?;
    }
    Ok(())
}

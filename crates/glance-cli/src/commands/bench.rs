//! `glance bench`: micro-benchmarks of glance's kernels on this machine.
//!
//! `glance bench attention` times attention on seeded random unit-scale inputs: exact
//! patterns ([`glance::attn::attend_into`]) and the approximations
//! ([`glance::attn::attend_approx_into`], random matrices drawn from `--seed`). It
//! reports the median time, tokens/s, useful GFLOP/s for exact patterns (4 * P *
//! d_head, P the exact number of allowed (query, key) pairs over all heads), the CPU
//! seconds of all threads (robust on a shared machine), peak RSS and, with `--check`,
//! the relative Frobenius error against exact full attention on sampled query rows
//! ([`glance::attn::reference::FullRows`]) plus, for exact patterns, the max abs error
//! against the f64 dense reference ([`glance::attn::reference::attend_f64`]). This
//! module handles the arguments and the report; the references are glance-attn's.
//! `--sweep` runs a table of patterns on one input ([`super::bench_sweep`]).

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{ensure, Context};
use clap::{Args, Subcommand, ValueEnum};
use glance::attn::inputs::{max_abs_error, Inputs};
use glance::attn::ndarray::Array3;
use glance::attn::reference::{self, FullRows, Reference};
use glance::attn::{
    attend_approx_into, attend_into, draw_weights, runs_bf16_tiles, Approx, ApproxOptions,
    AttendOptions, Isa, OwnedWeights, Precision, Spec, Visibility,
};

use crate::global::GlobalArgs;

/// Arguments of `glance bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to benchmark.
    #[command(subcommand)]
    pub target: BenchTarget,
}

/// `glance bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// Time attention (exact or approximate) for one pattern and shape on random
    /// inputs, or a table of patterns with --sweep.
    #[command(after_help = "Examples:
  glance bench attention --pattern sliding:r=128 --len 65536 --threads 2
  glance bench attention --pattern dilated:r=64,d=4 --len 16384 --check --json
  glance bench attention --pattern linformer:k=256 --len 65536 --check
  glance bench attention --sweep --len 65536 --plot sweep.png > sweep.tsv")]
    Attention(AttentionArgs),
}

/// Instruction sets selectable with `--isa`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IsaArg {
    /// Plain Rust.
    Portable,
    /// AVX2 + FMA.
    Avx2,
    /// AVX-512F.
    Avx512,
}

/// Arguments of `glance bench attention`.
#[derive(Debug, Args)]
pub struct AttentionArgs {
    /// Attention pattern, e.g. `sliding:r=128`, `dilated:r=64,d=4`, `block:b=128,n=1`,
    /// `full`, optionally `+global:first|every=K|tokens=I,J`, or `bigbird:b=64,random=3`;
    /// or an approximation:
    /// `linformer:k=256[,b=B]`, `performer:m=256[,causal]`, `lsh:bucket=64,hashes=4`.
    /// With --sweep it may be repeated (default: a built-in table).
    #[arg(long, value_name = "SPEC", required_unless_present = "sweep")]
    pub pattern: Vec<String>,

    /// Sequence length n.
    #[arg(long, value_name = "N")]
    pub len: usize,

    /// Attention heads.
    #[arg(long, value_name = "H", default_value_t = 4)]
    pub heads: usize,

    /// Dimension per head.
    #[arg(long, value_name = "D", default_value_t = 64)]
    pub head_dim: usize,

    /// Timed runs (the median is reported), after one warm-up run.
    #[arg(long, value_name = "R", default_value_t = 5)]
    pub runs: usize,

    /// Also compute the relative Frobenius error against exact full attention on
    /// sampled query rows and, for exact patterns, the max abs error against the f64
    /// dense reference (exact patterns: n <= 16384).
    #[arg(long)]
    pub check: bool,

    /// Run a table of patterns (--pattern, repeated, or a built-in set) on one input;
    /// print one TSV row per pattern: error vs full attention, time, tokens/s, memory.
    #[arg(long)]
    pub sweep: bool,

    /// With --sweep: also write a PNG plot of error against time here (only in a glance
    /// built with the cargo feature `plot`).
    #[arg(long, value_name = "PNG", requires = "sweep")]
    pub plot: Option<std::path::PathBuf>,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,

    /// Seed of the random inputs (and of the approximations' random matrices).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Inputs that vary smoothly along the sequence (q, k share an AR(1) signal of
    /// correlation length L tokens, scaled so attention is mostly local; v is AR(1)
    /// too), instead of independent random rows. Errors against full attention are
    /// then those of a sequence model with local structure.
    #[arg(long, value_name = "L")]
    pub smooth: Option<f64>,

    /// Force an instruction set of the f32 kernels (default: the best this CPU has).
    #[arg(long, value_enum)]
    pub isa: Option<IsaArg>,

    /// Arithmetic of exact patterns: f32, or bf16 (q, k, v and probabilities in bf16
    /// on AMX tiles, f32 accumulation and softmax; calls the AMX kernel does not take
    /// run f32, and the report says which ran). docs/precision.md.
    #[arg(long, value_name = "P", default_value = "f32")]
    pub precision: Precision,
}

/// The largest `--len` accepted with `--check` (the reference is O(n^2)).
const CHECK_MAX_LEN: usize = 16384;

/// Runs `glance bench`.
pub fn run(args: &BenchArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    match &args.target {
        BenchTarget::Attention(a) if a.sweep => super::bench_sweep::sweep(a, global),
        BenchTarget::Attention(a) => attention(a, global),
    }
}

/// Peak resident set size of this process in bytes (`VmHWM`), if the OS reports it.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Nanoseconds this process's threads have run on a CPU (sum of
/// `/proc/self/task/*/schedstat`), if the OS reports it. On a shared machine this
/// separates the kernel's cost from time spent waiting for a core.
pub(crate) fn cpu_ns() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// What one `bench attention` run measured.
struct Report {
    pattern: String,
    len: usize,
    heads: usize,
    head_dim: usize,
    threads: usize,
    isa: &'static str,
    /// The arithmetic that ran (exact patterns; see [`precision_ran`]).
    precision: &'static str,
    runs: usize,
    /// Allowed (query, key) pairs (exact patterns only).
    pairs: Option<u64>,
    timing: Timing,
    tensor_bytes: u64,
    peak_rss: Option<u64>,
    max_abs_err: Option<f64>,
    /// Relative Frobenius error vs full attention, its reference, sampled rows.
    rel_err: Option<(f64, Reference, usize)>,
    /// Approximations: whether the random matrices were drawn before timing.
    predrawn: Option<bool>,
}

impl Report {
    fn tokens_per_s(&self) -> f64 {
        self.len as f64 / self.timing.median_s()
    }

    /// Useful GFLOP of one run: 4 * P * d_head / 1e9 (exact patterns).
    fn useful_gflop(&self) -> Option<f64> {
        self.pairs
            .map(|p| 4.0 * p as f64 * self.head_dim as f64 / 1e9)
    }

    fn useful_gflops(&self) -> Option<f64> {
        self.useful_gflop().map(|g| g / self.timing.median_s())
    }

    fn text(&self) -> Result<String, std::fmt::Error> {
        let t = &self.timing;
        let mut s = String::new();
        writeln!(s, "pattern        {}", self.pattern)?;
        writeln!(
            s,
            "shape          len {} x heads {} x head_dim {}",
            self.len, self.heads, self.head_dim
        )?;
        writeln!(s, "threads        {} ({})", self.threads, self.isa)?;
        writeln!(s, "precision      {}", self.precision)?;
        match self.predrawn {
            Some(true) => writeln!(s, "weights        seeded, drawn once before timing")?,
            Some(false) => writeln!(
                s,
                "weights        seeded, drawn in every call (too large to keep)"
            )?,
            None => {}
        }
        if let Some(pairs) = self.pairs {
            writeln!(s, "pairs          {pairs}")?;
        }
        writeln!(
            s,
            "seconds        {:.6} (median of {}; min {:.6}, max {:.6})",
            t.median_s(),
            self.runs,
            t.times[0],
            t.times[t.times.len() - 1]
        )?;
        writeln!(s, "tokens/s       {:.0}", self.tokens_per_s())?;
        if let Some(g) = self.useful_gflops() {
            writeln!(s, "useful GFLOP/s {g:.1}")?;
        }
        if let Some(cpu) = t.cpu_s {
            match self.useful_gflop() {
                Some(g) => writeln!(
                    s,
                    "cpu seconds    {cpu:.6} (all threads; {:.1} useful GFLOP per cpu-second)",
                    g / cpu
                )?,
                None => writeln!(s, "cpu seconds    {cpu:.6} (all threads)")?,
            }
        }
        if let Some(rss) = self.peak_rss {
            writeln!(
                s,
                "peak RSS       {:.1} MiB ({:.2}x the {:.1} MiB of q, k, v and output)",
                rss as f64 / 1048576.0,
                rss as f64 / self.tensor_bytes as f64,
                self.tensor_bytes as f64 / 1048576.0
            )?;
        }
        if let Some(err) = self.max_abs_err {
            writeln!(s, "max abs error  {err:.3e} (vs f64 dense reference)")?;
        }
        if let Some((err, reference, rows)) = self.rel_err {
            writeln!(
                s,
                "error vs full  {err:.4e} (relative Frobenius, vs exact {} attention on {rows} sampled query rows x {} heads)",
                reference.name(),
                self.heads
            )?;
        }
        Ok(s)
    }

    fn json(&self) -> String {
        let opt = |x: Option<String>| x.unwrap_or_else(|| "null".into());
        let t = &self.timing;
        format!(
            "{{\"pattern\":\"{}\",\"len\":{},\"heads\":{},\"head_dim\":{},\"threads\":{},\
             \"isa\":\"{}\",\"precision\":\"{}\",\"runs\":{},\"pairs\":{},\"median_s\":{:.9},\"min_s\":{:.9},\
             \"max_s\":{:.9},\"cpu_s\":{},\"tokens_per_s\":{:.1},\"useful_gflops\":{},\
             \"tensor_bytes\":{},\"peak_rss_bytes\":{},\"max_abs_err\":{},\
             \"rel_frobenius_err\":{},\"error_reference\":{},\"error_rows\":{}}}",
            self.pattern.replace('\\', "\\\\").replace('"', "\\\""),
            self.len,
            self.heads,
            self.head_dim,
            self.threads,
            self.isa,
            self.precision,
            self.runs,
            opt(self.pairs.map(|p| p.to_string())),
            t.median_s(),
            t.times[0],
            t.times[t.times.len() - 1],
            opt(t.cpu_s.map(|c| format!("{c:.9}"))),
            self.tokens_per_s(),
            opt(self.useful_gflops().map(|g| format!("{g:.3}"))),
            self.tensor_bytes,
            opt(self.peak_rss.map(|r| r.to_string())),
            opt(self.max_abs_err.map(|e| format!("{e:e}"))),
            opt(self.rel_err.map(|e| format!("{:e}", e.0))),
            opt(self.rel_err.map(|e| format!("\"{}\"", e.1.name()))),
            opt(self.rel_err.map(|e| e.2.to_string())),
        )
    }
}

/// What `--precision` ran as: `f32`, `bf16 (amx)`, or `f32 (bf16 asked: ...)` when the
/// bf16 kernel does not take the call (no AMX, global tokens, an approximation).
pub(crate) fn precision_ran(spec: &Spec, args: &AttentionArgs) -> anyhow::Result<&'static str> {
    Ok(match (args.precision, spec) {
        (Precision::F32, _) => "f32",
        (Precision::Bf16, Spec::Exact(p)) => {
            let opts = AttendOptions {
                precision: Precision::Bf16,
                ..Default::default()
            };
            if runs_bf16_tiles(p, args.len, args.heads, &opts)? {
                "bf16 (amx)"
            } else {
                "f32 (bf16 asked: no AMX on this CPU or a call the AMX kernel does not take)"
            }
        }
        (Precision::Bf16, Spec::Approx(_)) => "f32 (bf16 asked: approximations are f32 only)",
    })
}

/// The instruction set chosen with `--isa` (checked to be available).
pub(crate) fn chosen_isa(args: &AttentionArgs) -> anyhow::Result<Isa> {
    let isa = match args.isa {
        None => Isa::detect(),
        Some(IsaArg::Portable) => Isa::Portable,
        Some(IsaArg::Avx2) => Isa::Avx2,
        Some(IsaArg::Avx512) => Isa::Avx512,
    };
    ensure!(
        isa.is_available(),
        "--isa {}: not available on this CPU",
        isa.name()
    );
    Ok(isa)
}

/// Checks the shape options shared by a single run and a sweep.
pub(crate) fn check_shape(args: &AttentionArgs) -> anyhow::Result<()> {
    ensure!(args.len >= 1, "--len must be at least 1");
    ensure!(args.heads >= 1, "--heads must be at least 1");
    ensure!(args.head_dim >= 1, "--head-dim must be at least 1");
    ensure!(args.runs >= 1, "--runs must be at least 1");
    Ok(())
}

/// Parses one `--pattern` value.
pub(crate) fn parse_spec(text: &str) -> anyhow::Result<Spec> {
    text.parse().with_context(|| format!("--pattern {text}"))
}

/// Seeded random unit-scale q, k, v (`[heads, len, head_dim]`), as `--seed` and
/// `--smooth` ask (glance-attn's `inputs`).
pub(crate) struct BenchInputs {
    pub q: Array3<f32>,
    pub k: Array3<f32>,
    pub v: Array3<f32>,
}

impl BenchInputs {
    pub(crate) fn random(args: &AttentionArgs) -> Self {
        let shape = (args.heads, args.len, args.head_dim);
        let Inputs { q, k, v } = Inputs::seeded(shape, args.seed, args.smooth);
        BenchInputs { q, k, v }
    }

    /// Exact full attention on the sampled rows, for the error of `spec`.
    pub(crate) fn full_rows(&self, spec: &Spec) -> anyhow::Result<FullRows> {
        Ok(FullRows::compute(
            self.q.view(),
            self.k.view(),
            self.v.view(),
            reference_of(spec),
        )?)
    }
}

/// The random matrices of an approximation, drawn once before timing (as a model
/// stores them) when they take at most [`PREDRAW_MAX_BYTES`]; otherwise `None` and
/// each call draws them from the seed.
pub(crate) fn predrawn(spec: &Spec, args: &AttentionArgs) -> anyhow::Result<Option<OwnedWeights>> {
    let Spec::Approx(a) = spec else {
        return Ok(None);
    };
    if let Approx::Linformer(l) = a {
        let rows = l.block.unwrap_or(args.len);
        let bytes = 4 * rows * l.k * if l.share_kv { 1 } else { 2 };
        if bytes > PREDRAW_MAX_BYTES {
            return Ok(None);
        }
    }
    Ok(Some(draw_weights(a, args.len, args.head_dim, args.seed)?))
}

/// The largest random matrices drawn before timing.
const PREDRAW_MAX_BYTES: usize = 512 << 20;

/// What `spec`'s error is measured against: full attention, or for LSH (shared-QK)
/// Reformer's full shared-QK attention.
pub(crate) fn reference_of(spec: &Spec) -> Reference {
    match spec {
        Spec::Approx(Approx::Lsh(_)) => Reference::FullSharedQk,
        _ => Reference::Full,
    }
}

/// Computes `spec` on `x` into `out` (LSH reads q as its keys).
pub(crate) fn run_spec(
    spec: &Spec,
    x: &BenchInputs,
    (isa, precision): (Isa, Precision),
    seed: u64,
    weights: Option<&OwnedWeights>,
    out: &mut Array3<f32>,
) -> anyhow::Result<()> {
    match spec {
        Spec::Exact(p) => {
            let opts = AttendOptions {
                isa: Some(isa),
                precision,
                ..Default::default()
            };
            attend_into(x.q.view(), x.k.view(), x.v.view(), p, &opts, out.view_mut())?;
        }
        Spec::Approx(a) => {
            let opts = ApproxOptions {
                seed,
                weights: weights.map(OwnedWeights::view),
                ..Default::default()
            };
            let k = if matches!(a, Approx::Lsh(_)) {
                &x.q
            } else {
                &x.k
            };
            attend_approx_into(x.q.view(), k.view(), x.v.view(), a, &opts, out.view_mut())?;
        }
    }
    Ok(())
}

/// Wall and CPU seconds of timed runs.
pub(crate) struct Timing {
    /// Wall seconds of each timed run, ascending.
    pub times: Vec<f64>,
    /// Median CPU seconds per run over all threads.
    pub cpu_s: Option<f64>,
}

impl Timing {
    pub(crate) fn median_s(&self) -> f64 {
        self.times[self.times.len() / 2]
    }
}

/// One warm-up run, then `runs` timed runs of `f`.
pub(crate) fn time_runs(
    runs: usize,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Timing> {
    let mut times = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    for run in 0..=runs {
        let cpu_start = cpu_ns();
        let start = Instant::now();
        f()?;
        if run > 0 {
            times.push(start.elapsed().as_secs_f64());
            if let (Some(a), Some(b)) = (cpu_start, cpu_ns()) {
                cpu.push(b.saturating_sub(a) as f64 / 1e9);
            }
        }
    }
    cpu.sort_by(f64::total_cmp);
    times.sort_by(f64::total_cmp);
    let cpu_s = (cpu.len() == times.len()).then(|| cpu[cpu.len() / 2]);
    Ok(Timing { times, cpu_s })
}

/// Runs `glance bench attention` for one pattern.
fn attention(args: &AttentionArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let [text] = args.pattern.as_slice() else {
        anyhow::bail!("--pattern must be given once (several only with --sweep)");
    };
    let spec = parse_spec(text)?;
    check_shape(args)?;
    ensure!(
        !args.check || matches!(spec, Spec::Approx(_)) || args.len <= CHECK_MAX_LEN,
        "--check needs --len <= {CHECK_MAX_LEN} for exact patterns (the f64 reference is quadratic)"
    );
    let isa = chosen_isa(args)?;
    let x = BenchInputs::random(args);
    let mut out = Array3::<f32>::zeros((args.heads, args.len, args.head_dim));
    let pairs = match &spec {
        Spec::Exact(p) => {
            Some(Visibility::new(p, args.len, args.heads, &AttendOptions::default())?.count_pairs())
        }
        Spec::Approx(_) => None,
    };
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
    })?;
    let peak_rss = peak_rss_bytes();

    let (max_abs_err, rel_err) = if args.check {
        let max_abs = match &spec {
            Spec::Exact(p) => {
                let opts = AttendOptions {
                    isa: Some(isa),
                    ..Default::default()
                };
                let want = reference::attend_f64(x.q.view(), x.k.view(), x.v.view(), p, &opts)?;
                Some(max_abs_error(out.view(), want.view()))
            }
            Spec::Approx(_) => None,
        };
        let full = x.full_rows(&spec)?;
        (
            max_abs,
            Some((
                full.relative_error(out.view())?,
                reference_of(&spec),
                full.sampled(),
            )),
        )
    } else {
        (None, None)
    };

    let report = Report {
        pattern: spec.to_string(),
        len: args.len,
        heads: args.heads,
        head_dim: args.head_dim,
        threads: global.threads.unwrap_or_else(rayon::current_num_threads),
        isa: isa.name(),
        precision: precision_ran(&spec, args)?,
        runs: args.runs,
        pairs,
        timing,
        tensor_bytes: 4 * (4 * args.heads * args.len * args.head_dim) as u64,
        peak_rss,
        max_abs_err,
        rel_err,
        predrawn: matches!(spec, Spec::Approx(_)).then_some(weights.is_some()),
    };
    if args.json {
        println!("{}", report.json());
    } else if !global.quiet {
        print!("{}", report.text()?);
    }
    Ok(())
}

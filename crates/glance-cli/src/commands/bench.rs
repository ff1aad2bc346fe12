//! `glance bench`: micro-benchmarks of glance's kernels on this machine.
//!
//! `glance bench attention` times exact attention ([`glance::attn::attend_into`]) on
//! seeded random unit-scale inputs and reports the median time, tokens/s, useful
//! GFLOP/s (4 * P * d_head, P the exact number of allowed (query, key) pairs over all
//! heads), peak RSS and, with `--check`, the max abs error against the f64 dense
//! reference, and the CPU seconds of all threads (robust on a shared machine). Sweeping `--pattern sliding:r=R` is how to tune a window on a machine.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{ensure, Context};
use clap::{Args, Subcommand, ValueEnum};
use glance::attn::ndarray::Array3;
use glance::attn::{attend_into, reference, AttendOptions, Isa, Pattern, Visibility};

use crate::cli::GlobalArgs;

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
    /// Time exact attention for one pattern and shape on random inputs.
    #[command(after_help = "Examples:
  glance bench attention --pattern sliding:r=128 --len 65536 --threads 2
  glance bench attention --pattern dilated:r=64,d=4 --len 16384 --check --json")]
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
    /// `full`, optionally `+global:first|every=K|tokens=I,J`.
    #[arg(long, value_name = "SPEC")]
    pub pattern: String,

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

    /// Also compute the max abs error against the f64 dense reference (n <= 16384).
    #[arg(long)]
    pub check: bool,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,

    /// Seed of the random inputs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Force an instruction set (default: the best this CPU has).
    #[arg(long, value_enum)]
    pub isa: Option<IsaArg>,
}

/// The largest `--len` accepted with `--check` (the reference is O(n^2)).
const CHECK_MAX_LEN: usize = 16384;

/// Runs `glance bench`.
pub fn run(args: &BenchArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    match &args.target {
        BenchTarget::Attention(a) => attention(a, global),
    }
}

/// SplitMix64: seeded unit-scale inputs without an RNG dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on [-sqrt(3), sqrt(3)): mean 0, variance 1.
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * 1.732_050_8
    }
}

/// Peak resident set size of this process in bytes (`VmHWM`), if the OS reports it.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Nanoseconds this process's threads have run on a CPU (sum of
/// `/proc/self/task/*/schedstat`), if the OS reports it. On a shared machine this
/// separates the kernel's cost from time spent waiting for a core.
fn cpu_ns() -> Option<u64> {
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
    runs: usize,
    pairs: u64,
    median_s: f64,
    min_s: f64,
    max_s: f64,
    /// Median CPU seconds per run over all threads.
    cpu_s: Option<f64>,
    tensor_bytes: u64,
    peak_rss: Option<u64>,
    max_abs_err: Option<f64>,
}

impl Report {
    fn tokens_per_s(&self) -> f64 {
        self.len as f64 / self.median_s
    }

    /// Useful GFLOP of one run: 4 * P * d_head / 1e9.
    fn useful_gflop(&self) -> f64 {
        4.0 * self.pairs as f64 * self.head_dim as f64 / 1e9
    }

    fn useful_gflops(&self) -> f64 {
        self.useful_gflop() / self.median_s
    }

    fn text(&self) -> Result<String, std::fmt::Error> {
        let mut s = String::new();
        writeln!(s, "pattern        {}", self.pattern)?;
        writeln!(
            s,
            "shape          len {} x heads {} x head_dim {}",
            self.len, self.heads, self.head_dim
        )?;
        writeln!(s, "threads        {} ({})", self.threads, self.isa)?;
        writeln!(s, "pairs          {}", self.pairs)?;
        writeln!(
            s,
            "seconds        {:.6} (median of {}; min {:.6}, max {:.6})",
            self.median_s, self.runs, self.min_s, self.max_s
        )?;
        writeln!(s, "tokens/s       {:.0}", self.tokens_per_s())?;
        writeln!(s, "useful GFLOP/s {:.1}", self.useful_gflops())?;
        if let Some(cpu) = self.cpu_s {
            writeln!(
                s,
                "cpu seconds    {cpu:.6} (all threads; {:.1} useful GFLOP per cpu-second)",
                self.useful_gflop() / cpu
            )?;
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
        Ok(s)
    }

    fn json(&self) -> String {
        let opt = |x: Option<String>| x.unwrap_or_else(|| "null".into());
        format!(
            "{{\"pattern\":\"{}\",\"len\":{},\"heads\":{},\"head_dim\":{},\"threads\":{},\
             \"isa\":\"{}\",\"runs\":{},\"pairs\":{},\"median_s\":{:.9},\"min_s\":{:.9},\
             \"max_s\":{:.9},\"cpu_s\":{},\"tokens_per_s\":{:.1},\"useful_gflops\":{:.3},\
             \"tensor_bytes\":{},\"peak_rss_bytes\":{},\"max_abs_err\":{}}}",
            self.pattern.replace('\\', "\\\\").replace('"', "\\\""),
            self.len,
            self.heads,
            self.head_dim,
            self.threads,
            self.isa,
            self.runs,
            self.pairs,
            self.median_s,
            self.min_s,
            self.max_s,
            opt(self.cpu_s.map(|c| format!("{c:.9}"))),
            self.tokens_per_s(),
            self.useful_gflops(),
            self.tensor_bytes,
            opt(self.peak_rss.map(|r| r.to_string())),
            opt(self.max_abs_err.map(|e| format!("{e:e}"))),
        )
    }
}

/// Runs `glance bench attention`.
fn attention(args: &AttentionArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let pattern: Pattern = args
        .pattern
        .parse()
        .with_context(|| format!("--pattern {}", args.pattern))?;
    ensure!(args.len >= 1, "--len must be at least 1");
    ensure!(args.heads >= 1, "--heads must be at least 1");
    ensure!(args.head_dim >= 1, "--head-dim must be at least 1");
    ensure!(args.runs >= 1, "--runs must be at least 1");
    ensure!(
        !args.check || args.len <= CHECK_MAX_LEN,
        "--check needs --len <= {CHECK_MAX_LEN} (the f64 reference is quadratic)"
    );
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

    let shape = (args.heads, args.len, args.head_dim);
    let mut rng = SplitMix(args.seed);
    let mut random = || Array3::from_shape_simple_fn(shape, || rng.unit());
    let (q, k, v) = (random(), random(), random());
    let mut out = Array3::<f32>::zeros(shape);
    let opts = AttendOptions {
        isa: Some(isa),
        ..Default::default()
    };
    let pairs = Visibility::new(&pattern, args.len, args.heads, &opts)?.count_pairs();

    let mut times = Vec::with_capacity(args.runs);
    let mut cpu = Vec::with_capacity(args.runs);
    for run in 0..=args.runs {
        let cpu_start = cpu_ns();
        let start = Instant::now();
        attend_into(
            q.view(),
            k.view(),
            v.view(),
            &pattern,
            &opts,
            out.view_mut(),
        )?;
        if run > 0 {
            times.push(start.elapsed().as_secs_f64());
            if let (Some(a), Some(b)) = (cpu_start, cpu_ns()) {
                cpu.push(b.saturating_sub(a) as f64 / 1e9);
            }
        }
    }
    cpu.sort_by(f64::total_cmp);
    let cpu_s = (cpu.len() == times.len()).then(|| cpu[cpu.len() / 2]);
    let peak_rss = peak_rss_bytes();
    times.sort_by(f64::total_cmp);

    let max_abs_err = if args.check {
        let want = reference::attend_f64(q.view(), k.view(), v.view(), &pattern, &opts)?;
        Some(
            out.iter()
                .zip(want.iter())
                .map(|(&g, &w)| (f64::from(g) - w).abs())
                .fold(0.0, f64::max),
        )
    } else {
        None
    };

    let report = Report {
        pattern: pattern.to_string(),
        len: args.len,
        heads: args.heads,
        head_dim: args.head_dim,
        threads: global.threads.unwrap_or_else(rayon::current_num_threads),
        isa: isa.name(),
        runs: args.runs,
        pairs,
        median_s: times[times.len() / 2],
        min_s: times[0],
        max_s: times[times.len() - 1],
        cpu_s,
        tensor_bytes: 4 * (4 * args.heads * args.len * args.head_dim) as u64,
        peak_rss,
        max_abs_err,
    };
    if args.json {
        println!("{}", report.json());
    } else if !global.quiet {
        print!("{}", report.text()?);
    }
    Ok(())
}

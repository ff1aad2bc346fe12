//! `glance embed`: run an encoder over FASTA/FASTQ and write per-region (or per-token)
//! embeddings as PREFIX.npy (f32, `[rows, d_model]`, C order) plus PREFIX.bed (chrom,
//! start, end, name, row), both written atomically.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use glance::model::ndarray::ArrayView2;
use glance::model::{
    encode_source, load, Encoder, ModelError, PooledRegion, Pooler, Pooling, RegionSpec, Regions,
    RowSink, RunMode, StreamOptions, TokenSink,
};
use glance::seq::{read_bed, read_fai, SeqReader};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::with_suffix;
use crate::global::GlobalArgs;
use glance::workflow::atomic::AtomicFile;
use glance::workflow::npy;
use glance::workflow::resolve::{default_model_dir, BUNDLED_MODEL_DIR, MODEL_ENV};

/// Arguments of `glance embed`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance embed genome.fa.gz --model my-model --bin 1000 -o genome_1kb
  glance embed genome.fa --model dnabert6 --regions peaks.bed --pool max -o peaks
  glance embed reads.fa --model my-model --per-token -o reads_tokens")]
pub struct EmbedArgs {
    /// Input FASTA/FASTQ files (plain, gzip or BGZF); `-` reads stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Model directory: a native glance model or a Hugging Face BERT/DNABERT or
    /// Longformer checkpoint (config.json + model.safetensors + vocab.txt). Default:
    /// `$GLANCE_MODEL`, else the model shipped in the source tree (models/default).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,

    /// Override attention patterns: `SPEC` for every layer or `LAYER=SPEC` (0-based)
    /// for one, e.g. `sliding:r=64` or `2=block:b=512,n=1`. Repeatable.
    #[arg(long, value_name = "SPEC")]
    pub pattern: Vec<String>,

    /// Bin size in bp (default 1000 unless --regions or --per-token).
    #[arg(long, value_name = "BP", conflicts_with_all = ["regions", "per_token"])]
    pub bin: Option<u64>,

    /// Distance between bin starts in bp (default: the bin size).
    #[arg(long, value_name = "BP", requires = "bin")]
    pub step: Option<u64>,

    /// Pool over the regions of a BED file instead of bins (rows in BED order).
    #[arg(long, value_name = "BED", conflicts_with = "per_token")]
    pub regions: Option<PathBuf>,

    /// Pooling: mean, max, cls (first token of the region) or attention (the model's
    /// learned query).
    #[arg(long, value_name = "HOW", default_value = "mean")]
    pub pool: Pooling,

    /// Write one row per token instead of pooling (for short inputs).
    #[arg(long)]
    pub per_token: bool,

    /// Refuse --per-token output of more tokens than this.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_tokens: u64,

    /// Core tokens per parallel chunk (models with relative or no positions); default
    /// 16 times the receptive radius, within 2048..=16384.
    #[arg(long, value_name = "N")]
    pub chunk_tokens: Option<usize>,

    /// Tokens shared by consecutive windows of learned-position models (BERT/DNABERT,
    /// Longformer); shared tokens get the mean of both windows.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub overlap: usize,

    /// Output prefix: writes PREFIX.npy and PREFIX.bed.
    #[arg(short, long, value_name = "PREFIX")]
    pub output: PathBuf,
}

/// Runs `glance embed`.
pub fn run(args: &EmbedArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let Some(dir) = args.model.clone().or_else(default_model_dir) else {
        bail!(
            "--model DIR is required: no default model found (neither ${} nor {} holds a \
             config.json); pass a native glance model or a Hugging Face BERT/DNABERT/Longformer \
             directory",
            MODEL_ENV,
            BUNDLED_MODEL_DIR
        );
    };
    let dir = &dir;
    let mut encoder = load(dir).with_context(|| format!("{}: cannot load model", dir.display()))?;
    encoder
        .override_patterns(&args.pattern)
        .context("--pattern")?;
    let d = encoder.d_model();
    let k = encoder.tokenizer.k as u64;
    let stride = encoder.tokenizer.stride;
    let regions = if let Some(bed) = &args.regions {
        Some(Regions::List(read_regions(bed)?))
    } else if args.per_token {
        None
    } else {
        let size = args.bin.unwrap_or(1000);
        Some(Regions::Bins {
            size,
            step: args.step.unwrap_or(size),
        })
    };
    let defaults = StreamOptions::for_encoder(&encoder);
    let opts = StreamOptions {
        chunk_tokens: args.chunk_tokens.unwrap_or(defaults.chunk_tokens),
        overlap: args.overlap,
        ..defaults
    };

    if let RunMode::Windows { tokens, .. } = encoder.run_mode()? {
        if args.overlap >= tokens {
            bail!(
                "--overlap {} must be below the model's window of {tokens} tokens",
                args.overlap
            );
        }
    }

    let npy_path = with_suffix(&args.output, "npy");
    let bed_path = with_suffix(&args.output, "bed");
    let mut npy_out = AtomicFile::create(&npy_path)?;
    let mut bed_out = AtomicFile::create(&bed_path)?;
    let progress = progress_bar(global.quiet, total_bases(&args.inputs));
    let rows = {
        let mut npy = npy_out.writer();
        let mut bed = bed_out.writer();
        let mut writer = Writer::new(&mut npy, &mut bed, d, &npy_path)?;
        match regions {
            Some(regions) => {
                let mut pooler = Pooler::new(
                    args.pool,
                    regions,
                    encoder.pool_query.as_ref(),
                    d,
                    stride,
                    &mut writer,
                )?;
                encode_inputs(&encoder, &args.inputs, &opts, &mut pooler, &progress)?;
                pooler.finish()?;
            }
            None => {
                let mut sink = PerToken {
                    writer: &mut writer,
                    chrom: String::new(),
                    origin: 0,
                    stride: stride as u64,
                    k,
                    max: args.max_tokens,
                };
                encode_inputs(&encoder, &args.inputs, &opts, &mut sink, &progress)?;
            }
        }
        let rows = writer.rows;
        write_npy_header(&mut npy, rows, d)
            .and_then(|()| npy.flush())
            .with_context(|| format!("{}: cannot write", npy_path.display()))?;
        bed.flush()
            .with_context(|| format!("{}: cannot write", bed_path.display()))?;
        rows
    };
    progress.finish_and_clear();
    npy_out.commit()?;
    bed_out.commit()?;
    if !global.quiet {
        eprintln!(
            "glance embed: {rows} rows x {d} to {} and {}",
            npy_path.display(),
            bed_path.display()
        );
    }
    Ok(())
}

/// Reads a BED file of regions.
fn read_regions(path: &Path) -> anyhow::Result<Vec<RegionSpec>> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let regions = read_bed(BufReader::new(file)).with_context(|| path.display().to_string())?;
    regions
        .into_iter()
        .map(|r| {
            let end = r
                .end
                .with_context(|| format!("{}: region {r} has no end", path.display()))?;
            Ok(RegionSpec {
                chrom: r.name,
                start: r.start,
                end,
            })
        })
        .collect()
}

/// Streams every input through the encoder into `sink`.
fn encode_inputs(
    encoder: &Encoder,
    inputs: &[PathBuf],
    opts: &StreamOptions,
    sink: &mut dyn TokenSink,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    for input in inputs {
        let reader = SeqReader::open(input).with_context(|| input.display().to_string())?;
        encode_source(encoder, reader, opts, sink, &mut |bases| {
            progress.inc(bases)
        })
        .with_context(|| input.display().to_string())?;
    }
    Ok(())
}

/// The total number of bases when every input has a `.fai` index beside it.
fn total_bases(inputs: &[PathBuf]) -> Option<u64> {
    inputs.iter().try_fold(0u64, |sum, input| {
        let mut fai = input.as_os_str().to_owned();
        fai.push(".fai");
        let file = File::open(PathBuf::from(fai)).ok()?;
        let entries = read_fai(BufReader::new(file)).ok()?;
        Some(sum + entries.iter().map(|e| e.length).sum::<u64>())
    })
}

/// On a terminal: a bar with bases/s and ETA when the total is known (from `.fai`
/// indexes), a spinner with bases/s otherwise. Hidden when not a terminal or `-q`.
fn progress_bar(quiet: bool, total: Option<u64>) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "{bar:30} {percent}% {human_pos}/{human_len} bases ({per_sec}, ETA {eta})"
    } else {
        "{spinner} {elapsed_precise} {human_pos} bases ({per_sec})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Writes the .npy header for `[rows, d]` f32 at the start of `w` (the shared header has
/// a fixed size, so it is rewritten in place with the final row count).
fn write_npy_header<W: Write + Seek>(w: &mut W, rows: u64, d: usize) -> std::io::Result<()> {
    w.seek(SeekFrom::Start(0))?;
    w.write_all(&npy::header("<f4", rows, &[d]))?;
    w.seek(SeekFrom::End(0))?;
    Ok(())
}

/// Streams rows to the .npy body and lines to the .bed.
struct Writer<'a, N: Write + Seek, B: Write> {
    npy: &'a mut N,
    bed: &'a mut B,
    d: usize,
    rows: u64,
    bytes: Vec<u8>,
}

impl<'a, N: Write + Seek, B: Write> Writer<'a, N, B> {
    fn new(npy: &'a mut N, bed: &'a mut B, d: usize, path: &Path) -> anyhow::Result<Self> {
        // Placeholder header, rewritten with the row count at the end.
        write_npy_header(npy, 0, d).with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(Writer {
            npy,
            bed,
            d,
            rows: 0,
            bytes: Vec::with_capacity(4 * d),
        })
    }

    fn write(
        &mut self,
        chrom: &str,
        start: u64,
        end: u64,
        name: &str,
        values: &[f32],
    ) -> Result<(), ModelError> {
        let io = |e: std::io::Error| ModelError::Options(format!("cannot write output: {e}"));
        debug_assert_eq!(values.len(), self.d);
        self.bytes.clear();
        for v in values {
            self.bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.npy.write_all(&self.bytes).map_err(io)?;
        writeln!(self.bed, "{chrom}\t{start}\t{end}\t{name}\t{}", self.rows).map_err(io)?;
        self.rows += 1;
        Ok(())
    }
}

impl<N: Write + Seek, B: Write> RowSink for &mut Writer<'_, N, B> {
    fn row(&mut self, r: &PooledRegion, values: &[f32]) -> Result<(), ModelError> {
        let mut name = format!("{}:{}-{}", r.chrom, r.start + 1, r.end);
        if r.partial {
            name.push_str(";partial");
        }
        if r.tokens == 0 {
            name.push_str(";empty");
        }
        self.write(&r.chrom, r.start, r.end, &name, values)
    }
}

/// `--per-token`: one row per token; the BED line gives the bases the token covers.
struct PerToken<'w, 'a, N: Write + Seek, B: Write> {
    writer: &'w mut Writer<'a, N, B>,
    chrom: String,
    origin: u64,
    stride: u64,
    k: u64,
    max: u64,
}

impl<N: Write + Seek, B: Write> TokenSink for PerToken<'_, '_, N, B> {
    fn begin_record(&mut self, name: &str, origin: u64) -> Result<(), ModelError> {
        self.chrom = name.to_string();
        self.origin = origin;
        Ok(())
    }

    fn tokens(&mut self, first: u64, rows: ArrayView2<f32>) -> Result<(), ModelError> {
        if self.writer.rows + rows.nrows() as u64 > self.max {
            return Err(ModelError::Options(format!(
                "--per-token output would exceed {} tokens; pool with --bin or --regions, or \
                 raise --max-tokens",
                self.max
            )));
        }
        for (t, row) in rows.rows().into_iter().enumerate() {
            let start = self.origin + (first + t as u64) * self.stride;
            let values = row.to_vec();
            self.writer
                .write(&self.chrom, start, start + self.k, ".", &values)?;
        }
        Ok(())
    }

    fn end_record(&mut self, _len: u64) -> Result<(), ModelError> {
        Ok(())
    }
}

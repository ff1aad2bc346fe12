//! `glance tokenize`: FASTA/FASTQ to k-mer token ids (.npy) plus an index TSV.
//!
//! Output: `OUT.npy`, a flat little-endian u32 array (NumPy format 1.0) of every token
//! of every record (or region) in input order, and `OUT.index.tsv` beside it (the
//! `.npy` extension replaced), one row per record or region:
//! `name  start_token  token_count  first_base  base_count`. Token `j` of a row is
//! element `start_token + j` of the array and covers bases
//! `[first_base + j*stride, first_base + j*stride + k)` (0-based) of sequence `name`.
//! Both files are written under temporary names and renamed only when complete.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use glance::seq::{
    Chunk, ChunkOptions, Chunker, IndexedFasta, SequenceSource, SoftMask, Tokenizer,
    TokenizerOptions, Vocab,
};
use glance::workflow::{open_location, ReadObserver};

use super::region_args::RegionArgs;
use crate::global::GlobalArgs;
use glance::io::npy;
use glance::io::AtomicFile;

/// Core bases per chunk while streaming (memory stays near 1 Mb whatever the input).
const CHUNK_BASES: usize = 1 << 20;

/// Arguments of `glance tokenize`.
#[derive(Debug, Args)]
#[command(
    after_help = "Output: OUT.npy (flat u32 token ids) and OUT.index.tsv beside it with one row per
record or region: name, start_token, token_count, first_base (0-based), base_count.
Token j of a row covers bases [first_base + j*stride, first_base + j*stride + k).

Examples:
  glance tokenize genome.fa.gz -o tokens.npy
  glance tokenize genome.fa --region chr1:1001-2000 -k 3 --stride 3 -o region.npy
  glance tokenize genome.fa.gz --regions peaks.bed --canonical -o peaks.npy
  zcat reads.fq.gz | glance tokenize - -k 6 -o reads.npy"
)]
pub struct TokenizeArgs {
    /// Input FASTA/FASTQ files (plain, gzip or BGZF, detected from their bytes); `-`
    /// reads stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// k-mer length, 1 to 12 [default: 6, or the k of --vocab].
    #[arg(short, value_name = "K")]
    pub k: Option<usize>,

    /// Bases between the starts of consecutive tokens (1: overlapping; k: disjoint).
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub stride: usize,

    /// Emit the lesser of each k-mer and its reverse complement (vocabulary order).
    #[arg(long)]
    pub canonical: bool,

    /// Lower-case (soft-masked) bases: read as upper case, or make their k-mers `[UNK]`.
    #[arg(long, value_enum, default_value_t = SoftMaskArg::Upper)]
    pub soft_mask: SoftMaskArg,

    /// A vocab.txt (one token per line, id = line number - 1) instead of the built-in
    /// DNABERT vocabulary.
    #[arg(long, value_name = "FILE")]
    pub vocab: Option<PathBuf>,

    // --region/--regions: a plain or bgzipped FASTA is needed (its .fai/.gzi is used
    // or built)
    #[command(flatten)]
    pub regions: RegionArgs,

    /// Output .npy of u32 token ids.
    #[arg(short, long, value_name = "OUT.npy")]
    pub output: PathBuf,
}

/// The `--soft-mask` policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SoftMaskArg {
    /// Read lower-case bases as upper case.
    Upper,
    /// Treat lower-case bases as unknown.
    Unknown,
}

/// Runs `glance tokenize`.
pub fn run(args: &TokenizeArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let tokenizer = build_tokenizer(args)?;
    let regions = args.regions.parse()?;
    let threads = global
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    // regions are read by index, a small part of each file: no bar
    let progress = match regions {
        Some(_) => indicatif::ProgressBar::hidden(),
        None => crate::progress::input_bar(global.quiet, &args.inputs),
    };
    let mut npy = AtomicFile::create(&args.output)?;
    let index_path = index_path(&args.output);
    let mut index = AtomicFile::create(&index_path)?;
    let mut totals = Totals::default();
    {
        let mut tokens_out = npy.writer();
        let mut index_out = index.writer();
        let out_err = |p: &Path| format!("{}: cannot write", p.display());
        tokens_out
            .write_all(&npy::header("<u4", 0, &[]))
            .with_context(|| out_err(&args.output))?;
        writeln!(
            index_out,
            "#name\tstart_token\ttoken_count\tfirst_base\tbase_count"
        )
        .with_context(|| out_err(&index_path))?;
        let mut sink = Sink {
            tokens_out: &mut tokens_out,
            index_out: &mut index_out,
            totals: &mut totals,
            tokens: Vec::new(),
            bytes: Vec::new(),
        };
        for input in &args.inputs {
            let in_ctx = || input.display().to_string();
            match &regions {
                Some(regions) => {
                    let fasta = IndexedFasta::open(input).with_context(in_ctx)?;
                    let source = fasta.regions(regions.clone()).with_context(in_ctx)?;
                    sink.tokenize(&tokenizer, source, input, &args.output, &index_path)?;
                }
                None => {
                    let bar = progress.clone();
                    let observer = ReadObserver::new(move |n| bar.inc(n));
                    let reader = open_location(input, threads, Some(&observer))?;
                    sink.tokenize(&tokenizer, reader, input, &args.output, &index_path)?;
                }
            }
        }
        tokens_out
            .seek(SeekFrom::Start(0))
            .and_then(|_| tokens_out.write_all(&npy::header("<u4", totals.tokens, &[])))
            .and_then(|_| tokens_out.flush())
            .with_context(|| out_err(&args.output))?;
        index_out.flush().with_context(|| out_err(&index_path))?;
    }
    progress.finish_and_clear();
    index.commit()?;
    npy.commit()?;
    if !global.quiet {
        eprintln!(
            "glance tokenize: {} records, {} bases, {} tokens -> {} (+ {})",
            totals.records,
            totals.bases,
            totals.tokens,
            args.output.display(),
            index_path.display()
        );
    }
    Ok(())
}

/// Builds the tokenizer from -k, --stride, --canonical, --soft-mask and --vocab.
fn build_tokenizer(args: &TokenizeArgs) -> anyhow::Result<Tokenizer> {
    let vocab = match &args.vocab {
        Some(path) => Some(Vocab::from_path(path).with_context(|| path.display().to_string())?),
        None => None,
    };
    let k = args.k.or(vocab.as_ref().map(Vocab::k)).unwrap_or(6);
    let options = TokenizerOptions {
        k,
        stride: args.stride,
        canonical: args.canonical,
        soft_mask: match args.soft_mask {
            SoftMaskArg::Upper => SoftMask::Upper,
            SoftMaskArg::Unknown => SoftMask::Unknown,
        },
    };
    let tokenizer = match vocab {
        Some(v) => Tokenizer::with_vocab(options, v).with_context(|| {
            args.vocab
                .as_deref()
                .unwrap_or(Path::new(""))
                .display()
                .to_string()
        })?,
        None => Tokenizer::new(options)?,
    };
    Ok(tokenizer)
}

/// `OUT.npy` -> `OUT.index.tsv` (other names get `.index.tsv` appended).
fn index_path(output: &Path) -> PathBuf {
    if output.extension().is_some_and(|e| e == "npy") {
        output.with_extension("index.tsv")
    } else {
        let mut s = output.as_os_str().to_owned();
        s.push(".index.tsv");
        PathBuf::from(s)
    }
}

/// Running totals for the summary line.
#[derive(Debug, Default)]
struct Totals {
    records: u64,
    bases: u64,
    tokens: u64,
}

/// Where tokens and index rows go.
struct Sink<'a, T: Write, I: Write> {
    tokens_out: &'a mut T,
    index_out: &'a mut I,
    totals: &'a mut Totals,
    tokens: Vec<u32>,
    bytes: Vec<u8>,
}

impl<T: Write, I: Write> Sink<'_, T, I> {
    /// Streams one input through the chunker and tokenizer.
    fn tokenize(
        &mut self,
        tokenizer: &Tokenizer,
        source: impl SequenceSource,
        input: &Path,
        npy_path: &Path,
        index_path: &Path,
    ) -> anyhow::Result<()> {
        let options = ChunkOptions {
            size: CHUNK_BASES,
            halo_left: 0,
            halo_right: tokenizer.options().k - 1,
        };
        let mut chunker = Chunker::new(source, options)?;
        let mut chunk = Chunk::default();
        let mut record_start = 0u64;
        let mut record_tokens = 0u64;
        while chunker
            .next_chunk(&mut chunk)
            .with_context(|| input.display().to_string())?
        {
            if chunk.first {
                record_start = self.totals.tokens;
                record_tokens = 0;
            }
            self.tokens.clear();
            let span = tokenizer
                .tokenize_chunk(&chunk, &mut self.tokens)
                .with_context(|| format!("{}: record '{}'", input.display(), chunk.name))?;
            self.bytes.clear();
            for t in &self.tokens {
                self.bytes.extend_from_slice(&t.to_le_bytes());
            }
            self.tokens_out
                .write_all(&self.bytes)
                .with_context(|| format!("{}: cannot write", npy_path.display()))?;
            record_tokens += span.count as u64;
            self.totals.tokens += span.count as u64;
            if chunk.last {
                let bases = chunk.record_len.unwrap_or(chunk.core.end - chunk.origin);
                writeln!(
                    self.index_out,
                    "{}\t{}\t{}\t{}\t{}",
                    chunk.name, record_start, record_tokens, chunk.origin, bases
                )
                .with_context(|| format!("{}: cannot write", index_path.display()))?;
                self.totals.records += 1;
                self.totals.bases += bases;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_path_replaces_npy() {
        assert_eq!(
            index_path(Path::new("a/t.npy")),
            PathBuf::from("a/t.index.tsv")
        );
        assert_eq!(
            index_path(Path::new("t.bin")),
            PathBuf::from("t.bin.index.tsv")
        );
    }
}

//! Streaming inference: a token sequence (in memory, or read chunk by chunk from a
//! [`SequenceSource`]) is cut into jobs that run in parallel and whose kept rows are
//! handed, in sequence order, to a [`TokenSink`].
//!
//! - [`RunMode::Chunked`]: jobs of `chunk_tokens` core tokens plus a halo of `H` tokens
//!   each side (H = the stack's receptive radius); only cores are kept, so the result
//!   equals encoding the whole sequence at once. Each job passes its absolute position
//!   to the layers (`AttendOptions::offset`), so block boundaries, dilation phase and
//!   rotary angles are those of the whole sequence.
//! - [`RunMode::Windows`]: windows of the position table's length (minus `[CLS]` and
//!   `[SEP]`), each wrapped in `[CLS] ... [SEP]`, starting every `tokens - overlap`
//!   tokens; tokens covered by two windows get the mean of both.
//! - [`RunMode::Whole`]: one job per record (unbounded receptive field).
//!
//! Models whose tokens are not on a base grid (longest vocabulary match,
//! [`Segmentation::LongestMatch`], Nucleotide Transformer; byte-pair encoding,
//! [`Segmentation::Bpe`], DNABERT-2) share one path: each record is streamed through the
//! model's [`SpanTokenizer`], piece by piece, keeping each token's base span, and jobs
//! (windows, or chunks with halos) are cut from the token stream, never from fixed base
//! intervals. How a BPE tokenizer cuts long records is documented on [`glance_seq::Bpe`].
//!
//! [`Segmentation::LongestMatch`]: crate::Segmentation::LongestMatch
//! [`Segmentation::Bpe`]: crate::Segmentation::Bpe
//!
//! Every job runs single-threaded, so results are bit-identical for any thread count.

use std::ops::Range;

use glance_seq::{Chunk, ChunkOptions, Chunker, SequenceSource, SpanTokenizer, Tokenizer};
use ndarray::{s, Array2, ArrayView2, Axis};
use rayon::prelude::*;

use crate::encoder::{Encoder, RunMode};
use crate::error::ModelError;
use crate::schedule::run_job;

/// How sequences are cut into jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// Core tokens per job in [`RunMode::Chunked`] (the window length is fixed by the
    /// model in [`RunMode::Windows`]).
    pub chunk_tokens: usize,
    /// Tokens shared by consecutive windows in [`RunMode::Windows`] (averaged).
    pub overlap: usize,
    /// Jobs run in parallel per batch (memory grows with it).
    pub batch: usize,
    /// Longest record accepted in [`RunMode::Whole`], in tokens.
    pub max_whole_tokens: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            chunk_tokens: 2048,
            overlap: 0,
            batch: 2 * rayon::current_num_threads().max(1),
            max_whole_tokens: 1 << 16,
        }
    }
}

impl StreamOptions {
    /// Defaults sized for `enc`: in chunked mode, chunks of 32 halos (at least 2048 and
    /// at most 16384 tokens), so halo recomputation costs at most 1/16 of the work where
    /// the receptive field allows (16 halos cost 1/8: about 4% more CPU time for the
    /// 4x256 model of docs/benchmarks.md, for half the activation memory).
    pub fn for_encoder(enc: &Encoder) -> StreamOptions {
        let mut opts = StreamOptions::default();
        if let Some(halo) = enc.receptive_radius() {
            opts.chunk_tokens = halo.saturating_mul(32).clamp(2048, 16384);
        }
        opts
    }
}

/// Where encoded tokens go, in sequence order.
pub trait TokenSink {
    /// A record starts (`origin`: chromosome position of its first base).
    fn begin_record(&mut self, name: &str, origin: u64) -> Result<(), ModelError>;
    /// A record starts, with its 0-based index in the source; sinks that need the index
    /// override this (the default forwards to [`TokenSink::begin_record`]).
    fn begin_indexed_record(
        &mut self,
        index: u64,
        name: &str,
        origin: u64,
    ) -> Result<(), ModelError> {
        let _ = index;
        self.begin_record(name, origin)
    }
    /// Hidden states of consecutive tokens of the current record, the first being token
    /// `first`; `spans[t]` are the bases row `t`'s token covers, as positions in the
    /// sequence (`origin` included).
    fn tokens(
        &mut self,
        first: u64,
        spans: &[Range<u64>],
        rows: ArrayView2<f32>,
    ) -> Result<(), ModelError>;
    /// The current record ends; `len` is its length in bases.
    fn end_record(&mut self, len: u64) -> Result<(), ModelError>;
}

/// The most tokens one chunked job may hold (core plus both halos): 2^22. A model whose
/// receptive radius needs more (e.g. `sliding:r=` in the millions) is refused with a
/// typed error instead of chunk buffers of gigabytes.
pub const MAX_JOB_TOKENS: usize = 1 << 22;

/// The most bases a chunk's core or one of its halos may span: 2^28 (a tokenizer stride
/// in the thousands times a large core would otherwise overflow or exhaust memory).
pub const MAX_CHUNK_BASES: usize = 1 << 28;

/// The token-level plan of a model: context each side of a core and how to wrap.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Core tokens per job.
    core: usize,
    /// Context tokens before the core.
    left: usize,
    /// Context tokens after the core (windows: the overlap, which is kept).
    right: usize,
    /// `[CLS]` and (if the model has one) `[SEP]` ids for windows.
    wrap: Option<(u32, Option<u32>)>,
}

impl Plan {
    fn new(mode: RunMode, opts: &StreamOptions) -> Result<Plan, ModelError> {
        Ok(match mode {
            RunMode::Chunked { halo } => {
                if opts.chunk_tokens == 0 {
                    return Err(ModelError::Options(
                        "chunk size must be at least 1 token".into(),
                    ));
                }
                let job = halo
                    .checked_mul(2)
                    .and_then(|h| h.checked_add(opts.chunk_tokens));
                if job.is_none_or(|j| j > MAX_JOB_TOKENS) {
                    return Err(ModelError::Options(format!(
                        "a job of {} core tokens plus a halo of {halo} tokens each side is over \
                         the limit of {MAX_JOB_TOKENS} tokens (the attention reach of the model \
                         is too large to stream)",
                        opts.chunk_tokens
                    )));
                }
                Plan {
                    core: opts.chunk_tokens,
                    left: halo,
                    right: halo,
                    wrap: None,
                }
            }
            RunMode::Windows { tokens, cls, sep } => {
                if opts.overlap >= tokens {
                    return Err(ModelError::Options(format!(
                        "window overlap {} must be below the window length of {tokens} tokens",
                        opts.overlap
                    )));
                }
                Plan {
                    core: tokens - opts.overlap,
                    left: 0,
                    right: opts.overlap,
                    wrap: Some((cls, sep)),
                }
            }
            RunMode::Whole => Plan {
                core: opts.max_whole_tokens,
                left: 0,
                right: 0,
                wrap: None,
            },
        })
    }

    /// Runs one job: `ids` are tokens `ids_first..` of the record (covering the
    /// context), `keep` the absolute token range whose rows are returned.
    fn run(
        &self,
        enc: &Encoder,
        ids: &[u32],
        ids_first: u64,
        keep: Range<u64>,
    ) -> Result<Array2<f32>, ModelError> {
        let from = (keep.start - ids_first) as usize;
        let to = (keep.end - ids_first) as usize;
        match self.wrap {
            Some((cls, sep)) => {
                let mut w = Vec::with_capacity(to - from + 2);
                w.push(cls);
                w.extend_from_slice(&ids[from..to]);
                w.extend(sep);
                let h = enc.forward(&w, 0)?;
                let last = h.nrows() - usize::from(sep.is_some());
                Ok(h.slice(s![1..last, ..]).to_owned())
            }
            None => enc.forward_kept(ids, ids_first as usize, from..to),
        }
    }
}

/// Averages the rows that consecutive windows share, emitting each token once with
/// its base span.
struct Merger {
    /// Absolute index of the first pending row.
    pending_first: u64,
    /// Rows received but possibly shared with the next job, and their tokens' spans.
    pending: Option<(Array2<f32>, Vec<Range<u64>>)>,
}

impl Merger {
    fn new() -> Self {
        Merger {
            pending_first: 0,
            pending: None,
        }
    }

    /// Adds rows of tokens `first..` (with their spans); emits every row that no later
    /// job can cover, i.e. below `settled`.
    fn push(
        &mut self,
        first: u64,
        (rows, spans): (Array2<f32>, Vec<Range<u64>>),
        settled: u64,
        sink: &mut dyn TokenSink,
    ) -> Result<(), ModelError> {
        debug_assert_eq!(rows.nrows(), spans.len());
        let pending_end =
            self.pending_first + self.pending.as_ref().map_or(0, |p| p.0.nrows() as u64);
        if self.pending.is_some() && first > pending_end {
            // A gap (skipped jobs): nothing later can share the pending rows.
            self.finish(sink)?;
        }
        let (merged, mut merged_spans) = match self.pending.take() {
            Some((mut prev, mut prev_spans)) => {
                // Shared rows: prev covers [pending_first, pending_first + prev.len).
                let shared =
                    (self.pending_first + prev.nrows() as u64).saturating_sub(first) as usize;
                let shared = shared.min(rows.nrows());
                let offset = prev.nrows() - shared;
                {
                    let mut tail = prev.slice_mut(s![offset.., ..]);
                    tail += &rows.slice(s![..shared, ..]);
                    tail.mapv_inplace(|v| v * 0.5);
                }
                prev_spans.extend_from_slice(&spans[shared..]);
                let rows =
                    ndarray::concatenate(Axis(0), &[prev.view(), rows.slice(s![shared.., ..])])
                        .map_err(|e| ModelError::Options(format!("merging windows: {e}")))?;
                (rows, prev_spans)
            }
            None => {
                self.pending_first = first;
                (rows, spans)
            }
        };
        let emit = (settled.saturating_sub(self.pending_first) as usize).min(merged.nrows());
        if emit > 0 {
            sink.tokens(
                self.pending_first,
                &merged_spans[..emit],
                merged.slice(s![..emit, ..]),
            )?;
        }
        if emit < merged.nrows() {
            let rest = merged_spans.split_off(emit);
            self.pending = Some((merged.slice(s![emit.., ..]).to_owned(), rest));
        }
        self.pending_first += emit as u64;
        Ok(())
    }

    fn finish(&mut self, sink: &mut dyn TokenSink) -> Result<(), ModelError> {
        if let Some((rest, spans)) = self.pending.take() {
            sink.tokens(self.pending_first, &spans, rest.view())?;
        }
        Ok(())
    }
}

/// The spans of `n` grid tokens from token `first` of a record at `origin`: token `i`
/// covers `[origin + i * stride, origin + i * stride + k)`.
fn grid_spans(origin: u64, stride: u64, k: u64, first: u64, n: usize) -> Vec<Range<u64>> {
    (first..first + n as u64)
        .map(|i| {
            let start = origin + i * stride;
            start..start + k
        })
        .collect()
}

/// Encodes one in-memory token sequence and returns its last hidden states
/// (`[ids.len(), d_model]`), running jobs in parallel as the stream does.
pub fn encode_tokens(
    enc: &Encoder,
    ids: &[u32],
    opts: &StreamOptions,
) -> Result<Array2<f32>, ModelError> {
    let mode = enc.run_mode()?;
    let plan = Plan::new(mode, opts)?;
    let n = ids.len() as u64;
    if mode == RunMode::Whole && ids.len() > opts.max_whole_tokens {
        return Err(whole_too_long(opts));
    }
    let starts: Vec<u64> = (0..n).step_by(plan.core).collect();
    let results: Vec<Array2<f32>> = starts
        .par_iter()
        .map(|&c0| {
            let c1 = (c0 + plan.core as u64).min(n);
            let lo = c0.saturating_sub(plan.left as u64);
            let hi = (c1 + plan.right as u64).min(n);
            let keep_end = if plan.wrap.is_some() { hi } else { c1 };
            run_job(starts.len(), || {
                plan.run(enc, &ids[lo as usize..hi as usize], lo, c0..keep_end)
            })
        })
        .collect::<Result<_, _>>()?;
    let mut out = Collect::default();
    out.begin_record("", 0)?;
    let mut merger = Merger::new();
    for (&c0, rows) in starts.iter().zip(results) {
        let settled = (c0 + plan.core as u64).min(n);
        let spans = grid_spans(0, 1, 1, c0, rows.nrows());
        merger.push(c0, (rows, spans), settled, &mut out)?;
    }
    merger.finish(&mut out)?;
    let d = enc.d_model();
    Ok(out.rows.unwrap_or_else(|| Array2::zeros((0, d))))
}

/// How many tokens of context on each side of a range [`encode_range`] may read:
/// the receptive radius in chunked mode, a window in window mode, `None` when a model
/// of unbounded reach needs the whole record.
pub fn range_context(enc: &Encoder, opts: &StreamOptions) -> Result<Option<u64>, ModelError> {
    let mode = enc.run_mode()?;
    let plan = Plan::new(mode, opts)?;
    Ok(match mode {
        RunMode::Chunked { halo } => Some(halo as u64),
        RunMode::Windows { .. } => Some((plan.core + plan.right) as u64),
        RunMode::Whole => None,
    })
}

/// The last hidden states of tokens `range` of a record of `n` tokens, exactly as
/// [`encode_source`] gives them, computing only what those tokens need: in chunked mode
/// the range with the receptive radius on each side (the stream's halo), in window mode
/// the windows that hold them (shared tokens averaged as the stream does), a whole
/// record otherwise. `ids(a..b)` returns the record's token ids `a..b`. Returns
/// `[range.len(), d_model]`.
pub fn encode_range(
    enc: &Encoder,
    n: u64,
    range: Range<u64>,
    opts: &StreamOptions,
    ids: &dyn Fn(Range<u64>) -> Vec<u32>,
) -> Result<Array2<f32>, ModelError> {
    if range.start > range.end || range.end > n {
        return Err(ModelError::Options(format!(
            "token range {}..{} is outside a record of {n} tokens",
            range.start, range.end
        )));
    }
    let mode = enc.run_mode()?;
    let plan = Plan::new(mode, opts)?;
    if range.is_empty() {
        return Ok(Array2::zeros((0, enc.d_model())));
    }
    // Rows of tokens `first..` covering the range.
    let (first, rows) = match mode {
        RunMode::Chunked { halo } => {
            let lo = range.start.saturating_sub(halo as u64);
            let hi = (range.end + halo as u64).min(n);
            return plan.run(enc, &ids(lo..hi), lo, range);
        }
        RunMode::Whole => {
            if n > opts.max_whole_tokens as u64 {
                return Err(whole_too_long(opts));
            }
            (0, enc.forward(&ids(0..n), 0)?)
        }
        RunMode::Windows { .. } => {
            // The jobs whose kept rows (core plus overlap) meet the range.
            let (core, right) = (plan.core as u64, plan.right as u64);
            let j0 = range.start.saturating_sub(core + right) / core;
            let starts: Vec<u64> = (j0..)
                .map(|j| j * core)
                .take_while(|&c0| c0 < range.end)
                .filter(|&c0| c0 + core + right > range.start)
                .collect();
            let mut out = Collect::default();
            let mut merger = Merger::new();
            for &c0 in &starts {
                let hi = (c0 + core + right).min(n);
                let rows = plan.run(enc, &ids(c0..hi), c0, c0..hi)?;
                let spans = grid_spans(0, 1, 1, c0, rows.nrows());
                merger.push(c0, (rows, spans), (c0 + core).min(n), &mut out)?;
            }
            merger.finish(&mut out)?;
            let d = enc.d_model();
            let first = starts.first().copied().unwrap_or(range.start);
            (first, out.rows.unwrap_or_else(|| Array2::zeros((0, d))))
        }
    };
    let from = (range.start - first) as usize;
    let to = (range.end - first) as usize;
    Ok(rows.slice(s![from..to, ..]).to_owned())
}

fn whole_too_long(opts: &StreamOptions) -> ModelError {
    ModelError::Options(format!(
        "a record longer than {} tokens is too long for a model whose attention reach is \
         unbounded (full or global patterns run whole records); use a local pattern",
        opts.max_whole_tokens
    ))
}

/// Collects every row (for [`encode_tokens`]).
#[derive(Default)]
struct Collect {
    rows: Option<Array2<f32>>,
}

impl TokenSink for Collect {
    fn begin_record(&mut self, _: &str, _: u64) -> Result<(), ModelError> {
        Ok(())
    }

    fn tokens(
        &mut self,
        _first: u64,
        _spans: &[Range<u64>],
        rows: ArrayView2<f32>,
    ) -> Result<(), ModelError> {
        self.rows = Some(match self.rows.take() {
            None => rows.to_owned(),
            Some(prev) => ndarray::concatenate(Axis(0), &[prev.view(), rows])
                .map_err(|e| ModelError::Options(format!("collecting rows: {e}")))?,
        });
        Ok(())
    }

    fn end_record(&mut self, _: u64) -> Result<(), ModelError> {
        Ok(())
    }
}

/// One job cut from a [`Chunk`]: its tokens and which rows to keep.
struct Job {
    name: String,
    record_index: u64,
    origin: u64,
    first_chunk: bool,
    last_chunk: bool,
    record_len: Option<u64>,
    /// Tokens held, the first being token `ids_first` of the record.
    ids: Vec<u32>,
    ids_first: u64,
    /// The core tokens (absolute), always kept.
    core: Range<u64>,
    /// The kept range (core, plus the overlap for windows).
    keep: Range<u64>,
}

/// Encodes every record of `source`, chunk by chunk, never holding a whole record's
/// tokens or activations (except in [`RunMode::Whole`]), and feeds the sink in order.
/// `progress` is called with the number of bases whose tokens were emitted.
pub fn encode_source<S: SequenceSource>(
    enc: &Encoder,
    source: S,
    opts: &StreamOptions,
    sink: &mut dyn TokenSink,
    progress: &mut dyn FnMut(u64),
) -> Result<(), ModelError> {
    encode_source_where(enc, source, opts, sink, progress, &|_, _| true)
}

/// As [`encode_source`], but only the tokens whose first base lies in a range for which
/// `wanted(record_index, bases)` is true are guaranteed to reach the sink with their
/// exact states; jobs holding none of them are skipped (a sharded run computes only
/// the pieces it owns, with the rest of the record as context). Positions are those of
/// the record (`origin` included). Tokens of skipped jobs never reach the sink; other
/// tokens outside the wanted ranges may, and must be ignored by the caller.
pub fn encode_source_where<S: SequenceSource>(
    enc: &Encoder,
    source: S,
    opts: &StreamOptions,
    sink: &mut dyn TokenSink,
    progress: &mut dyn FnMut(u64),
    wanted: &dyn Fn(u64, Range<u64>) -> bool,
) -> Result<(), ModelError> {
    if !enc.segmentation.is_grid() {
        return encode_spans(enc, source, opts, sink, progress, wanted);
    }
    let tokenizer = enc.make_tokenizer()?;
    let mode = enc.run_mode()?;
    let plan = Plan::new(mode, opts)?;
    let k = enc.tokenizer.k;
    let s = enc.tokenizer.stride;
    let bases = |tokens: usize, extra: usize| {
        tokens
            .checked_mul(s)
            .and_then(|b| b.checked_add(extra))
            .filter(|&b| b <= MAX_CHUNK_BASES)
            .ok_or_else(|| {
                ModelError::Options(format!(
                    "{tokens} tokens of stride {s} need more than {MAX_CHUNK_BASES} bases per chunk"
                ))
            })
    };
    let chunk_options = ChunkOptions {
        size: bases(plan.core, 0)?,
        halo_left: bases(plan.left, 0)?,
        halo_right: bases(plan.right, k)?,
    };
    let mut chunker = Chunker::new(source, chunk_options)?;
    let batch = opts.batch.max(1);
    let mut merger = Merger::new();
    let mut chunk = Chunk::default();
    let mut done = false;
    while !done {
        let mut jobs = Vec::with_capacity(batch);
        while jobs.len() < batch {
            if !chunker.next_chunk(&mut chunk)? {
                done = true;
                break;
            }
            let mut job = make_job(&chunk, &tokenizer, &plan)?;
            if matches!(mode, RunMode::Whole) && !job.last_chunk {
                return Err(whole_too_long(opts));
            }
            let bases =
                |t: Range<u64>| job.origin + t.start * s as u64..job.origin + t.end * s as u64;
            if !matches!(mode, RunMode::Whole) && !wanted(job.record_index, bases(job.keep.clone()))
            {
                job.keep = job.keep.start..job.keep.start;
            }
            jobs.push(job);
        }
        let running = jobs.iter().filter(|job| !job.keep.is_empty()).count();
        let results: Vec<Option<Array2<f32>>> = jobs
            .par_iter()
            .map(|job| {
                if job.keep.is_empty() {
                    Ok(None)
                } else {
                    run_job(running, || {
                        plan.run(enc, &job.ids, job.ids_first, job.keep.clone())
                    })
                    .map(Some)
                }
            })
            .collect::<Result<_, _>>()?;
        for (job, rows) in jobs.into_iter().zip(results) {
            if job.first_chunk {
                sink.begin_indexed_record(job.record_index, &job.name, job.origin)?;
            }
            if let Some(rows) = rows {
                let spans =
                    grid_spans(job.origin, s as u64, k as u64, job.keep.start, rows.nrows());
                merger.push(job.keep.start, (rows, spans), job.core.end, sink)?;
            }
            progress((job.core.end - job.core.start) * s as u64);
            if job.last_chunk {
                end_record(&mut merger, sink, &job.name, job.record_len)?;
            }
        }
    }
    Ok(())
}

/// Bases read per piece of a record by [`encode_spans`].
const SPAN_PIECE: usize = 1 << 20;

/// The tokens of the record being read by [`encode_spans`] that jobs still
/// need: tokens `first..first + ids.len()`, with their spans.
#[derive(Default)]
struct TokenBuffer {
    first: u64,
    ids: Vec<u32>,
    spans: Vec<Range<u64>>,
}

impl TokenBuffer {
    /// One past the last token read.
    fn end(&self) -> u64 {
        self.first + self.ids.len() as u64
    }

    /// Forgets the tokens before `token`.
    fn drop_before(&mut self, token: u64) {
        let n = (token.saturating_sub(self.first) as usize).min(self.ids.len());
        self.ids.drain(..n);
        self.spans.drain(..n);
        self.first += n as u64;
    }
}

/// [`encode_source_where`] for a model whose tokens are not on a grid
/// ([`Segmentation::LongestMatch`], [`Segmentation::Bpe`]): each record is tokenized
/// piece by piece as one sequence by the model's [`SpanTokenizer`] (its tokens keep their
/// base spans) and cut into jobs in token space, `core` tokens apart: windows (the core
/// plus the overlap, kept) or chunks (the core plus a halo each side, the core kept); a
/// job runs once all its tokens are known.
///
/// [`Segmentation::LongestMatch`]: crate::Segmentation::LongestMatch
/// [`Segmentation::Bpe`]: crate::Segmentation::Bpe
fn encode_spans<S: SequenceSource>(
    enc: &Encoder,
    source: S,
    opts: &StreamOptions,
    sink: &mut dyn TokenSink,
    progress: &mut dyn FnMut(u64),
    wanted: &dyn Fn(u64, Range<u64>) -> bool,
) -> Result<(), ModelError> {
    let mut tokenizer: SpanTokenizer = enc.span_tokenizer()?;
    let mode = enc.run_mode()?;
    let plan = Plan::new(mode, opts)?;
    let windows = plan.wrap.is_some();
    let (core, left, right) = (plan.core as u64, plan.left as u64, plan.right as u64);
    let tokenize_error = |name: &str, e: glance_seq::SeqError| {
        ModelError::Options(format!("{name}: tokenizer: {e}"))
    };
    let mut chunker = Chunker::new(source, ChunkOptions::symmetric(SPAN_PIECE, 0))?;
    let mut chunk = Chunk::default();
    let mut buffer = TokenBuffer::default();
    let mut next_job = 0u64;
    let mut merger = Merger::new();
    let batch = opts.batch.max(1);
    while chunker.next_chunk(&mut chunk)? {
        if chunk.first {
            sink.begin_indexed_record(chunk.record_index, &chunk.name, chunk.origin)?;
            buffer = TokenBuffer::default();
            next_job = 0;
        }
        let from = buffer.spans.len();
        tokenizer
            .push(chunk.core_bases(), &mut buffer.ids, &mut buffer.spans)
            .map_err(|e| tokenize_error(&chunk.name, e))?;
        if chunk.last {
            tokenizer
                .finish(&mut buffer.ids, &mut buffer.spans)
                .map_err(|e| tokenize_error(&chunk.name, e))?;
        }
        for sp in &mut buffer.spans[from..] {
            *sp = sp.start + chunk.origin..sp.end + chunk.origin;
        }
        let end = buffer.end();
        if matches!(mode, RunMode::Whole) && end > core {
            return Err(whole_too_long(opts));
        }
        loop {
            // The jobs whose tokens are all known (all of them at the record's end).
            let starts: Vec<u64> = (0..batch as u64)
                .map(|j| next_job + j * core)
                .take_while(|&c0| c0 < end && (chunk.last || c0 + core + right <= end))
                .collect();
            let Some(&last_start) = starts.last() else {
                break;
            };
            let index = |t: u64| (t - buffer.first) as usize;
            // (first context token, one past the last, kept range)
            let jobs: Vec<(u64, u64, Range<u64>, bool)> = starts
                .iter()
                .map(|&c0| {
                    let lo = c0.saturating_sub(left);
                    let hi = (c0 + core + right).min(end);
                    let keep = c0..if windows { hi } else { (c0 + core).min(end) };
                    let bases = buffer.spans[index(keep.start)].start
                        ..buffer.spans[index(keep.end) - 1].end;
                    (lo, hi, keep, wanted(chunk.record_index, bases))
                })
                .collect();
            let running = jobs.iter().filter(|job| job.3).count();
            let results: Vec<Option<Array2<f32>>> = jobs
                .par_iter()
                .map(|(lo, hi, keep, wanted)| {
                    let ids = &buffer.ids[index(*lo)..index(*hi)];
                    wanted
                        .then(|| run_job(running, || plan.run(enc, ids, *lo, keep.clone())))
                        .transpose()
                })
                .collect::<Result<_, _>>()?;
            for ((_, _, keep, _), rows) in jobs.iter().zip(results) {
                if let Some(rows) = rows {
                    let a = index(keep.start);
                    let spans = buffer.spans[a..a + rows.nrows()].to_vec();
                    merger.push(
                        keep.start,
                        (rows, spans),
                        (keep.start + core).min(end),
                        sink,
                    )?;
                }
            }
            next_job = last_start + core;
            buffer.drop_before(next_job.saturating_sub(left));
        }
        progress(chunk.core_bases().len() as u64);
        if chunk.last {
            end_record(&mut merger, sink, &chunk.name, chunk.record_len)?;
        }
    }
    Ok(())
}

/// Ends the record `name` of `record_len` bases: emits the merger's pending rows, resets
/// it for the next record and tells the sink.
fn end_record(
    merger: &mut Merger,
    sink: &mut dyn TokenSink,
    name: &str,
    record_len: Option<u64>,
) -> Result<(), ModelError> {
    merger.finish(sink)?;
    *merger = Merger::new();
    let len = record_len
        .ok_or_else(|| ModelError::Options(format!("{name}: record length unknown at its end")))?;
    sink.end_record(len)
}

/// Tokenizes a chunk (halo included) and works out its core and kept token ranges.
fn make_job(chunk: &Chunk, tokenizer: &Tokenizer, plan: &Plan) -> Result<Job, ModelError> {
    let s = tokenizer.options().stride as u64;
    let rel_start = chunk.start - chunk.origin;
    let ids_first = rel_start.div_ceil(s);
    let skip = (ids_first * s - rel_start) as usize;
    let mut ids = Vec::new();
    if skip <= chunk.bases.len() {
        tokenizer.tokenize_into(&chunk.bases[skip..], &mut ids);
    }
    let available = ids_first..ids_first + ids.len() as u64;
    let core_start = (chunk.core.start - chunk.origin).div_ceil(s);
    let core_end = (chunk.core.end - chunk.origin).div_ceil(s);
    let core = intersect(core_start..core_end, &available);
    let context = intersect(
        core.start.saturating_sub(plan.left as u64)..core.end + plan.right as u64,
        &available,
    );
    let keep = if plan.wrap.is_some() {
        core.start..context.end
    } else {
        core.clone()
    };
    let from = (context.start - ids_first) as usize;
    let to = (context.end - ids_first) as usize;
    ids.truncate(to);
    ids.drain(..from);
    Ok(Job {
        name: chunk.name.clone(),
        record_index: chunk.record_index,
        origin: chunk.origin,
        first_chunk: chunk.first,
        last_chunk: chunk.last,
        record_len: chunk.record_len,
        ids,
        ids_first: context.start,
        core,
        keep,
    })
}

/// `a ∩ b`, empty (at `a.start` clamped into `b`) when they do not meet.
fn intersect(a: Range<u64>, b: &Range<u64>) -> Range<u64> {
    let start = a.start.max(b.start);
    start..a.end.min(b.end).max(start)
}

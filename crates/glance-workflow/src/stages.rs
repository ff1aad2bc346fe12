//! The pipeline's stages, each on its own thread: [`read`] (decompress and parse every
//! input once, send owned records through the [`Tee`]), [`embed`] (encoder + region
//! pooling into embeddings.npy), [`scan`] (FIMO-identical hits, tallies for q-values)
//! and [`scores`] (region x motif scores). Stages use glance-model, glance-motif and
//! glance-seq as they are; this module only wires them to channels and writers.

use std::cell::Cell;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glance_model::{
    encode_source_where, ndarray::ArrayView2, Encoder, ModelError, PooledRegion, Pooler, Pooling,
    Regions, RowSink, StreamOptions, TokenSink,
};
use glance_motif::region::{RegionRef, RegionSettings, RegionTables};
use glance_motif::scan::driver::ScanRun;
use glance_motif::scan::prep::Prepared;
use glance_motif::{ScanTally, Scanner};
use glance_seq::{region_name, IndexedFasta, RecordHeader, Region, SequenceSource};
use rayon::prelude::*;

use crate::cputime::CpuClock;
use crate::error::WorkflowError;
use crate::input::{open_location, ReadObserver};
use crate::layout::{self, RecordInfo};
use crate::manifest::StageTiming;
use crate::priority::StagePools;
use crate::progress::Counter;
use crate::sharding::Sharding;
use crate::tee::{ChannelSource, Msg, OneRecord, RecordStart, Tee};
use glance_io::{AtomicFile, Finished, NpyWriter};

/// Bases per block sent to the stages.
const BLOCK: usize = 1 << 18;

/// Bins scored per parallel batch.
const SCORE_BATCH: usize = 256;

/// A stage's timing from its wall time, the time it spent waiting and its CPU time.
pub fn timing(
    stage: &str,
    t0: Instant,
    waited: Duration,
    bases: u64,
    cpu: Duration,
) -> StageTiming {
    let wall = t0.elapsed().as_secs_f64();
    let busy = (wall - waited.as_secs_f64()).max(0.0);
    StageTiming {
        stage: stage.to_string(),
        busy_s: busy,
        wall_s: wall,
        cpu_s: cpu.as_secs_f64(),
        bases,
        bases_per_s: if busy > 0.0 { bases as f64 / busy } else { 0.0 },
    }
}

/// What the reader saw.
pub struct ReadSummary {
    /// Every record (owned or not) in input order.
    pub records: Vec<RecordInfo>,
    /// The reader's timing.
    pub timing: StageTiming,
}

/// Reads every input once, sending every record the shard may own a piece of to every
/// stage; returns all records. Stops early (without error) if a stage has failed. With
/// `restrict`, only those regions of each input are read (through its index), each as
/// a record named `chr:start-end` as `samtools faidx` writes it, and `bytes` counts
/// their bases.
pub fn read(
    inputs: &[PathBuf],
    restrict: Option<&[Region]>,
    sharding: Sharding,
    mut tee: Tee,
    bytes: Arc<Counter>,
) -> Result<ReadSummary, WorkflowError> {
    let (t0, cpu) = (Instant::now(), CpuClock::thread());
    let mut records = Vec::new();
    let (mut index, mut global, mut owned_bases) = (0u64, 0u64, 0u64);
    let mut header = RecordHeader::default();
    'inputs: for (input, path) in inputs.iter().enumerate() {
        let label = path.display().to_string();
        let err = |e: glance_seq::SeqError| WorkflowError::Input {
            path: label.clone(),
            error: Box::new(e),
        };
        let mut reader: Box<dyn SequenceSource> = match restrict {
            Some(regions) => Box::new(
                IndexedFasta::open(path)
                    .and_then(|fasta| fasta.regions(regions.to_vec()))
                    .map_err(err)?,
            ),
            None => {
                let counter = bytes.clone();
                let observer = ReadObserver::new(move |n| counter.add(n));
                Box::new(open_location(path, 1, Some(&observer))?)
            }
        };
        while reader.next_record(&mut header).map_err(err)? {
            if restrict.is_some() {
                // positions within the region, as in `samtools faidx`'s output
                let end = header.offset + header.length.unwrap_or(0);
                header.name = region_name(&header.name, header.offset, end);
                header.offset = 0;
            }
            header.index = index;
            let sent = sharding.may_own(index);
            if sent {
                let start = RecordStart {
                    header: header.clone(),
                    global_base: global,
                };
                if !tee.send(|| Msg::Record(start.clone())) {
                    break 'inputs;
                }
            }
            let mut len = 0u64;
            let mut buf = Vec::with_capacity(BLOCK);
            loop {
                let n = reader.read_bases(&mut buf, BLOCK).map_err(err)?;
                if n == 0 {
                    break;
                }
                len += n as u64;
                if restrict.is_some() {
                    bytes.add(n as u64);
                }
                if sent {
                    let block = Arc::new(std::mem::replace(&mut buf, Vec::with_capacity(BLOCK)));
                    if !tee.send(|| Msg::Bases(block.clone())) {
                        break 'inputs;
                    }
                } else {
                    buf.clear();
                }
            }
            let owned = sharding.owns_any(index, len);
            if owned {
                owned_bases += len;
            }
            if sent && !tee.send(|| Msg::End) {
                break 'inputs;
            }
            records.push(RecordInfo {
                index,
                input,
                name: header.name.clone(),
                length: len,
                global_base: global,
                owned,
            });
            index += 1;
            global += len;
        }
    }
    let blocked = tee.blocked;
    drop(tee);
    Ok(ReadSummary {
        records,
        timing: timing("read", t0, blocked, owned_bases, cpu.elapsed()),
    })
}

/// What [`scan`] found.
pub struct Scanned {
    /// Per-motif tallies (hits and the q-value sample).
    pub tallies: Vec<ScanTally>,
    /// Record names by record index (empty for records not streamed to the stage).
    pub names: Vec<String>,
    /// The stage's timing.
    pub timing: StageTiming,
}

/// Scans every record of `src` with the scanner's own driver, run per record so that
/// record indices and the q-value sample use whole-input coordinates (identical in
/// every shard), and only the window starts the shard owns. Returns the per-motif
/// tallies and record names.
pub fn scan(
    scanner: &Scanner,
    chunk_size: usize,
    sharding: Sharding,
    mut src: ChannelSource,
) -> Result<Scanned, WorkflowError> {
    let (t0, cpu) = (Instant::now(), CpuClock::pool());
    let mut run = ScanRun::new(scanner, chunk_size);
    let mut header = RecordHeader::default();
    let mut bases = 0;
    let seq_err = |e: glance_seq::SeqError| WorkflowError::Motif(e.to_string());
    while src.next_record(&mut header).map_err(seq_err)? {
        let start = src.current().cloned().unwrap_or_default();
        run.global = start.global_base;
        run.names.resize(header.index as usize, String::new());
        let name = header.name.clone();
        let owned = |r, starts, out: &mut Vec<_>| sharding.owned_parts(r, starts, out);
        run.scan_owned(
            scanner,
            OneRecord::new(&mut src, header.clone()),
            owned,
            |_, _| Ok(()),
        )
        .map_err(|e| WorkflowError::Motif(format!("record {name}: {e}")))?;
        bases += run.global - start.global_base;
    }
    Ok(Scanned {
        timing: timing("scan", t0, src.waited, bases, cpu.elapsed()),
        tallies: run.tallies,
        names: run.names,
    })
}

/// Rows of pooled embeddings into an .npy: the bins this shard owns.
struct EmbedSink<'a> {
    npy: &'a mut NpyWriter,
    sharding: Sharding,
    /// Index of the record being pooled (set by [`IndexedPooler`]).
    record: &'a Cell<u64>,
}

impl RowSink for EmbedSink<'_> {
    fn row(&mut self, region: &PooledRegion, values: &[f32]) -> Result<(), ModelError> {
        if !self.sharding.owns(self.record.get(), region.start) {
            return Ok(());
        }
        self.npy
            .row(values)
            .map_err(|e| ModelError::Sink(Box::new(e)))
    }
}

/// A pooler that tells its row sink which record it is pooling.
struct IndexedPooler<'a, 'q> {
    pooler: Pooler<'q, EmbedSink<'a>>,
    record: &'a Cell<u64>,
}

impl TokenSink for IndexedPooler<'_, '_> {
    fn begin_record(&mut self, name: &str, origin: u64) -> Result<(), ModelError> {
        self.pooler.begin_record(name, origin)
    }

    fn begin_indexed_record(
        &mut self,
        index: u64,
        name: &str,
        origin: u64,
    ) -> Result<(), ModelError> {
        self.record.set(index);
        self.pooler.begin_record(name, origin)
    }

    fn tokens(
        &mut self,
        first: u64,
        spans: &[Range<u64>],
        rows: ArrayView2<f32>,
    ) -> Result<(), ModelError> {
        self.pooler.tokens(first, spans, rows)
    }

    fn end_record(&mut self, len: u64) -> Result<(), ModelError> {
        self.pooler.end_record(len)
    }
}

/// What the embed stage made: embeddings.npy, finished but not renamed into place.
pub struct Embedded {
    /// Rows written (one per owned bin).
    pub rows: u64,
    /// embeddings.npy.
    pub npy: Finished,
    /// The stage's timing.
    pub timing: StageTiming,
}

/// Encodes the parts of every record of `src` that the shard's bins need and pools the
/// bins it owns into `path` (finished, not renamed into place).
pub fn embed(
    encoder: &Encoder,
    opts: &StreamOptions,
    pooling: Pooling,
    (size, step): (u64, u64),
    sharding: Sharding,
    path: &Path,
    mut src: ChannelSource,
) -> Result<Embedded, WorkflowError> {
    let (t0, cpu) = (Instant::now(), CpuClock::pool());
    let d = encoder.d_model();
    let mut npy = NpyWriter::create(path, &[d])?;
    let mut bases = 0u64;
    {
        let model_err = |e: ModelError| WorkflowError::Model(e.to_string());
        let record = Cell::new(0);
        let sink = EmbedSink {
            npy: &mut npy,
            sharding,
            record: &record,
        };
        let pooler = Pooler::new(
            pooling,
            Regions::Bins { size, step },
            encoder.pool_query.as_ref(),
            d,
            sink,
        )
        .map_err(model_err)?;
        let mut pooler = IndexedPooler {
            pooler,
            record: &record,
        };
        // A bin starting at an owned position needs the tokens of its `size` bases.
        let wanted = |r, bases| sharding.needs(r, bases, size - 1);
        encode_source_where(
            encoder,
            &mut src,
            opts,
            &mut pooler,
            &mut |b| bases += b,
            &wanted,
        )
        .map_err(|e| {
            let at = src
                .current()
                .map(|r| format!("record {}: ", r.header.name))
                .unwrap_or_default();
            WorkflowError::Model(format!("{at}{e}"))
        })?;
        pooler.pooler.finish().map_err(model_err)?;
    }
    Ok(Embedded {
        rows: npy.rows,
        npy: npy.finish(layout::EMBEDDINGS)?,
        timing: timing("embed", t0, src.waited, bases, cpu.elapsed()),
    })
}

/// One bin to score.
struct BinJob {
    start: u64,
    end: u64,
    bases: Vec<u8>,
}

/// What the scores stage made, finished but not renamed into place.
pub struct Scored {
    /// motif_scores.npy.
    pub npy: Finished,
    /// motif_scores.tsv.
    pub tsv: Finished,
    /// The stage's timing.
    pub timing: StageTiming,
}

/// Region x motif scores of every bin the shard owns: motif_scores.npy (`[rows,
/// motifs, channels]`: affinity and occupancy) and motif_scores.tsv (one line per region and motif, as `glance
/// score`), both finished but not renamed into place. The parallel work runs on
/// `pools`; this thread reads the input and cuts the bins.
pub fn scores(
    scanner: &Scanner,
    settings: &RegionSettings,
    (size, step): (u64, u64),
    sharding: Sharding,
    (npy_path, tsv_path): (&Path, &Path),
    pools: &StagePools,
    mut src: ChannelSource,
) -> Result<Scored, WorkflowError> {
    let (t0, cpu) = (Instant::now(), CpuClock::thread());
    let motifs = scanner.motifs();
    let tables = pools
        .install(|| RegionTables::new(scanner, settings))
        .map_err(|e| WorkflowError::Motif(e.to_string()))?;
    let channels = layout::SCORE_CHANNELS.len();
    let mut npy = NpyWriter::create(npy_path, &[motifs.len(), channels])?;
    let mut tsv = AtomicFile::create(tsv_path)?;
    let mut bases = 0u64;
    {
        let mut w = tsv.writer();
        let io = |e| WorkflowError::output(tsv_path, e);
        writeln!(w, "{}", layout::SCORES_HEADER).map_err(io)?;
        let mut header = RecordHeader::default();
        let seq_err = |e: glance_seq::SeqError| WorkflowError::Motif(e.to_string());
        let mut jobs = Vec::with_capacity(SCORE_BATCH);
        // Scores and writes the bins collected so far, on the stage's pools.
        let mut score = |chrom: &str, jobs: &mut Vec<BinJob>| {
            let out = (&mut w as &mut (dyn Write + Send), tsv_path);
            pools.install(|| score_batch(scanner, &tables, chrom, jobs, &mut npy, out))
        };
        while src.next_record(&mut header).map_err(seq_err)? {
            // buf holds the record's bases from position `buf_start`.
            let (mut buf, mut buf_start, mut next) = (Vec::new(), 0u64, 0u64);
            let mut ended = false;
            while !ended {
                let n = src.read_bases(&mut buf, BLOCK).map_err(seq_err)?;
                ended = n == 0;
                bases += n as u64;
                let have = buf_start + buf.len() as u64;
                // Bins ending inside what we have (all remaining ones at the record end).
                while (ended && next < have) || next.saturating_add(size) <= have {
                    let end = next.saturating_add(size).min(have);
                    let a = (next - buf_start) as usize;
                    let b = (end - buf_start) as usize;
                    if sharding.owns(header.index, next) {
                        jobs.push(BinJob {
                            start: next,
                            end,
                            bases: buf[a..b].to_vec(),
                        });
                    }
                    next = next.saturating_add(step);
                    if jobs.len() == SCORE_BATCH {
                        score(&header.name, &mut jobs)?;
                    }
                }
                let drop_to = next.min(have);
                if drop_to > buf_start {
                    buf.drain(..(drop_to - buf_start) as usize);
                    buf_start = drop_to;
                }
            }
            score(&header.name, &mut jobs)?;
        }
        w.flush().map_err(io)?;
    }
    let npy = pools.install(|| npy.finish(layout::MOTIF_SCORES_NPY))?;
    let tsv = pools.install(|| tsv.finish(layout::MOTIF_SCORES_TSV))?;
    let cpu = cpu.elapsed() + pools.cpu();
    Ok(Scored {
        npy,
        tsv,
        timing: timing("scores", t0, src.waited, bases, cpu),
    })
}

/// Scores a batch of bins (motif by motif, in parallel) and writes their rows in order
/// (formatted in parallel).
fn score_batch(
    scanner: &Scanner,
    tables: &RegionTables,
    chrom: &str,
    jobs: &mut Vec<BinJob>,
    npy: &mut NpyWriter,
    (tsv, tsv_path): (&mut (dyn Write + Send), &Path),
) -> Result<(), WorkflowError> {
    let m = scanner.motifs().len();
    if jobs.is_empty() || m == 0 {
        jobs.clear();
        return Ok(());
    }
    let preps: Vec<Prepared> = jobs
        .par_iter()
        .map(|job| {
            let mut prep = Prepared::default();
            scanner.prepare(&job.bases, &mut prep);
            prep
        })
        .collect();
    let regions: Vec<RegionRef> = jobs
        .iter()
        .zip(&preps)
        .map(|(job, prep)| RegionRef {
            prep,
            prep_offset: job.start,
            start: job.start,
            end: job.end,
        })
        .collect();
    let scores = scanner.score_regions(tables, &regions);
    let texts: Vec<String> = jobs
        .par_iter()
        .zip(scores.par_chunks(m))
        .map(|(job, row)| {
            let mut text = String::with_capacity(row.len() * 96);
            for (cm, s) in scanner.motifs().iter().zip(row) {
                layout::push_score_line(
                    &mut text,
                    chrom,
                    job.start,
                    job.end,
                    &cm.motif.id,
                    &cm.motif.alt_id,
                    s,
                );
            }
            text
        })
        .collect();
    let mut values = Vec::with_capacity(m * layout::SCORE_CHANNELS.len());
    for (row, text) in scores.chunks(m).zip(&texts) {
        values.clear();
        values.extend(row.iter().flat_map(layout::score_channels));
        npy.row(&values)?;
        tsv.write_all(text.as_bytes())
            .map_err(|e| WorkflowError::output(tsv_path, e))?;
    }
    jobs.clear();
    Ok(())
}

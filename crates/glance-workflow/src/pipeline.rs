//! `glance run` as a library call: resolve the configuration, check for a previous run
//! (resume), start the reader and the stages on their own threads connected by bounded
//! channels, then commit every output and write the manifest last.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use glance_model::{Encoder, Pooling, StreamOptions};
use glance_motif::output::{write_tsv_row, TSV_HEADER};
use glance_motif::{ScanTally, Scanner};

use crate::config::{Config, Shard};
use crate::cputime::CpuClock;
use crate::error::WorkflowError;
use crate::layout::{self, owned_bins, write_region, RecordInfo};
use crate::manifest::{previous_run, Manifest, Previous, StageTiming, MANIFEST};
use crate::priority::StagePools;
use crate::progress::{Counter, Progress};
use crate::resolve::MotifSet;
use crate::sharding::Sharding;
use crate::stages;
use crate::tee::{Lag, Tee};
use glance_io::{clean_partials, write_measured, AtomicFile, FileEntry, Finished};

/// What [`run`] did.
#[derive(Debug)]
pub struct RunOutcome {
    /// The manifest of the (new or reused) run.
    pub manifest: Manifest,
    /// `true` when a complete identical run was found and nothing was redone.
    pub reused: bool,
}

/// Everything resolved from a [`Config`] before any work starts.
struct Plan {
    config: Config,
    outdir: PathBuf,
    sharding: Sharding,
    encoder: Option<Encoder>,
    scanner: Option<Scanner>,
    motif_label: String,
    inputs: Vec<FileEntry>,
    notes: Vec<String>,
}

/// The configuration with the fields that do not change results reset, for comparing
/// runs (threads, logging).
fn result_config(c: &Config) -> serde_json::Value {
    let mut c = c.clone();
    c.threads = None;
    c.quiet = false;
    c.log_interval = Config::default().log_interval;
    serde_json::to_value(&c).unwrap_or_default()
}

/// Checksums a dependency file if it exists.
fn entry_if_file(
    path: &Path,
    label: String,
    out: &mut Vec<FileEntry>,
) -> Result<(), WorkflowError> {
    if path.is_file() {
        out.push(FileEntry::of(path, label)?);
    }
    Ok(())
}

fn plan(config: &Config) -> Result<Plan, WorkflowError> {
    config.validate()?;
    let mut config = config.clone();
    let outdir = config.outdir.clone().ok_or_else(|| {
        WorkflowError::Config("no output directory: pass --outdir or set `outdir`".into())
    })?;
    if config.inputs.is_empty() {
        return Err(WorkflowError::Config(
            "no inputs: pass INPUT files or set `inputs`".into(),
        ));
    }
    let shard = config.shard.unwrap_or(Shard::WHOLE);
    config.shard = Some(shard);
    let mut notes = Vec::new();
    let mut inputs = Vec::new();
    for p in &config.inputs {
        inputs.push(FileEntry::of(p, p.display().to_string())?);
    }
    // Model.
    let mut encoder = None;
    if config.outputs.embeddings {
        if config.model.path.is_none() {
            config.model.path = glance_model::default_model_dir();
        }
        match &config.model.path {
            Some(dir) => {
                let mut enc = glance_model::load(dir).map_err(|e| {
                    WorkflowError::Model(format!("{}: cannot load model: {e}", dir.display()))
                })?;
                enc.override_patterns(&config.model.patterns)
                    .map_err(|e| WorkflowError::Config(format!("model.patterns: {e}")))?;
                for f in ["config.json", "model.safetensors", "vocab.txt"] {
                    entry_if_file(&dir.join(f), format!("model:{f}"), &mut inputs)?;
                }
                encoder = Some(enc);
            }
            None => {
                config.outputs.embeddings = false;
                notes.push(
                    "no model: none was given (--model or GLANCE_MODEL) and the default model \
                     (models/default of the source tree) is missing, so embeddings.npy was \
                     not produced"
                        .to_string(),
                );
            }
        }
    }
    // Motifs.
    let mut scanner = None;
    let mut motif_label = String::new();
    if config.outputs.hits || config.outputs.motif_scores {
        let set = MotifSet::load(&config.motifs, config.outputs.motif_scores)?;
        if let Some(p) = &config.motifs.file {
            inputs.push(FileEntry::of(p, format!("motifs:{}", p.display()))?);
        }
        if !config.motifs.background.starts_with("--") {
            let p = PathBuf::from(&config.motifs.background);
            inputs.push(FileEntry::of(&p, format!("background:{}", p.display()))?);
        }
        scanner = Some(set.scanner);
        motif_label = set.label;
    }
    let sharding = Sharding {
        shard,
        span: config.shard_span,
    };
    Ok(Plan {
        config,
        outdir,
        sharding,
        encoder,
        scanner,
        motif_label,
        inputs,
        notes,
    })
}

/// Runs the pipeline described by `config` (see the crate docs). With `quiet` false,
/// progress goes to stderr.
pub fn run(config: &Config) -> Result<RunOutcome, WorkflowError> {
    let t0 = Instant::now();
    let plan = plan(config)?;
    let quiet = plan.config.quiet;
    let log = |m: &str| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    let outdir = &plan.outdir;
    std::fs::create_dir_all(outdir).map_err(|e| WorkflowError::output(outdir, e))?;
    let key = result_config(&plan.config);
    match previous_run(outdir, &key, &plan.inputs, &layout::ALL_OUTPUTS)? {
        Previous::Complete => {
            log(&format!(
                "glance run: {} is complete for this configuration and input; nothing to do",
                outdir.display()
            ));
            let manifest = Manifest::read(outdir)?
                .ok_or_else(|| WorkflowError::Merge("manifest vanished".into()))?;
            return Ok(RunOutcome {
                manifest,
                reused: true,
            });
        }
        Previous::Interrupted => log(&format!(
            "glance run: {} holds an interrupted run (outputs without a manifest); starting again",
            outdir.display()
        )),
        Previous::Stale(why) => log(&format!("glance run: redoing {}: {why}", outdir.display())),
        Previous::None => {}
    }
    // Nothing may look complete while this run is under way.
    for name in std::iter::once(MANIFEST).chain(layout::ALL_OUTPUTS) {
        let p = outdir.join(name);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| WorkflowError::output(&p, e))?;
        }
    }
    clean_partials(outdir)?;
    for n in &plan.notes {
        log(&format!("glance run: note: {n}"));
    }
    // Outputs are committed with their sizes and checksums; the manifest comes last.
    let (records, timings, outputs) = execute(&plan, quiet)?;
    let owned: Vec<&RecordInfo> = records.iter().filter(|r| r.owned).collect();
    let (size, step) = (plan.config.regions.bin, plan.config.regions.step());
    let regions: u64 = owned
        .iter()
        .map(|r| owned_bins(plan.sharding, r, size, step).count() as u64)
        .sum();
    let manifest = Manifest {
        glance_version: env!("CARGO_PKG_VERSION").to_string(),
        command: "run".into(),
        config: key,
        inputs: plan.inputs.clone(),
        outputs,
        records: records.len() as u64,
        bases: owned.iter().map(|r| r.length).sum(),
        regions,
        wall_s: t0.elapsed().as_secs_f64(),
        stages: timings,
        notes: plan.notes.clone(),
        shards: Vec::new(),
    };
    manifest.write(outdir)?;
    log(&format!(
        "glance run: shard {}: {} of {} records, {} bases, {} regions in {:.1} s -> {}",
        plan.sharding.shard,
        owned.len(),
        records.len(),
        manifest.bases,
        regions,
        manifest.wall_s,
        outdir.display()
    ));
    Ok(RunOutcome {
        manifest,
        reused: false,
    })
}

/// What [`execute`] hands back: every record, the stage timings, the committed outputs.
type Executed = (Vec<RecordInfo>, Vec<StageTiming>, Vec<FileEntry>);

/// Starts the threads, waits for them, and commits the outputs.
fn execute(plan: &Plan, quiet: bool) -> Result<Executed, WorkflowError> {
    let c = &plan.config;
    let out = |n: &str| plan.outdir.join(n);
    let (size, step) = (c.regions.bin, c.regions.step());
    let want_scan = c.outputs.hits && plan.scanner.is_some();
    let want_scores = c.outputs.motif_scores && plan.scanner.is_some();
    // With an encoder, the motif stages work in its shadow (see `priority`).
    let motif_lag = if plan.encoder.is_some() {
        Lag::Background
    } else {
        Lag::Lockstep
    };
    let mut lags = Vec::new();
    let mut names = Vec::new();
    if plan.encoder.is_some() {
        lags.push(Lag::Lockstep);
        names.push("embed");
    }
    if want_scan {
        lags.push(motif_lag);
        names.push("scan");
    }
    if want_scores {
        lags.push(motif_lag);
        names.push("scores");
    }
    let (tee, mut sources) = Tee::new(&lags);
    let bytes = Counter::new("input");
    // The data inputs come first in `plan.inputs`.
    let total: u64 = plan.inputs[..c.inputs.len()].iter().map(|e| e.bytes).sum();
    let counters: Vec<_> = names.iter().map(|n| Counter::new(n)).collect();
    for (s, ctr) in sources.iter_mut().zip(&counters) {
        s.set_counter(ctr.clone());
    }
    let mut progress = Progress::start(quiet, c.log_interval, bytes.clone(), total, counters);
    let pooling: Pooling = c
        .regions
        .pool
        .parse()
        .map_err(|e| WorkflowError::Config(format!("regions.pool: {e}")))?;
    let stream = StreamOptions {
        chunk_tokens: c.model.chunk_tokens,
        overlap: c.model.overlap,
        ..StreamOptions::default()
    };
    let emb_path = out(layout::EMBEDDINGS);
    let (sc_npy, sc_tsv) = (out(layout::MOTIF_SCORES_NPY), out(layout::MOTIF_SCORES_TSV));
    // The reader and the encoder run at normal priority, the encoder on rayon's global
    // pool. Each motif stage computes on pools of its own (`StagePools`: idle priority
    // until the encoder is done, then normal), so no worker of one stage ever blocks on
    // another stage's channel. (The scanner's driver reads its next chunk inside
    // rayon::join: in a shared pool a worker waiting for the encoder's tasks could steal
    // that read and block the encoder behind the reader, a deadlock. It keeps one
    // worker waiting for input, so it needs two.)
    let encoder_done = AtomicBool::new(plan.encoder.is_none());
    let threads = rayon::current_num_threads();
    let pool_err = |e: rayon::ThreadPoolBuildError| WorkflowError::Config(format!("threads: {e}"));
    let scan_pools = StagePools::new("scan", threads.max(2), &encoder_done).map_err(pool_err)?;
    let scores_pools = StagePools::new("scores", threads, &encoder_done).map_err(pool_err)?;
    // Tee::new gave exactly one source per consumer, in this order.
    let mut sources = sources.into_iter();
    let embed_src = plan
        .encoder
        .as_ref()
        .and_then(|e| Some((e, sources.next()?)));
    let scan_src =
        (plan.scanner.as_ref().filter(|_| want_scan)).and_then(|sc| Some((sc, sources.next()?)));
    let scores_src =
        (plan.scanner.as_ref().filter(|_| want_scores)).and_then(|sc| Some((sc, sources.next()?)));
    let result = std::thread::scope(|s| {
        let reader = s.spawn(|| stages::read(&c.inputs, plan.sharding, tee, bytes));
        let embed = embed_src.map(|(enc, src)| {
            let (stream, p, done) = (&stream, &emb_path, &encoder_done);
            let sharding = plan.sharding;
            s.spawn(move || {
                let r = stages::embed(enc, stream, pooling, (size, step), sharding, p, src);
                done.store(true, Ordering::Release);
                r
            })
        });
        let scan = scan_src.map(|(sc, src)| {
            let pools = &scan_pools;
            let sharding = plan.sharding;
            s.spawn(move || {
                let scanned =
                    pools.install(|| stages::scan(sc, c.motifs.chunk_size, sharding, src))?;
                let (tw, cpu) = (Instant::now(), pools.cpu());
                let names: Vec<&str> = scanned.names.iter().map(String::as_str).collect();
                let files = pools.install(|| {
                    write_scan_outputs(
                        sc,
                        &plan.motif_label,
                        scanned.tallies,
                        &names,
                        c.motifs.qv_thresh,
                        &plan.outdir,
                    )
                })?;
                let hits = stages::timing("hits", tw, Duration::ZERO, 0, pools.cpu() - cpu);
                Ok((files, [scanned.timing, hits]))
            })
        });
        let scores = scores_src.map(|(sc, src)| {
            let pools = &scores_pools;
            let paths = (sc_npy.as_path(), sc_tsv.as_path());
            let sharding = plan.sharding;
            s.spawn(move || {
                stages::scores(sc, c.motifs.tau, (size, step), sharding, paths, pools, src)
            })
        });
        let reader = join(reader);
        let embed = embed.map(join).transpose();
        let scan = scan.map(join).transpose();
        let scores = scores.map(join).transpose();
        (reader, embed, scan, scores)
    });
    progress.finish();
    // The input's own error explains the others (stages see a short input).
    let (reader, embed, scan, scores) = result;
    let summary = reader?;
    let embed = embed?;
    let scan = scan?;
    let scores = scores?;
    let (tw, cpu) = (Instant::now(), CpuClock::thread());
    let records = summary.records;
    let mut timings = vec![summary.timing];
    let expected_rows: u64 = records
        .iter()
        .filter(|r| r.owned)
        .map(|r| owned_bins(plan.sharding, r, size, step).count() as u64)
        .sum();
    if let Some((rows, _, _)) = &embed {
        if *rows != expected_rows {
            return Err(WorkflowError::Model(format!(
                "{}: the pooler produced {rows} rows for {expected_rows} regions",
                emb_path.display(),
            )));
        }
    }
    // Every stage succeeded: commit, in manifest order.
    let mut outputs = Vec::new();
    outputs.push(write_measured(
        &out(layout::RECORDS),
        layout::RECORDS,
        |w| layout::write_records(w, &records),
    )?);
    outputs.push(write_measured(
        &out(layout::REGIONS),
        layout::REGIONS,
        |w| {
            let mut row = 0u64;
            for r in records.iter().filter(|r| r.owned) {
                for (a, b) in owned_bins(plan.sharding, r, size, step) {
                    write_region(w, &r.name, a, b, size, row)?;
                    row += 1;
                }
            }
            Ok(())
        },
    )?);
    if let Some((_, npy, t)) = embed {
        outputs.push(npy.commit()?);
        timings.push(t);
    }
    if let Some((files, t)) = scan {
        for f in files {
            outputs.push(f.commit()?);
        }
        timings.extend(t);
    }
    if let Some((npy, tsv, t)) = scores {
        outputs.push(npy.commit()?);
        outputs.push(tsv.commit()?);
        timings.push(t);
    }
    timings.push(stages::timing(
        "write",
        tw,
        Duration::ZERO,
        0,
        cpu.elapsed(),
    ));
    Ok((records, timings, outputs))
}

/// Joins a stage's thread, turning a panic into an error.
fn join<T>(
    h: std::thread::ScopedJoinHandle<'_, Result<T, WorkflowError>>,
) -> Result<T, WorkflowError> {
    h.join()
        .unwrap_or_else(|_| Err(WorkflowError::Model("a pipeline stage panicked".into())))
}

/// Writes scan_tallies.tsv, scan_hits.tsv (for merge) and hits.tsv (q-values over the
/// tallies given: this run's, or every shard's in `glance merge`), synced and measured
/// but not yet renamed into place (commit them in this order). `names[i]` is the name
/// of record `i` (hits refer to records by index).
pub fn write_scan_outputs(
    scanner: &Scanner,
    motif_label: &str,
    mut tallies: Vec<ScanTally>,
    names: &[&str],
    qv_thresh: bool,
    outdir: &Path,
) -> Result<Vec<Finished>, WorkflowError> {
    // One order whatever the sharding: by record, position, strand.
    for t in &mut tallies {
        t.hits.sort_by_key(|h| (h.record, h.start, h.reverse));
    }
    let ids: Vec<&str> = scanner
        .motifs()
        .iter()
        .map(|m| m.motif.id.as_str())
        .collect();
    let mut tallies_file = AtomicFile::create(&outdir.join(layout::TALLIES))?;
    let mut hits_file = AtomicFile::create(&outdir.join(layout::RAW_HITS))?;
    {
        let (mut t, mut h) = (tallies_file.writer(), hits_file.writer());
        layout::write_tallies(&tallies, &ids, &mut t, &mut h)
            .and_then(|()| t.flush())
            .and_then(|()| h.flush())
            .map_err(|e| WorkflowError::output(&outdir.join(layout::TALLIES), e))?;
    }
    let hits = scanner.finish(tallies, qv_thresh);
    let mut tsv = AtomicFile::create(&outdir.join(layout::HITS))?;
    {
        let mut w = tsv.writer();
        let write = |w: &mut dyn Write| -> std::io::Result<()> {
            writeln!(w, "{TSV_HEADER}")?;
            for h in &hits {
                let m = &scanner.motifs()[h.motif as usize];
                let name = names.get(h.record as usize).copied().unwrap_or("");
                write_tsv_row(w, h, m, name, true)?;
            }
            writeln!(
                w,
                "\n# glance {} run (FIMO-compatible TSV; motifs: {motif_label})",
                env!("CARGO_PKG_VERSION")
            )?;
            w.flush()
        };
        write(&mut w).map_err(|e| WorkflowError::output(&outdir.join(layout::HITS), e))?;
    }
    Ok(vec![
        tallies_file.finish(layout::TALLIES)?,
        hits_file.finish(layout::RAW_HITS)?,
        tsv.finish(layout::HITS)?,
    ])
}

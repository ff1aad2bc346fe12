//! `glance run` as a library call: resolve the configuration, check for a previous run
//! (resume), start the reader and the stages on their own threads connected by bounded
//! channels, then commit every output and write the manifest last.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use glance_model::{
    DefaultModel, Encoder, Pooling, Precision, StreamOptions, BUNDLED_FILES, BUNDLED_LABEL,
};
use glance_motif::output::{write_tsv_row, TSV_HEADER};
use glance_motif::{ScanTally, Scanner};
use glance_seq::Region;

use crate::config::{Config, Shard};
use crate::cputime::CpuClock;
use crate::error::WorkflowError;
use crate::input::{is_stdin, region_bases};
use crate::layout::{self, owned_bins, RecordInfo};
use crate::manifest::{previous_run, Manifest, Previous, StageTiming};
use crate::priority::StagePools;
use crate::progress::{Counter, Progress};
use crate::report::{write_report, ReportInput};
use crate::resolve::MotifSet;
use crate::sharding::Sharding;
use crate::stages;
use crate::tee::ChannelSource;
use crate::tee::{Lag, Tee};
use crate::tracks::{self, RunTables};
use crate::variant_stage::VariantStage;
use crate::workers::Workers;
use glance_io::{AtomicFile, FileEntry, Finished};

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
    motifs: Option<MotifSet>,
    workers: Workers,
    inputs: Vec<FileEntry>,
    /// The regions every input is restricted to (`regions.region` / `regions.bed`).
    restrict: Option<Vec<Region>>,
    /// What the read stage's counter reaches at the end: the inputs' bytes, or the
    /// regions' bases (which are read by index, not as a stream of bytes).
    read_total: u64,
    /// What the manifest must tell a reader about how this run differs from its config.
    notes: Vec<String>,
}

impl Plan {
    /// Whether the scan stage runs (hits.tsv).
    fn wants_scan(&self) -> bool {
        self.config.outputs.hits && self.motifs.is_some()
    }

    /// Whether the region-scores stage runs (motif_scores.npy/.tsv).
    fn wants_scores(&self) -> bool {
        self.config.outputs.motif_scores && self.motifs.is_some()
    }

    /// Whether tracks are asked for (bigWig or bedGraph).
    fn wants_tracks(&self) -> bool {
        self.config.outputs.tracks || self.config.outputs.bedgraph
    }

    /// The motifs' ids and alternative names, in the scanner's order.
    fn motif_ids(&self) -> Vec<(String, String)> {
        self.motifs
            .as_ref()
            .map(|m| tracks::motif_ids(&m.scanner))
            .unwrap_or_default()
    }

    /// Rows of regions.bed: the bins of the owned records that this shard owns.
    fn owned_regions(&self, records: &[RecordInfo]) -> u64 {
        let (size, step) = (self.config.regions.bin, self.config.regions.step());
        records
            .iter()
            .filter(|r| r.owned)
            .map(|r| owned_bins(self.sharding, r, size, step).count() as u64)
            .sum()
    }
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
    let mut inputs = Vec::new();
    let stdin = config.inputs.iter().filter(|p| is_stdin(p)).count();
    if stdin > 1 {
        return Err(WorkflowError::Config(
            "stdin (`-`) can be read only once: it is given twice as an input".into(),
        ));
    }
    if stdin > 0 && config.variants.vcf.is_some() {
        return Err(WorkflowError::Config(
            "variants.vcf reads the inputs again as the reference: give them as files, not \
             stdin (`-`)"
                .into(),
        ));
    }
    for p in &config.inputs {
        inputs.push(match is_stdin(p) {
            // not measured: it can be read only once (and a run from it is never reused)
            true => FileEntry {
                path: "-".into(),
                bytes: 0,
                sha256: String::new(),
            },
            false => FileEntry::of(p, p.display().to_string())?,
        });
    }
    let restrict = config.regions.restrict()?;
    let read_total = match &restrict {
        None => inputs.iter().map(|e| e.bytes).sum(),
        Some(regions) => {
            if stdin > 0 {
                return Err(WorkflowError::Config(
                    "regions.region/regions.bed (--region/--regions) read the inputs through \
                     their index: give them as files, not stdin (`-`)"
                        .into(),
                ));
            }
            // every region on every input, checked before anything is written
            let mut bases = 0;
            for p in &config.inputs {
                bases += region_bases(p, regions)?;
            }
            bases
        }
    };
    if let Some(bed) = &config.regions.bed {
        inputs.push(FileEntry::of(bed, format!("regions:{}", bed.display()))?);
    }
    // Model.
    let mut encoder = None;
    let mut notes = Vec::new();
    if config.outputs.embeddings {
        if config.model.path.is_none() {
            if let DefaultModel::Env(dir) = DefaultModel::resolve() {
                config.model.path = Some(dir);
            }
        }
        let mut enc = match &config.model.path {
            Some(dir) => {
                let enc = glance_model::load(dir).map_err(|e| {
                    WorkflowError::Model(format!("{}: cannot load model: {e}", dir.display()))
                })?;
                for f in ["config.json", "model.safetensors", "vocab.txt"] {
                    entry_if_file(&dir.join(f), format!("model:{f}"), &mut inputs)?;
                }
                enc
            }
            None => {
                let enc = glance_model::load_bundled()
                    .map_err(|e| WorkflowError::Model(format!("cannot load model: {e}")))?;
                for (name, bytes) in BUNDLED_FILES {
                    inputs.push(FileEntry::of_bytes(
                        bytes,
                        format!("model:{BUNDLED_LABEL}/{name}"),
                    ));
                }
                enc
            }
        };
        enc.override_patterns(&config.model.patterns)
            .map_err(|e| WorkflowError::Config(format!("model.patterns: {e}")))?;
        let precision = config
            .model
            .precision
            .parse()
            .map_err(|e| WorkflowError::Config(format!("model.precision: {e}")))?;
        notes.extend(precision_note(precision, enc.set_precision(precision)));
        encoder = Some(enc);
    }
    // Motifs.
    let mut motifs = None;
    if config.outputs.hits || config.outputs.motif_scores || config.variants.vcf.is_some() {
        motifs = Some(MotifSet::load(&config.motifs, config.outputs.motif_scores)?);
        if let Some(p) = &config.motifs.file {
            inputs.push(FileEntry::of(p, format!("motifs:{}", p.display()))?);
        }
        if !config.motifs.background.starts_with("--") {
            let p = PathBuf::from(&config.motifs.background);
            inputs.push(FileEntry::of(&p, format!("background:{}", p.display()))?);
        }
    }
    if let Some(vcf) = &config.variants.vcf {
        inputs.push(FileEntry::of(vcf, format!("variants:{}", vcf.display()))?);
    }
    if let Some(m) = &motifs {
        tracks::check_motifs(&config.outputs.track_motifs, &tracks::motif_ids(&m.scanner))?;
    }
    let workers = Workers::new(config.threads)?;
    let sharding = Sharding {
        shard,
        span: config.shard_span,
    };
    Ok(Plan {
        config,
        outdir,
        sharding,
        encoder,
        motifs,
        workers,
        inputs,
        restrict,
        read_total,
        notes,
    })
}

/// The manifest's note when the encoder runs in another precision than the config asks
/// for (bf16 on a CPU without AVX512_BF16 runs in f32).
fn precision_note(requested: Precision, effective: Precision) -> Option<String> {
    (requested != effective).then(|| {
        format!(
            "model.precision = \"{requested}\" was asked for, but this CPU has no AVX512_BF16: \
             the encoder ran in {effective}"
        )
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
            log::info!("{m}");
        }
    };
    let outdir = &plan.outdir;
    std::fs::create_dir_all(outdir).map_err(|e| WorkflowError::output(outdir, e))?;
    let key = result_config(&plan.config);
    // stdin cannot be compared with a previous run's input: never reused
    let previous = if plan.config.inputs.iter().any(|p| is_stdin(p)) {
        Previous::None
    } else {
        previous_run(outdir, &key, &plan.inputs, &layout::ALL_OUTPUTS)?
    };
    match previous {
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
    layout::clear_outputs(outdir)?;
    // Outputs are committed with their sizes and checksums; the manifest comes last.
    let Executed {
        records,
        mut timings,
        mut outputs,
    } = execute(&plan, quiet)?;
    let wants_views = plan.wants_tracks() || plan.config.outputs.report;
    let mut tables = None;
    if wants_views && plan.sharding.shard.count > 1 {
        log("glance run: note: a shard writes no tracks or report; `glance merge` writes them");
    } else if wants_views {
        let (t, cpu) = (Instant::now(), CpuClock::thread());
        let loaded = RunTables::load(outdir, &plan.config, plan.motif_ids())?;
        for f in loaded.write_tracks(outdir, &plan.config)? {
            outputs.push(f.commit()?);
        }
        if plan.wants_tracks() {
            timings.push(stages::timing(
                "tracks",
                t,
                Duration::ZERO,
                0,
                cpu.elapsed(),
            ));
        }
        tables = Some(loaded);
    }
    let owned: Vec<&RecordInfo> = records.iter().filter(|r| r.owned).collect();
    let regions = plan.owned_regions(&records);
    let mut manifest = Manifest {
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
    if let (true, Some(tables)) = (plan.config.outputs.report, &tables) {
        let input = ReportInput {
            manifest: &manifest,
            config: &plan.config,
            stages: vec![("glance run".to_string(), manifest.stages.clone())],
            scanner: plan.motifs.as_ref().map(|m| &m.scanner),
        };
        let entry = write_report(outdir, tables, &input)?;
        manifest.outputs.push(entry);
    }
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

/// What [`execute`] hands back.
struct Executed {
    /// Every record of the input (owned or not).
    records: Vec<RecordInfo>,
    /// Every stage's timing, in manifest order.
    timings: Vec<StageTiming>,
    /// The committed outputs, in manifest order.
    outputs: Vec<FileEntry>,
}

/// What the scan stage made (with its hits step): scan_tallies.tsv, scan_hits.tsv and
/// hits.tsv, finished but not renamed into place.
struct ScanFiles {
    files: Vec<Finished>,
    timings: [StageTiming; 2],
}

/// What every stage made, before anything is committed.
struct StageResults {
    read: stages::ReadSummary,
    embed: Option<stages::Embedded>,
    scan: Option<ScanFiles>,
    scores: Option<stages::Scored>,
}

/// Starts the stages, waits for them, and commits the outputs; then scores the
/// variants, if any (they need every record's name and index).
fn execute(plan: &Plan, quiet: bool) -> Result<Executed, WorkflowError> {
    let results = run_stages(plan, quiet)?;
    let tw = (Instant::now(), CpuClock::thread());
    check_embedding_rows(plan, &results)?;
    let mut executed = commit_outputs(plan, results, tw)?;
    if let Some(vcf) = &plan.config.variants.vcf {
        let stage = VariantStage {
            config: &plan.config,
            outdir: &plan.outdir,
            sharding: plan.sharding,
            records: &executed.records,
            encoder: plan.encoder.as_ref(),
            motifs: plan.motifs.as_ref(),
        };
        let (files, timing, summary) = plan.workers.install(|| stage.run(vcf))?;
        if !quiet {
            log::info!(
                "glance run: variants: {} records read, {} alleles scored here, {} skipped; {} motif losses, {} gains",
                summary.records,
                summary.scored,
                summary.skipped_total(),
                summary.losses,
                summary.gains
            );
        }
        executed.outputs.extend(files);
        executed.timings.push(timing);
    }
    Ok(executed)
}

/// The stages this plan runs, in the tee's order, with how far each may lag the
/// reader: with an encoder, the motif stages work in its shadow (see `priority`).
fn stage_lags(plan: &Plan) -> Vec<(&'static str, Lag)> {
    let motif_lag = if plan.encoder.is_some() {
        Lag::Background
    } else {
        Lag::Lockstep
    };
    let mut stages = Vec::new();
    if plan.encoder.is_some() {
        stages.push(("embed", Lag::Lockstep));
    }
    if plan.wants_scan() {
        stages.push(("scan", motif_lag));
    }
    if plan.wants_scores() {
        stages.push(("scores", motif_lag));
    }
    stages
}

/// Runs the reader and every stage on threads of their own, connected by the tee, and
/// joins them. The reader's error comes first: it explains the others (they see a
/// short input).
fn run_stages(plan: &Plan, quiet: bool) -> Result<StageResults, WorkflowError> {
    let c = &plan.config;
    let out = |n: &str| plan.outdir.join(n);
    let bins = (c.regions.bin, c.regions.step());
    let lags = stage_lags(plan);
    let (tee, sources) = Tee::new(&lags.iter().map(|&(_, lag)| lag).collect::<Vec<_>>());
    let bytes = Counter::new("input");
    let total = plan.read_total;
    let counters: Vec<_> = lags.iter().map(|&(n, _)| Counter::new(n)).collect();
    let mut sources: Vec<_> = sources.into_iter().collect();
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
    let scores_paths = (out(layout::MOTIF_SCORES_NPY), out(layout::MOTIF_SCORES_TSV));
    // The reader and the encoder run at normal priority, the encoder on the run's
    // workers. Each motif stage computes on pools of its own (`StagePools`: idle
    // priority until the encoder is done, then normal), so no worker of one stage ever
    // blocks on another stage's channel. (The scanner's driver reads its next chunk
    // inside rayon::join: in a shared pool a worker waiting for the encoder's tasks
    // could steal that read and block the encoder behind the reader, a deadlock. It
    // keeps one worker waiting for input, so it needs two.)
    let encoder_done = AtomicBool::new(plan.encoder.is_none());
    let threads = plan.workers.count();
    let pool_err = |e: rayon::ThreadPoolBuildError| WorkflowError::Config(format!("threads: {e}"));
    let scan_pools = StagePools::new("scan", threads.max(2), &encoder_done).map_err(pool_err)?;
    let scores_pools = StagePools::new("scores", threads, &encoder_done).map_err(pool_err)?;
    // Tee::new gave exactly one source per stage, in `lags` order.
    let mut sources = sources.into_iter();
    let embed_src = plan
        .encoder
        .as_ref()
        .and_then(|e| Some((e, sources.next()?)));
    let scanner = plan.motifs.as_ref().map(|m| &m.scanner);
    let scan_src = scanner
        .filter(|_| plan.wants_scan())
        .and_then(|sc| Some((sc, sources.next()?)));
    let scores_src = scanner
        .filter(|_| plan.wants_scores())
        .and_then(|sc| Some((sc, sources.next()?)));
    let sharding = plan.sharding;
    let result = std::thread::scope(|s| {
        let reader =
            s.spawn(|| stages::read(&c.inputs, plan.restrict.as_deref(), sharding, tee, bytes));
        let embed = embed_src.map(|(enc, src)| {
            let (stream, p, done) = (&stream, &emb_path, &encoder_done);
            s.spawn(move || {
                let r = plan
                    .workers
                    .install(|| stages::embed(enc, stream, pooling, bins, sharding, p, src));
                done.store(true, Ordering::Release);
                r
            })
        });
        let scan = scan_src.map(|(sc, src)| {
            let pools = &scan_pools;
            s.spawn(move || scan_with_hits(plan, sc, pools, src))
        });
        let scores = scores_src.map(|(sc, src)| {
            let pools = &scores_pools;
            let paths = (scores_paths.0.as_path(), scores_paths.1.as_path());
            let settings = c.motifs.region_settings();
            s.spawn(move || stages::scores(sc, &settings, bins, sharding, paths, pools, src))
        });
        let reader = join(reader, "read");
        let embed = embed.map(|h| join(h, "embed")).transpose();
        let scan = scan.map(|h| join(h, "scan")).transpose();
        let scores = scores.map(|h| join(h, "scores")).transpose();
        (reader, embed, scan, scores)
    });
    progress.finish();
    let (read, embed, scan, scores) = result;
    Ok(StageResults {
        read: read?,
        embed: embed?,
        scan: scan?,
        scores: scores?,
    })
}

/// The scan stage on its pools, then its hits step: q-values and the three hit files.
fn scan_with_hits(
    plan: &Plan,
    scanner: &Scanner,
    pools: &StagePools,
    src: ChannelSource,
) -> Result<ScanFiles, WorkflowError> {
    let c = &plan.config;
    let scanned =
        pools.install(|| stages::scan(scanner, c.motifs.chunk_size, plan.sharding, src))?;
    let (tw, cpu) = (Instant::now(), pools.cpu());
    let names: Vec<&str> = scanned.names.iter().map(String::as_str).collect();
    let label = plan.motifs.as_ref().map_or("", |m| m.label.as_str());
    let files = pools.install(|| {
        write_scan_outputs(
            scanner,
            label,
            scanned.tallies,
            &names,
            c.motifs.qv_thresh,
            &plan.outdir,
        )
    })?;
    let hits = stages::timing("hits", tw, Duration::ZERO, 0, pools.cpu() - cpu);
    Ok(ScanFiles {
        files,
        timings: [scanned.timing, hits],
    })
}

/// The pooler must have made one row per owned bin.
fn check_embedding_rows(plan: &Plan, results: &StageResults) -> Result<(), WorkflowError> {
    let Some(embedded) = &results.embed else {
        return Ok(());
    };
    let expected = plan.owned_regions(&results.read.records);
    if embedded.rows != expected {
        return Err(WorkflowError::Model(format!(
            "{}: the pooler produced {} rows for {expected} regions",
            plan.outdir.join(layout::EMBEDDINGS).display(),
            embedded.rows,
        )));
    }
    Ok(())
}

/// Every stage succeeded: writes records.tsv and regions.bed, renames every stage's
/// outputs into place in manifest order, and adds the write step's timing.
fn commit_outputs(
    plan: &Plan,
    results: StageResults,
    (tw, cpu): (Instant, CpuClock),
) -> Result<Executed, WorkflowError> {
    let records = results.read.records;
    let mut timings = vec![results.read.timing];
    let bins = (plan.config.regions.bin, plan.config.regions.step());
    let mut outputs =
        layout::write_record_tables(&plan.outdir, &records, plan.sharding, bins)?.to_vec();
    if let Some(e) = results.embed {
        outputs.push(e.npy.commit()?);
        timings.push(e.timing);
    }
    if let Some(scan) = results.scan {
        for f in scan.files {
            outputs.push(f.commit()?);
        }
        timings.extend(scan.timings);
    }
    if let Some(sc) = results.scores {
        outputs.push(sc.npy.commit()?);
        outputs.push(sc.tsv.commit()?);
        timings.push(sc.timing);
    }
    timings.push(stages::timing(
        "write",
        tw,
        Duration::ZERO,
        0,
        cpu.elapsed(),
    ));
    Ok(Executed {
        records,
        timings,
        outputs,
    })
}

/// Joins the thread of `stage`, turning a panic into an error naming the stage.
fn join<T>(
    h: std::thread::ScopedJoinHandle<'_, Result<T, WorkflowError>>,
    stage: &'static str,
) -> Result<T, WorkflowError> {
    h.join()
        .unwrap_or_else(|_| Err(WorkflowError::StagePanic(stage)))
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
        t.sort_by_position();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A bf16 request that ran in f32 is stated in the manifest; a precision that ran as
    /// asked is not.
    #[test]
    fn the_manifest_notes_a_precision_fallback() {
        let note = precision_note(Precision::Bf16, Precision::F32).unwrap();
        assert!(
            note.contains("\"bf16\"") && note.ends_with("ran in f32"),
            "{note}"
        );
        assert_eq!(precision_note(Precision::Bf16, Precision::Bf16), None);
        assert_eq!(precision_note(Precision::F32, Precision::F32), None);
    }
}

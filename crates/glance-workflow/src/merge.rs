//! `glance merge`: gathers the output directories of `glance run --shard I/N` (all N of
//! them) into exactly what one unsharded run writes. Rows are regrouped in record and
//! position order (each bin lives in the shard that owns its first base, see
//! [`crate::sharding`]), and hits get q-values recomputed from every shard's tallies
//! with glance-motif's own `Scanner::finish`. Tracks asked for by the configuration
//! and report.html are made from the merged tables, as one run makes them
//! ([`crate::tracks`], [`crate::report`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use glance_seq::bins;

use crate::config::{Config, Shard};
use crate::cputime::CpuClock;
use crate::error::WorkflowError;
use crate::layout::{self, add_tallies, read_records, read_tallies, RecordInfo};
use crate::manifest::{Manifest, StageTiming, MANIFEST};
use crate::report::{write_report, ReportInput};
use crate::resolve::MotifSet;
use crate::sharding::Sharding;
use crate::tracks::{self, RunTables};
use crate::variant_stage::merge_variants;
use glance_io::{AtomicFile, FileEntry, NpyInfo, NpyWriter};

fn merr(m: String) -> WorkflowError {
    WorkflowError::Merge(m)
}

/// One shard's directory, manifest and configuration.
struct ShardDir {
    dir: PathBuf,
    manifest: Manifest,
    shard: Shard,
}

/// Reads and checks the shards: complete, same configuration and inputs, and every
/// shard 1..=N present once. Returns them ordered by shard index.
fn load_shards(dirs: &[PathBuf]) -> Result<(Vec<ShardDir>, Config), WorkflowError> {
    let mut shards = Vec::new();
    for dir in dirs {
        let manifest = Manifest::read(dir)?.ok_or_else(|| {
            merr(format!(
                "{}: no {MANIFEST}: the shard is missing or its run did not finish",
                dir.display()
            ))
        })?;
        if manifest.command != "run" {
            return Err(merr(format!(
                "{}: not the output of `glance run`",
                dir.display()
            )));
        }
        manifest.verify_outputs(dir).map_err(merr)?;
        let config: Config = serde_json::from_value(manifest.config.clone())
            .map_err(|e| merr(format!("{}/{MANIFEST}: config: {e}", dir.display())))?;
        let shard = config.shard.unwrap_or(Shard::WHOLE);
        shards.push(ShardDir {
            dir: dir.clone(),
            manifest,
            shard,
        });
    }
    let first = shards
        .first()
        .ok_or_else(|| merr("no shard directories given".into()))?;
    let n = first.shard.count;
    let mut base: Config =
        serde_json::from_value(first.manifest.config.clone()).map_err(|e| merr(e.to_string()))?;
    base.shard = None;
    base.outdir = None;
    for s in &shards {
        let mut c: Config =
            serde_json::from_value(s.manifest.config.clone()).map_err(|e| merr(e.to_string()))?;
        c.shard = None;
        c.outdir = None;
        if c != base {
            return Err(merr(format!(
                "{}: its configuration differs from {}'s",
                s.dir.display(),
                first.dir.display()
            )));
        }
        if s.manifest.inputs != first.manifest.inputs {
            return Err(merr(format!(
                "{}: its inputs differ from {}'s",
                s.dir.display(),
                first.dir.display()
            )));
        }
        if s.shard.count != n {
            return Err(merr(format!(
                "{}: shard {} of a {n}-shard run",
                s.dir.display(),
                s.shard
            )));
        }
    }
    shards.sort_by_key(|s| s.shard.index);
    if let Some(w) = shards
        .windows(2)
        .find(|w| w[0].shard.index == w[1].shard.index)
    {
        return Err(merr(format!(
            "shard {} is given twice ({} and {})",
            w[0].shard,
            w[0].dir.display(),
            w[1].dir.display()
        )));
    }
    if let Some(k) = (1..=n).find(|k| !shards.iter().any(|s| s.shard.index == *k)) {
        return Err(merr(format!("shard {k}/{n} is missing")));
    }
    Ok((shards, base))
}

/// Merges `dirs` into `outdir`; returns the merged manifest.
pub fn merge(dirs: &[PathBuf], outdir: &Path, quiet: bool) -> Result<Manifest, WorkflowError> {
    let (t0, cpu) = (Instant::now(), CpuClock::pool());
    let (shards, mut config) = load_shards(dirs)?;
    config.outdir = Some(outdir.to_path_buf());
    std::fs::create_dir_all(outdir).map_err(|e| WorkflowError::output(outdir, e))?;
    layout::clear_outputs(outdir)?;
    let records = merged_records(&shards)?;
    let bins = (config.regions.bin, config.regions.step());
    check_region_count(&shards, &records, bins.1)?;
    // Manifest entries of the outputs, in the order written.
    let whole = Sharding {
        shard: Shard::WHOLE,
        span: 0,
    };
    let mut outputs = layout::write_record_tables(outdir, &records, whole, bins)?.to_vec();
    outputs.extend(merge_region_outputs(&shards, &records, &config, outdir)?);
    let wants_hits = every_shard_has(&shards, layout::HITS);
    let wants_tracks = config.outputs.tracks || config.outputs.bedgraph;
    let wants_views = wants_tracks || config.outputs.report;
    let motifs = if wants_hits || wants_views {
        Some(MotifSet::load(&config.motifs, false)?)
    } else {
        None
    };
    if let (true, Some(m)) = (wants_hits, &motifs) {
        outputs.extend(merge_hits(&shards, &records, &config, m, outdir)?);
    }
    if config.variants.vcf.is_some() {
        let dirs: Vec<&Path> = shards.iter().map(|s| s.dir.as_path()).collect();
        outputs.extend(merge_variants(&dirs, outdir)?);
    }
    let mut tables = None;
    if wants_views {
        let ids = motifs
            .as_ref()
            .map(|m| tracks::motif_ids(&m.scanner))
            .unwrap_or_default();
        let loaded = RunTables::load(outdir, &config, ids)?;
        for f in loaded.write_tracks(outdir, &config)? {
            outputs.push(f.commit()?);
        }
        tables = Some(loaded);
    }
    let wall = t0.elapsed().as_secs_f64();
    let mut manifest = Manifest {
        glance_version: env!("CARGO_PKG_VERSION").to_string(),
        command: "merge".into(),
        config: serde_json::to_value(&config).map_err(|e| merr(e.to_string()))?,
        inputs: shards[0].manifest.inputs.clone(),
        outputs,
        records: records.len() as u64,
        bases: records.iter().map(|r| r.length).sum(),
        regions: records
            .iter()
            .map(|r| bins_of(r, bins).count() as u64)
            .sum(),
        wall_s: wall,
        stages: vec![StageTiming {
            stage: "merge".into(),
            busy_s: wall,
            wall_s: wall,
            cpu_s: cpu.elapsed().as_secs_f64(),
            bases: 0,
            bases_per_s: 0.0,
        }],
        notes: shards[0].manifest.notes.clone(),
        shards: shards.iter().map(|s| s.dir.clone()).collect(),
    };
    if let (true, Some(tables)) = (config.outputs.report, &tables) {
        let mut stages: Vec<(String, Vec<StageTiming>)> = shards
            .iter()
            .map(|s| {
                let label = format!("shard {} ({})", s.shard, s.dir.display());
                (label, s.manifest.stages.clone())
            })
            .collect();
        stages.push(("glance merge".to_string(), manifest.stages.clone()));
        let input = ReportInput {
            manifest: &manifest,
            config: &config,
            stages,
            scanner: motifs.as_ref().map(|m| &m.scanner),
        };
        let entry = write_report(outdir, tables, &input)?;
        manifest.outputs.push(entry);
    }
    manifest.write(outdir)?;
    if !quiet {
        log::info!(
            "glance merge: {} shards, {} records, {} regions -> {}",
            shards.len(),
            manifest.records,
            manifest.regions,
            outdir.display()
        );
    }
    Ok(manifest)
}

/// The bins of a record (every one: the merged output owns them all).
fn bins_of(r: &RecordInfo, (size, step): (u64, u64)) -> impl Iterator<Item = (u64, u64)> {
    bins(r.length, size, step)
}

/// The records of the run: records.tsv is the same in every shard but for `owned`;
/// the merged output owns them all.
fn merged_records(shards: &[ShardDir]) -> Result<Vec<RecordInfo>, WorkflowError> {
    let mut records = read_records(&shards[0].dir.join(layout::RECORDS))?;
    for s in &shards[1..] {
        let other = read_records(&s.dir.join(layout::RECORDS))?;
        let same = other.len() == records.len()
            && other
                .iter()
                .zip(&records)
                .all(|(a, b)| (a.index, &a.name, a.length) == (b.index, &b.name, b.length));
        if !same {
            return Err(merr(format!(
                "{}: records.tsv differs from shard 1's",
                s.dir.display()
            )));
        }
    }
    for r in &mut records {
        r.owned = true;
    }
    Ok(records)
}

/// Gathers the per-region outputs every shard holds (embeddings.npy,
/// motif_scores.npy, motif_scores.tsv) row by row in output order; returns their
/// manifest entries.
fn merge_region_outputs(
    shards: &[ShardDir],
    records: &[RecordInfo],
    config: &Config,
    outdir: &Path,
) -> Result<Vec<FileEntry>, WorkflowError> {
    let bins = (config.regions.bin, config.regions.step());
    let sharding = Sharding {
        shard: Shard {
            index: 1,
            count: shards.len(),
        },
        span: config.shard_span,
    };
    // The 0-based shard holding each row, in output order.
    let owners = |r: &RecordInfo| {
        let index = r.index;
        bins_of(r, bins)
            .map(move |(a, _)| sharding.owner(index, a))
            .collect::<Vec<_>>()
    };
    let measured = |name: &str| FileEntry::of(&outdir.join(name), name.to_string());
    let mut outputs = Vec::new();
    for name in [layout::EMBEDDINGS, layout::MOTIF_SCORES_NPY] {
        if every_shard_has(shards, name) {
            merge_npy(shards, records, &owners, name, &outdir.join(name))?;
            outputs.push(measured(name)?);
        }
    }
    if every_shard_has(shards, layout::MOTIF_SCORES_TSV) {
        let path = outdir.join(layout::MOTIF_SCORES_TSV);
        merge_lines(shards, records, &owners, &path)?;
        outputs.push(measured(layout::MOTIF_SCORES_TSV)?);
    }
    Ok(outputs)
}

/// Recomputes hits.tsv from every shard's tallies (q-values need every test of the
/// run) with the run's `motifs`, with scan_tallies.tsv and scan_hits.tsv for the whole
/// run; returns their manifest entries.
fn merge_hits(
    shards: &[ShardDir],
    records: &[RecordInfo],
    config: &Config,
    motifs: &MotifSet,
    outdir: &Path,
) -> Result<Vec<FileEntry>, WorkflowError> {
    let MotifSet { scanner, label } = motifs;
    let mut tallies = scanner.new_tallies();
    for s in shards {
        add_tallies(&mut tallies, read_tallies(&s.dir, scanner)?);
    }
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    let files = crate::pipeline::write_scan_outputs(
        scanner,
        label,
        tallies,
        &names,
        config.motifs.qv_thresh,
        outdir,
    )?;
    files.into_iter().map(|f| Ok(f.commit()?)).collect()
}

/// Whether every shard wrote output `name`.
fn every_shard_has(shards: &[ShardDir], name: &str) -> bool {
    shards
        .iter()
        .all(|s| s.manifest.outputs.iter().any(|o| o.path == name))
}

/// The 0-based shard holding each row of a record, in output order.
type Owners<'a> = dyn Fn(&RecordInfo) -> Vec<usize> + 'a;

/// Checks that records.tsv's lengths give as many regions as the shards' regions.bed
/// files hold together, before anything iterates over them: a shard directory whose
/// records.tsv claims absurd lengths (with checksums to match) fails here instead of
/// making the merge loop or allocate for ever. The count per record is closed-form.
fn check_region_count(
    shards: &[ShardDir],
    records: &[RecordInfo],
    step: u64,
) -> Result<(), WorkflowError> {
    let claimed = records.iter().try_fold(0u64, |acc, r| {
        acc.checked_add(r.length.div_ceil(step.max(1)))
    });
    let mut held = 0u64;
    for s in shards {
        let p = s.dir.join(layout::REGIONS);
        let mut r =
            BufReader::new(File::open(&p).map_err(|e| merr(format!("{}: {e}", p.display())))?);
        loop {
            let buf = r
                .fill_buf()
                .map_err(|e| merr(format!("{}: {e}", p.display())))?;
            if buf.is_empty() {
                break;
            }
            held += memchr_count(buf);
            let n = buf.len();
            r.consume(n);
        }
    }
    if claimed != Some(held) {
        return Err(merr(format!(
            "{}: its lengths give {} regions but the shards' {} hold {held}: a shard is damaged",
            shards
                .first()
                .map_or_else(PathBuf::new, |s| s.dir.join(layout::RECORDS))
                .display(),
            claimed.map_or_else(|| "more than 2^64".to_string(), |c| c.to_string()),
            layout::REGIONS
        )));
    }
    Ok(())
}

/// Number of `\n` bytes in `buf`.
fn memchr_count(buf: &[u8]) -> u64 {
    buf.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Interleaves the rows of an .npy output in record and position order.
fn merge_npy(
    shards: &[ShardDir],
    records: &[RecordInfo],
    owners: &Owners,
    name: &str,
    out: &Path,
) -> Result<(), WorkflowError> {
    let mut per_shard = Vec::new();
    let mut inner = None;
    for s in shards {
        let p = s.dir.join(name);
        let info = NpyInfo::read(&p)?;
        if inner.as_ref().is_some_and(|i| *i != info.inner) {
            return Err(merr(format!(
                "{}: shape differs from shard 1's",
                p.display()
            )));
        }
        inner = Some(info.inner.clone());
        let mut f = File::open(&p).map_err(|e| merr(format!("{}: {e}", p.display())))?;
        f.seek(SeekFrom::Start(info.data_offset))
            .map_err(|e| merr(format!("{}: {e}", p.display())))?;
        per_shard.push((BufReader::with_capacity(1 << 20, f), info, p));
    }
    let inner = inner.unwrap_or_default();
    let mut w = NpyWriter::create(out, &inner)?;
    let mut buf = Vec::new();
    for r in records {
        for owner in owners(r) {
            let (reader, info, p) = &mut per_shard[owner];
            buf.resize(info.row_bytes(), 0);
            reader.read_exact(&mut buf).map_err(|e| {
                merr(format!(
                    "{}: fewer rows than its records need: {e}",
                    p.display()
                ))
            })?;
            w.raw_rows(&buf, 1)?;
        }
    }
    Ok(w.commit()?)
}

/// Interleaves motif_scores.tsv (a header, then one line per region and motif).
fn merge_lines(
    shards: &[ShardDir],
    records: &[RecordInfo],
    owners: &Owners,
    out: &Path,
) -> Result<(), WorkflowError> {
    let mut readers = Vec::new();
    let mut header = String::new();
    for s in shards {
        let p = s.dir.join(layout::MOTIF_SCORES_TSV);
        let f = File::open(&p).map_err(|e| merr(format!("{}: {e}", p.display())))?;
        let mut r = BufReader::with_capacity(1 << 20, f);
        header.clear();
        r.read_line(&mut header)
            .map_err(|e| merr(format!("{}: {e}", p.display())))?;
        readers.push((r, p));
    }
    let motifs = motif_count(&shards[0].dir)?;
    let mut file = AtomicFile::create(out)?;
    {
        let mut w = file.writer();
        let io = |e| WorkflowError::output(out, e);
        w.write_all(header.as_bytes()).map_err(io)?;
        let mut line = String::new();
        for r in records {
            for owner in owners(r) {
                let (reader, p) = &mut readers[owner];
                for _ in 0..motifs {
                    line.clear();
                    let got = reader
                        .read_line(&mut line)
                        .map_err(|e| merr(format!("{}: {e}", p.display())))?;
                    if got == 0 {
                        return Err(merr(format!(
                            "{}: fewer lines than its records need",
                            p.display()
                        )));
                    }
                    w.write_all(line.as_bytes()).map_err(io)?;
                }
            }
        }
        w.flush().map_err(io)?;
    }
    Ok(file.commit()?)
}

/// Number of motifs of a run (the motif_scores.npy inner dimension).
fn motif_count(dir: &Path) -> Result<u64, WorkflowError> {
    let info = NpyInfo::read(&dir.join(layout::MOTIF_SCORES_NPY))?;
    Ok(info.inner.first().copied().unwrap_or(0) as u64)
}

//! Parity with FIMO (MEME suite C code through pymemesuite; fixtures made by
//! scripts/fimo_fixtures.py): the same hit set, scores equal at FIMO's printed precision,
//! p-values equal at 3 significant digits (1 in the last digit allowed), q-values
//! within 1% of the median of FIMO's q-values over repeated runs in one process; with
//! FIMO's own pi0 replayed (`FimoPi0`), q-values equal those of one FIMO run in a fresh
//! process (fixtures made by scripts/fimo_fresh_qvalues.py).

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Read;

use crate::common::data;
use glance_motif::numfmt::format_g;
use glance_motif::scan::driver::ScanRun;
use glance_motif::scan::fimo_pi0::FimoPi0;
use glance_motif::{
    parse_background_file, parse_motifs, BackgroundSource, Motif, MotifFormat, ScanOptions, Scanner,
};
use glance_seq::SeqReader;

fn motifs(set: &str) -> Vec<Motif> {
    match set {
        "subset10" => {
            let text = std::fs::read_to_string(data("motifs/subset10.meme")).unwrap();
            parse_motifs(&text, MotifFormat::Meme, "x").unwrap().motifs
        }
        _ => {
            let all = glance_motif::bundled::jaspar().unwrap().motifs;
            let ids = std::fs::read_to_string(data("fimo/jaspar100.ids")).unwrap();
            ids.lines()
                .map(|id| all.iter().find(|m| m.id == id).unwrap().clone())
                .collect()
        }
    }
}

struct Row {
    score: String,
    p: String,
    q_median: f64,
    q_min: f64,
    q_max: f64,
    matched: String,
}

fn fixture(tag: &str) -> HashMap<(String, String, u64, u64, String), Row> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(data(&format!("fimo/{tag}.tsv.gz"))).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        out.insert(
            (
                f[0].to_string(),
                f[2].to_string(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
                f[5].to_string(),
            ),
            Row {
                score: f[6].to_string(),
                p: f[7].to_string(),
                q_median: f[12].parse().unwrap(),
                q_min: f[13].parse().unwrap(),
                q_max: f[14].parse().unwrap(),
                matched: f[9].to_string(),
            },
        );
    }
    out
}

/// Two `%.3g` strings equal, or one unit apart in the last printed digit.
fn pvalue_close(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (x, y): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
    let ulp = 10f64.powf(x.abs().log10().floor() - 2.0);
    (x - y).abs() <= ulp * 1.0001
}

fn check(tag: &str, seqs: &str, set: &str, bg: BackgroundSource) {
    let motifs = motifs(set);
    let bg = bg.resolve(true).unwrap();
    let scanner = Scanner::new(&motifs, bg, ScanOptions::default()).unwrap();
    let reader = SeqReader::open(data(seqs)).unwrap();
    let mut run = ScanRun::new(&scanner, 1 << 16);
    run.scan_source(&scanner, reader).unwrap();
    let names = run.names.clone();
    // FIMO's own pi0: a second pass with another chunk size
    let mut plan = FimoPi0::plan(&scanner, &run.tallies);
    plan.collect(&scanner, SeqReader::open(data(seqs)).unwrap(), 1 << 15)
        .unwrap();
    let pi0 = plan.pi0s().unwrap();
    let fimo_hits = scanner.finish_with_pi0(run.tallies.clone(), false, Some(&pi0));
    check_fresh(tag, &fimo_hits, &motifs, &names);
    let hits = scanner.finish(run.tallies, false);
    let fresh = fresh_fixture(tag);
    let own_vs_fresh = hits
        .iter()
        .map(|h| {
            let key = (
                motifs[h.motif as usize].id.clone(),
                names[h.record as usize].clone(),
                h.start,
                if h.reverse { "-" } else { "+" }.to_string(),
            );
            (h.qvalue - fresh[&key]).abs() / fresh[&key]
        })
        .fold(0.0, f64::max);
    let want = fixture(tag);
    let mut worst_q: f64 = 0.0;
    let mut p_last_digit = 0;
    let mut seen = 0;
    for h in &hits {
        let m = &motifs[h.motif as usize];
        let key = (
            m.id.clone(),
            names[h.record as usize].clone(),
            h.start,
            h.stop,
            if h.reverse { "-" } else { "+" }.to_string(),
        );
        let row = want
            .get(&key)
            .unwrap_or_else(|| panic!("{tag}: glance hit not in FIMO's: {key:?}"));
        seen += 1;
        assert_eq!(format_g(h.score, 6), row.score, "{tag} {key:?} score");
        let p = format_g(h.pvalue, 3);
        assert!(pvalue_close(&p, &row.p), "{tag} {key:?} p {p} vs {}", row.p);
        if p != row.p {
            p_last_digit += 1;
        }
        assert_eq!(
            String::from_utf8_lossy(&h.matched),
            row.matched,
            "{tag} {key:?}"
        );
        let rel = (h.qvalue - row.q_median).abs() / row.q_median;
        let in_range = h.qvalue >= row.q_min * 0.99 && h.qvalue <= row.q_max * 1.01;
        assert!(
            rel <= 0.01 || in_range,
            "{tag} {key:?} q {} vs FIMO median {} (runs {}..{})",
            h.qvalue,
            row.q_median,
            row.q_min,
            row.q_max
        );
        worst_q = worst_q.max(rel);
    }
    assert_eq!(seen, want.len(), "{tag}: FIMO hits missing from glance's");
    eprintln!(
        "{tag}: {seen} hits identical; p-values differing in the 3rd digit: {p_last_digit}; worst q-value deviation from FIMO's median {:.3}%, from one fresh FIMO run {:.3}%",
        worst_q * 100.0,
        own_vs_fresh * 100.0
    );
}

/// q-values of one FIMO run in a fresh process, keyed by motif, sequence, start, strand.
fn fresh_fixture(tag: &str) -> HashMap<(String, String, u64, String), f64> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(data(&format!("fimo/{tag}.fresh.tsv.gz"))).unwrap(),
    )
    .read_to_string(&mut text)
    .unwrap();
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let key = (
            f[0].to_string(),
            f[1].to_string(),
            f[2].parse().unwrap(),
            f[3].to_string(),
        );
        out.insert(key, f[4].parse().unwrap());
    }
    out
}

/// With FIMO's pi0 replayed, every q-value equals the fresh FIMO run's: the same `%.3g`
/// text and within 1e-9 relative (the remaining difference is glance's p-value, equal to
/// FIMO's up to the last bits of its 10-digit rounding).
fn check_fresh(tag: &str, hits: &[glance_motif::Hit], motifs: &[Motif], names: &[String]) {
    let want = fresh_fixture(tag);
    assert_eq!(hits.len(), want.len(), "{tag}: hit count");
    let mut worst: f64 = 0.0;
    for h in hits {
        let key = (
            motifs[h.motif as usize].id.clone(),
            names[h.record as usize].clone(),
            h.start,
            if h.reverse { "-" } else { "+" }.to_string(),
        );
        let q = *want
            .get(&key)
            .unwrap_or_else(|| panic!("{tag}: {key:?} not in the fresh FIMO run"));
        let rel = (h.qvalue - q).abs() / q;
        worst = worst.max(rel);
        assert_eq!(format_g(h.qvalue, 3), format_g(q, 3), "{tag} {key:?} q");
        assert!(rel <= 1e-9, "{tag} {key:?} q {} vs FIMO {q}", h.qvalue);
    }
    eprintln!("{tag}: FIMO pi0 replayed: q-values equal a fresh FIMO run's (worst relative difference {worst:.1e})");
}

fn bfile() -> BackgroundSource {
    let text = std::fs::read_to_string(data("fimo/asymmetric.bg")).unwrap();
    BackgroundSource::Frequencies(parse_background_file(&text).unwrap())
}

#[test]
fn real_subset10_nrdb() {
    check(
        "real_subset10_nrdb",
        "Kp1084_200kb.fa.gz",
        "subset10",
        BackgroundSource::Nrdb,
    );
}

#[test]
fn real_subset10_uniform() {
    check(
        "real_subset10_uniform",
        "Kp1084_200kb.fa.gz",
        "subset10",
        BackgroundSource::Uniform,
    );
}

#[test]
fn real_subset10_file() {
    check(
        "real_subset10_file",
        "Kp1084_200kb.fa.gz",
        "subset10",
        bfile(),
    );
}

#[test]
fn real_jaspar100_nrdb() {
    check(
        "real_jaspar100_nrdb",
        "Kp1084_200kb.fa.gz",
        "jaspar100",
        BackgroundSource::Nrdb,
    );
}

#[test]
fn synthetic_subset10_nrdb() {
    check(
        "synthetic_subset10_nrdb",
        "fimo/synthetic.fa",
        "subset10",
        BackgroundSource::Nrdb,
    );
}

#[test]
fn synthetic_jaspar100_uniform() {
    check(
        "synthetic_jaspar100_uniform",
        "fimo/synthetic.fa",
        "jaspar100",
        BackgroundSource::Uniform,
    );
}

#[test]
fn synthetic_jaspar100_file() {
    check(
        "synthetic_jaspar100_file",
        "fimo/synthetic.fa",
        "jaspar100",
        bfile(),
    );
}

#[test]
fn real_subset10_nrdb_norc_fimo_pi0() {
    // FIMO --norc feeds one test per window: the replay must follow
    let motifs = motifs("subset10");
    let bg = BackgroundSource::Nrdb.resolve(true).unwrap();
    let options = ScanOptions {
        both_strands: false,
        ..ScanOptions::default()
    };
    let scanner = Scanner::new(&motifs, bg, options).unwrap();
    let open = || SeqReader::open(data("Kp1084_200kb.fa.gz")).unwrap();
    let mut run = ScanRun::new(&scanner, 1 << 17);
    run.scan_source(&scanner, open()).unwrap();
    let mut plan = FimoPi0::plan(&scanner, &run.tallies);
    plan.collect(&scanner, open(), 1 << 20).unwrap();
    let pi0 = plan.pi0s().unwrap();
    let hits = scanner.finish_with_pi0(run.tallies, false, Some(&pi0));
    check_fresh("real_subset10_nrdb_norc", &hits, &motifs, &run.names);
}

#[test]
fn allhits_subset3_nrdb_fimo_pi0() {
    // --thresh 1: every test is a hit and FIMO estimates pi0 from the hits themselves
    let motifs: Vec<Motif> = motifs("subset10").into_iter().take(3).collect();
    let bg = BackgroundSource::Nrdb.resolve(true).unwrap();
    let options = ScanOptions {
        thresh: 1.0,
        ..ScanOptions::default()
    };
    let scanner = Scanner::new(&motifs, bg, options).unwrap();
    let open = || SeqReader::open(data("fimo/allhits.fa")).unwrap();
    let mut run = ScanRun::new(&scanner, 1 << 7);
    run.scan_source(&scanner, open()).unwrap();
    assert!(run.tallies.iter().all(|t| t.tests == t.hits().len() as u64));
    let mut plan = FimoPi0::plan(&scanner, &run.tallies);
    assert!(!plan.needs_samples());
    plan.collect(&scanner, open(), 1 << 20).unwrap();
    let pi0 = plan.pi0s().unwrap();
    let hits = scanner.finish_with_pi0(run.tallies, false, Some(&pi0));
    check_fresh("allhits_subset3_nrdb", &hits, &motifs, &run.names);
}

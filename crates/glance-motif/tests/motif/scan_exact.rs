//! The fast scanner (SIMD prefilter + k-mer tables with lookahead, chunked streaming)
//! finds exactly the windows and integer scores of the plain column sum.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use glance_motif::pssm::Pssm;
use glance_motif::scan::driver::ScanRun;
use glance_motif::scan::prep::{base_code, Prepared};
use glance_motif::scan::tables::StrandTables;
use glance_motif::{BackgroundSource, Motif, ScanOptions, ScanTally, Scanner};
use glance_seq::SeqReader;
use proptest::prelude::*;

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

fn random_motif(id: usize, w: usize, seed: &mut u64) -> Motif {
    let probs = (0..w)
        .map(|_| {
            let mut r = [0.0; 4];
            let hot = (lcg(seed) % 4) as usize;
            for (k, v) in r.iter_mut().enumerate() {
                *v = (lcg(seed) % 100) as f64 + if k == hot { 400.0 } else { 1.0 };
            }
            let s: f64 = r.iter().sum();
            r.map(|v| v / s)
        })
        .collect();
    Motif {
        id: format!("M{id}"),
        alt_id: format!("alt{id}"),
        probs,
        nsites: Some(50.0 + id as f64),
        url: None,
    }
}

fn random_sequence(n: usize, seed: &mut u64) -> Vec<u8> {
    (0..n)
        .map(|i| {
            if (i / 97) % 13 == 5 {
                b'N'
            } else {
                let b = b"ACGTacgtACGTACGT"[(lcg(seed) % 16) as usize];
                if i % 1000 == 7 {
                    b'R'
                } else {
                    b
                }
            }
        })
        .collect()
}

/// FASTA text of `records`, named r0, r1, ..., each on one line.
fn fasta_of(records: &[Vec<u8>]) -> Vec<u8> {
    let mut fasta = Vec::new();
    for (i, s) in records.iter().enumerate() {
        fasta.extend_from_slice(format!(">r{i}\n").as_bytes());
        fasta.extend_from_slice(s);
        fasta.push(b'\n');
    }
    fasta
}

/// Every (record, 0-based start, strand, scaled score) at the threshold, by brute force.
fn brute(scanner: &Scanner, records: &[Vec<u8>]) -> Vec<(u32, u32, u64, bool, i32)> {
    let mut out = Vec::new();
    for (mi, m) in scanner.motifs().iter().enumerate() {
        let w = m.width();
        for (r, seq) in records.iter().enumerate() {
            let codes: Vec<u8> = seq.iter().map(|&b| base_code(b)).collect();
            if codes.len() < w {
                continue;
            }
            for i in 0..=codes.len() - w {
                for s in 0..m.strands.len() {
                    if let Some(v) = m.pssm(s).plain_score(&codes[i..i + w]) {
                        if v >= m.threshold {
                            out.push((mi as u32, r as u32, i as u64, s == 1, v));
                        }
                    }
                }
            }
        }
    }
    out.sort();
    out
}

fn fast(scanner: &Scanner, records: &[Vec<u8>], chunk: usize) -> Vec<(u32, u32, u64, bool, i32)> {
    let mut fasta = Vec::new();
    for (i, s) in records.iter().enumerate() {
        fasta.extend_from_slice(format!(">r{i}\n").as_bytes());
        for line in s.chunks(60) {
            fasta.extend_from_slice(line);
            fasta.push(b'\n');
        }
    }
    let reader = SeqReader::from_reader(std::io::Cursor::new(fasta)).unwrap();
    let mut run = ScanRun::new(scanner, chunk);
    run.scan_source(scanner, reader).unwrap();
    let mut out = Vec::new();
    for (mi, t) in run.tallies.iter().enumerate() {
        for h in t.hits() {
            out.push((mi as u32, h.record, h.start, h.reverse, h.scaled));
        }
    }
    out.sort();
    out
}

#[test]
fn fast_scan_equals_plain_column_sum_across_chunk_sizes() {
    let mut seed = 7;
    let motifs: Vec<Motif> = [1usize, 2, 4, 5, 6, 7, 9, 10, 11, 15, 21, 33]
        .iter()
        .enumerate()
        .map(|(i, &w)| random_motif(i, w, &mut seed))
        .collect();
    let records = vec![
        random_sequence(20_000, &mut seed),
        random_sequence(3, &mut seed),
        random_sequence(5_000, &mut seed),
    ];
    let bg = BackgroundSource::Nrdb.resolve(true).unwrap();
    for thresh in [5e-2, 1e-3, 1e-4] {
        let opts = ScanOptions {
            thresh,
            ..ScanOptions::default()
        };
        let scanner = Scanner::new(&motifs, bg, opts).unwrap();
        let want = brute(&scanner, &records);
        assert!(want.len() > 30, "too few hits to be a test: {}", want.len());
        for chunk in [1 << 20, 4096, 777, 40] {
            assert_eq!(
                fast(&scanner, &records, chunk),
                want,
                "chunk {chunk}, thresh {thresh}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn kmer_table_sum_equals_column_sum(
        w in 1usize..20,
        seed in any::<u64>(),
        seq in proptest::collection::vec(prop_oneof![Just(b'A'), Just(b'C'), Just(b'G'), Just(b't'), Just(b'N')], 40..120),
    ) {
        let mut s = seed;
        let m = random_motif(0, w, &mut s);
        let bg = [0.3, 0.2, 0.2, 0.3];
        let pssm = Pssm::build(&m.probs, &bg);
        let tables = StrandTables::new(&pssm.matrix, 0);
        let mut ks = vec![false; 6];
        for b in &tables.blocks { ks[b.k] = true; }
        let prep = Prepared::new(&seq, &ks, w);
        let codes: Vec<u8> = seq.iter().map(|&b| base_code(b)).collect();
        for i in 0..=seq.len().saturating_sub(w) {
            prop_assert_eq!(tables.score(&prep, i), pssm.plain_score(&codes[i..i + w]));
        }
    }
}

#[test]
fn hits_and_qvalues_do_not_depend_on_chunk_size_or_threads() {
    let mut seed = 11;
    let motifs: Vec<Motif> = [6usize, 8, 12, 19]
        .iter()
        .enumerate()
        .map(|(i, &w)| random_motif(i, w, &mut seed))
        .collect();
    let records = [
        random_sequence(30_000, &mut seed),
        random_sequence(7_000, &mut seed),
    ];
    let bg = BackgroundSource::Uniform.resolve(true).unwrap();
    let opts = ScanOptions {
        thresh: 1e-3,
        ..ScanOptions::default()
    };
    let scanner = Scanner::new(&motifs, bg, opts).unwrap();
    let run = |chunk: usize, threads: usize| {
        let fasta = fasta_of(&records);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let reader = SeqReader::from_reader(std::io::Cursor::new(fasta)).unwrap();
            let mut r = ScanRun::new(&scanner, chunk);
            r.scan_source(&scanner, reader).unwrap();
            scanner.finish(r.tallies, false)
        })
    };
    let a = run(1 << 20, 1);
    assert!(a.len() > 20);
    assert!(a.iter().all(|h| h.qvalue > 0.0 && h.qvalue <= 1.0));
    for (chunk, threads) in [(1000, 2), (4097, 3), (50, 2)] {
        let b = run(chunk, threads);
        assert_eq!(a, b, "chunk {chunk}, threads {threads}");
    }
}

#[test]
fn owned_parts_add_up_to_the_whole_run() {
    let mut seed = 11;
    let motifs: Vec<Motif> = [3usize, 8, 12, 19]
        .iter()
        .enumerate()
        .map(|(i, &w)| random_motif(i, w, &mut seed))
        .collect();
    let records = [
        random_sequence(9_000, &mut seed),
        random_sequence(40, &mut seed),
    ];
    let fasta = fasta_of(&records);
    let bg = BackgroundSource::Uniform.resolve(true).unwrap();
    let opts = ScanOptions {
        thresh: 1e-3,
        ..ScanOptions::default()
    };
    let scanner = Scanner::new(&motifs, bg, opts).unwrap();
    let reader = || SeqReader::from_reader(std::io::Cursor::new(fasta.clone())).unwrap();
    let mut whole = ScanRun::new(&scanner, 700);
    whole.scan_source(&scanner, reader()).unwrap();
    // window starts below `cut` of record 0 (none of record 1), then the rest: the
    // chunks past the cut are not owned by the first run and not prepared
    let cut = 2_345u64;
    let mut first = ScanRun::new(&scanner, 700);
    first
        .scan_owned(
            &scanner,
            reader(),
            |r, starts, out: &mut Vec<std::ops::Range<u64>>| {
                if r == 0 && starts.start < cut {
                    out.push(starts.start..starts.end.min(cut));
                }
            },
            |_, _| Ok(()),
        )
        .unwrap();
    let mut rest = ScanRun::new(&scanner, 700);
    rest.scan_owned(
        &scanner,
        reader(),
        |r, starts, out: &mut Vec<std::ops::Range<u64>>| {
            let from = if r == 0 {
                starts.start.max(cut)
            } else {
                starts.start
            };
            if from < starts.end {
                out.push(from..starts.end);
            }
        },
        |_, _| Ok(()),
    )
    .unwrap();
    for (m, w) in whole.tallies.iter().enumerate() {
        let (a, b) = (&first.tallies[m], &rest.tallies[m]);
        assert_eq!(w.tests, a.tests + b.tests, "motif {m}");
        assert_eq!(w.samples, a.samples + b.samples, "motif {m}");
        for (i, &v) in w.bins.iter().enumerate() {
            assert_eq!(v, a.bins[i] + b.bins[i], "motif {m} bin {i}");
        }
        // a run appends hits by record, start and strand, each with its bases
        let with_bases = |t: &ScanTally| -> Vec<_> {
            (0..t.hits().len())
                .map(|i| (t.hits()[i], t.matched(i).to_vec()))
                .collect()
        };
        let split: Vec<_> = with_bases(a).into_iter().chain(with_bases(b)).collect();
        let all = with_bases(w);
        assert!(all.is_sorted_by_key(|(h, _)| (h.record, h.start, h.reverse)));
        assert_eq!(all, split, "motif {m}");
    }
    assert!(whole.tallies.iter().map(|t| t.hits().len()).sum::<usize>() > 10);
}

#[test]
fn sparse_and_dense_pvalue_samples_give_the_same_tallies() {
    // 520 motifs: sampling base 1024, so past ~16,000 windows the stride (16) exceeds
    // the widest motif (8) and small chunks gather their samples, while one whole-input
    // chunk reads them in place
    let mut seed = 5;
    let motifs: Vec<Motif> = (0..520)
        .map(|i| random_motif(i, 4 + i % 5, &mut seed))
        .collect();
    let sequence = random_sequence(40_000, &mut seed);
    let mut fasta = b">r0\n".to_vec();
    fasta.extend_from_slice(&sequence);
    fasta.push(b'\n');
    let bg = BackgroundSource::Uniform.resolve(true).unwrap();
    let scanner = Scanner::new(&motifs, bg, ScanOptions::default()).unwrap();
    let run = |chunk: usize| {
        let reader = SeqReader::from_reader(std::io::Cursor::new(fasta.clone())).unwrap();
        let mut r = ScanRun::new(&scanner, chunk);
        r.scan_source(&scanner, reader).unwrap();
        r.tallies
    };
    let whole = run(1 << 20);
    let small = run(3_000);
    assert!(whole.iter().all(|t| t.samples > 0));
    for (m, (a, b)) in whole.iter().zip(&small).enumerate() {
        assert_eq!(
            (a.tests, a.samples, a.bins, a.hits().len()),
            (b.tests, b.samples, b.bins, b.hits().len()),
            "motif {m}"
        );
    }
}

/// The finished hits are in FIMO's order, by definition: sorted by (p-value, motif,
/// record, start, strand), each motif's q-values computed from its own p-values in that
/// order, and `qv_thresh` keeping exactly the hits whose q-value is within it. An
/// asymmetric background gives the strands their own p-value tables, so equal p-values
/// come from different strands and scores as well as from the same ones.
#[test]
fn finished_hits_follow_fimo_order_and_qvalues() {
    let mut seed = 23;
    let motifs: Vec<Motif> = [5usize, 7, 7, 10]
        .iter()
        .enumerate()
        .map(|(i, &w)| random_motif(i, w, &mut seed))
        .collect();
    let records = [
        random_sequence(20_000, &mut seed),
        random_sequence(9_000, &mut seed),
    ];
    for bg in [[0.25; 4], [0.3, 0.2, 0.2, 0.3], [0.35, 0.15, 0.3, 0.2]] {
        let opts = ScanOptions {
            thresh: 2e-3,
            ..ScanOptions::default()
        };
        let scanner = Scanner::new(&motifs, bg, opts.clone()).unwrap();
        let run = || {
            let mut r = ScanRun::new(&scanner, 3000);
            let fasta = fasta_of(&records);
            let reader = SeqReader::from_reader(std::io::Cursor::new(fasta)).unwrap();
            r.scan_source(&scanner, reader).unwrap();
            r.tallies
        };
        let tallies = run();
        let tests: Vec<u64> = tallies.iter().map(|t| t.tests).collect();
        // a pi0 that puts about half the q-values within the threshold
        let mut q1: Vec<f64> = scanner
            .finish_with_pi0(run(), false, Some(&vec![1.0; motifs.len()]))
            .iter()
            .map(|h| h.qvalue)
            .collect();
        q1.sort_by(f64::total_cmp);
        let pi0_each = opts.thresh / q1[q1.len() / 2];
        let pi0 = vec![pi0_each; motifs.len()];
        let all = scanner.finish_with_pi0(tallies, false, Some(&pi0));
        assert!(all.len() > 200, "{bg:?}: {} hits", all.len());
        let key = |h: &glance_motif::Hit| (h.motif, h.record, h.start, h.reverse);
        assert!(
            all.windows(2).all(|p| p[0].pvalue < p[1].pvalue
                || (p[0].pvalue == p[1].pvalue && key(&p[0]) < key(&p[1]))),
            "{bg:?}"
        );
        let mut ties = 0;
        for (mi, &m) in tests.iter().enumerate() {
            let mine: Vec<&glance_motif::Hit> =
                all.iter().filter(|h| h.motif == mi as u32).collect();
            ties += mine
                .windows(2)
                .filter(|p| p[0].pvalue == p[1].pvalue)
                .count();
            let mut q: Vec<f64> = mine.iter().map(|h| h.pvalue).collect();
            glance_motif::qvalue::qvalues_in_place(&mut q, pi0_each, m);
            let got: Vec<f64> = mine.iter().map(|h| h.qvalue).collect();
            assert_eq!(got, q, "{bg:?} motif {mi}");
        }
        assert!(ties > 50, "{bg:?}: {ties} ties");
        let kept = scanner.finish_with_pi0(run(), true, Some(&pi0));
        let want: Vec<&glance_motif::Hit> =
            all.iter().filter(|h| h.qvalue <= opts.thresh).collect();
        assert!(
            !want.is_empty() && want.len() < all.len(),
            "{bg:?}: {} of {}",
            want.len(),
            all.len()
        );
        assert_eq!(kept.iter().collect::<Vec<_>>(), want, "{bg:?}");
    }
}

//! `glance score` end to end: bins and BED regions, the three outputs in one row order,
//! the affinity's relation to the best score, the occupancy in the TSV and the .npy,
//! the old temperature's units, and bad options.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{big_fasta, check_progress_bar, data, glance, read_npy_scores};

#[test]
fn bins_write_tsv_npy_and_bed_in_one_order() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("s");
    glance()
        .arg("score")
        .arg(data("fimo/synthetic.fa"))
        .arg("--motifs")
        .arg(data("motifs/subset10.meme"))
        .args(["--bin", "5000", "--step", "2500", "-o"])
        .arg(&prefix)
        .assert()
        .success();
    let bed = std::fs::read_to_string(dir.path().join("s.bed")).unwrap();
    let regions: Vec<Vec<&str>> = bed.lines().map(|l| l.split('\t').collect()).collect();
    // synthetic_1 (30 kb): starts 0, 2500, ..., 27500 -> 12 bins; short_2: 1; all_N_3: 1;
    // tail_4 (3011 bp): 2
    assert_eq!(regions.len(), 12 + 1 + 1 + 2);
    assert_eq!(regions[0][..3], ["synthetic_1", "0", "5000"]);
    assert_eq!(regions[11][..3], ["synthetic_1", "27500", "30000"]);
    let (r, m, vals) = read_npy_scores(&dir.path().join("s.npy"));
    assert_eq!((r, m), (regions.len(), 10));
    let tsv = std::fs::read_to_string(dir.path().join("s.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = tsv
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), r * m);
    for (i, row) in rows.iter().enumerate() {
        let (ri, mi) = (i / m, i % m);
        assert_eq!(row[..3], regions[ri][..3]);
        let (v, occ) = (vals[(ri * m + mi) * 2], vals[(ri * m + mi) * 2 + 1]);
        if row[8] == "NA" {
            assert!(v.is_nan() && occ.is_nan());
            assert_eq!((row[5], row[10]), ("NA", "NA"));
        } else {
            let aff: f64 = row[8].parse().unwrap();
            let best: f64 = row[5].parse().unwrap();
            assert!((f64::from(v) - aff).abs() <= 1e-3 * aff.abs().max(1.0));
            // a soft maximum: at least the best window, at most best + tau log2(2n)
            let tau = glance::motif::region::DEFAULT_TAU;
            assert!(aff >= best - 1e-3, "{row:?}");
            assert!(
                aff <= best + tau * (2.0 * 5000.0f64).log2() + 1e-3,
                "{row:?}"
            );
            // expected bound sites: between 0 and the number of windows and strands
            let o: f64 = row[10].parse().unwrap();
            assert!((f64::from(occ) - o).abs() <= 1e-5 * o.max(1e-30), "{row:?}");
            assert!(o > 0.0 && o < 2.0 * 5000.0, "{row:?}");
            let pos: f64 = row[9].parse().unwrap();
            let (s, e): (f64, f64) = (row[1].parse().unwrap(), row[2].parse().unwrap());
            assert!(pos > s && pos <= e, "{row:?}");
        }
    }
    // the all-N sequence and the 10 bp one (narrower than every motif but one) give NA
    let all_n = rows.iter().find(|r| r[0] == "all_N_3").unwrap();
    assert_eq!(all_n[8], "NA");
}

#[test]
fn bed_regions_keep_file_order_and_missing_sequences_are_na() {
    let dir = tempfile::tempdir().unwrap();
    let bed_in = dir.path().join("r.bed");
    std::fs::write(
        &bed_in,
        "tail_4\t100\t600\nnot_there\t0\t100\nsynthetic_1\t1000\t3000\n",
    )
    .unwrap();
    let prefix = dir.path().join("r");
    glance()
        .arg("score")
        .arg(data("fimo/synthetic.fa"))
        .arg("--motifs")
        .arg(data("motifs/subset10.meme"))
        .arg("--regions")
        .arg(&bed_in)
        .args(["--tau", "0.5", "-o"])
        .arg(&prefix)
        .assert()
        .success();
    let bed = std::fs::read_to_string(dir.path().join("r.bed")).unwrap();
    let chroms: Vec<&str> = bed.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(chroms, ["tail_4", "not_there", "synthetic_1"]);
    let (r, m, vals) = read_npy_scores(&dir.path().join("r.npy"));
    assert_eq!((r, m), (3, 10));
    assert!(vals[20..40].iter().all(|v| v.is_nan()));
    assert!(vals[..20].iter().all(|v| v.is_finite()));
}

/// `--tau` in bits (the old default as `--tau 0.6931471805599453`; the library test
/// `natural_temperature_is_tau_times_ln2` checks the equivalence): the affinity grows
/// with the temperature; `--mu` and `--mu-pvalue` set the occupancy's potential, a
/// lower one binding more, and leave the other columns alone.
#[test]
fn old_tau_in_bits_and_mu_options() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let prefix = dir.path().join(name);
        glance()
            .arg("score")
            .arg(data("fimo/synthetic.fa"))
            .arg("--motifs")
            .arg(data("motifs/subset10.meme"))
            .args(["--bin", "5000", "-q"])
            .args(extra)
            .arg("-o")
            .arg(&prefix)
            .assert()
            .success();
        std::fs::read_to_string(prefix.with_extension("tsv")).unwrap()
    };
    let col = |tsv: &str, c: usize| -> Vec<String> {
        tsv.lines()
            .skip(1)
            .map(|l| l.split('\t').nth(c).unwrap().to_string())
            .collect()
    };
    let ln2 = run("ln2", &["--tau", "0.6931471805599453"]);
    let two = run("two", &["--tau", "2"]);
    // affinity in bits is monotone in tau (a log-sum-exp grows with its temperature
    // by at most tau log2(n)) and differs between the two
    let (a1, a2) = (col(&ln2, 8), col(&two, 8));
    assert_ne!(a1, a2);
    for (x, y) in a1.iter().zip(&a2) {
        if x != "NA" {
            assert!(y.parse::<f64>().unwrap() >= x.parse::<f64>().unwrap() - 1e-4);
        }
    }
    // a lower chemical potential binds more; mu from a p-value gives positive counts
    let (lo, hi) = (run("lo", &["--mu", "-2"]), run("hi", &["--mu", "12"]));
    let pv = run("pv", &["--mu-pvalue", "1e-3"]);
    for ((l, h), p) in col(&lo, 10).iter().zip(col(&hi, 10)).zip(col(&pv, 10)) {
        if l != "NA" {
            let (l, h, p): (f64, f64, f64) =
                (l.parse().unwrap(), h.parse().unwrap(), p.parse().unwrap());
            assert!(l > h, "{l} {h}");
            assert!(p > 0.0);
        }
    }
    // the other columns do not depend on mu
    assert_eq!(col(&lo, 8), col(&hi, 8));
}

#[test]
fn bad_options_fail() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("x");
    glance()
        .arg("score")
        .arg(data("fimo/synthetic.fa"))
        .args(["--tau", "0", "-o"])
        .arg(&prefix)
        .assert()
        .code(1);
    for bad in [
        &["--mu", "1e6"][..],
        &["--mu", "nan"],
        &["--mu-pvalue", "0"],
        &["--mu-pvalue", "2"],
    ] {
        glance()
            .arg("score")
            .arg(data("fimo/synthetic.fa"))
            .args(bad)
            .arg("-o")
            .arg(&prefix)
            .assert()
            .code(1);
    }
    // one way to set mu at a time
    glance()
        .arg("score")
        .arg(data("fimo/synthetic.fa"))
        .args(["--mu", "3", "--mu-pvalue", "1e-3", "-o"])
        .arg(&prefix)
        .assert()
        .code(2);
    glance()
        .arg("score")
        .arg(data("fimo/synthetic.fa"))
        .args(["--bin", "0", "-o"])
        .arg(&prefix)
        .assert()
        .code(1);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `glance score` (one prepared record, batches of regions) and `glance run`'s scores
/// stage (bins prepared one by one, batches of 256) write the same rows: several
/// records, overlapping bins (more than one batch in record `a`), clipped last bins.
#[test]
fn score_equals_the_pipeline_scores_stage() {
    let dir = tempfile::tempdir().unwrap();
    let input = data("workflow/multi.fa.gz");
    let motifs = data("motifs/subset10.meme");
    let prefix = dir.path().join("s");
    glance()
        .arg("score")
        .arg(&input)
        .arg("--motifs")
        .arg(&motifs)
        .args(["--bin", "100", "--step", "50", "-q", "-o"])
        .arg(&prefix)
        .assert()
        .success();
    let out = dir.path().join("run");
    glance()
        .env_remove("GLANCE_MODEL")
        .arg("run")
        .arg(&input)
        .arg("--motifs")
        .arg(&motifs)
        .args([
            "--bin",
            "100",
            "--step",
            "50",
            "--embeddings",
            "false",
            "--hits",
            "false",
            "-q",
            "--outdir",
        ])
        .arg(&out)
        .assert()
        .success();
    let score_tsv = std::fs::read_to_string(prefix.with_extension("tsv")).unwrap();
    let run_tsv = std::fs::read_to_string(out.join("motif_scores.tsv")).unwrap();
    // 4,000 bins (every 50 bp of 200 kb in six records) x 10 motifs, plus the header
    assert_eq!(score_tsv.lines().count(), 4000 * 10 + 1);
    assert!(
        score_tsv == run_tsv,
        "motif_scores.tsv differs from glance score's TSV"
    );
    let (rows, cols, a) = read_npy_scores(&prefix.with_extension("npy"));
    let (rows2, cols2, b) = read_npy_scores(&out.join("motif_scores.npy"));
    assert_eq!((rows, cols), (4000, 10));
    assert_eq!((rows2, cols2), (rows, cols));
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
}

#[test]
fn large_inputs_get_a_progress_bar_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let fa = big_fasta(dir.path());
    let motifs = data("motifs/subset10.meme");
    let out = dir.path().join("out");
    check_progress_bar(&[
        "score".as_ref(),
        fa.as_ref(),
        "--motifs".as_ref(),
        motifs.as_ref(),
        "-o".as_ref(),
        out.as_ref(),
    ]);
}

//! Genome-browser tracks: `glance run --tracks/--bedgraph` and `glance score
//! --bigwig/--bedgraph` write bigWig and bedGraph files whose values, read back with
//! bigtools, equal the .npy outputs in f32; the embedding tracks are the principal
//! components of embeddings.npy; shards write none and `glance merge` writes exactly the
//! tracks of one run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crate::common::{
    data, data_arg, failure_stderr, glance, merge, read_npy_f32, read_npy_scores, run_small,
    seq_data,
};
use bigtools::BigWigRead;

/// A FASTA of the first two records of test-data/seq/small.fa.
fn two_records(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(seq_data("small.fa")).unwrap();
    let records: Vec<&str> = text.split_inclusive('\n').collect();
    let third = records
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with('>'))
        .nth(2)
        .unwrap()
        .0;
    let path = dir.join("two.fa");
    std::fs::write(&path, records[..third].concat()).unwrap();
    path
}

/// (chrom, start, end, value) of every interval of a bigWig, chromosomes in the file's
/// order of `chroms`.
fn read_bigwig(path: &Path, chroms: &[(String, u64)]) -> Vec<(String, u32, u32, f32)> {
    let mut bw = BigWigRead::open_file(path).unwrap();
    let mut have: Vec<(String, u32)> = bw
        .chroms()
        .iter()
        .map(|c| (c.name.clone(), c.length))
        .collect();
    have.sort();
    let mut want: Vec<(String, u32)> = chroms.iter().map(|(n, l)| (n.clone(), *l as u32)).collect();
    want.sort();
    assert_eq!(have, want, "{}: sequences", path.display());
    let mut out = Vec::new();
    for (name, len) in chroms {
        for v in bw.get_interval(name, 0, *len as u32).unwrap() {
            let v = v.unwrap();
            out.push((name.clone(), v.start, v.end, v.value));
        }
    }
    out
}

/// (chrom, start, end, value) lines of a bedGraph (after its track line).
fn read_bedgraph(path: &Path) -> Vec<(String, u32, u32, f32)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("track type=bedGraph"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// (chrom, start, end) of each line of a BED file.
fn bed_rows(path: &Path) -> Vec<(String, u32, u32)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

/// Record names and lengths of records.tsv.
fn records(out: &Path) -> Vec<(String, u64)> {
    std::fs::read_to_string(out.join("records.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[2].to_string(), f[3].parse().unwrap())
        })
        .collect()
}

/// The ids of a MEME file's motifs, in order.
fn meme_ids(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("MOTIF "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// The top eigenvector of the covariance of `rows` (power iteration in f64), its sign
/// set so that its largest-magnitude entry is positive, and the mean row.
fn first_component(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let d = rows[0].len();
    let n = rows.len() as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let mut cov = vec![vec![0.0; d]; d];
    for r in rows {
        for i in 0..d {
            for j in 0..d {
                cov[i][j] += (r[i] - mean[i]) * (r[j] - mean[j]) / (n - 1.0);
            }
        }
    }
    let mut v = vec![1.0; d];
    for _ in 0..5000 {
        let w: Vec<f64> = (0..d)
            .map(|i| (0..d).map(|j| cov[i][j] * v[j]).sum())
            .collect();
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        v = w.into_iter().map(|x| x / norm).collect();
    }
    let big = v
        .iter()
        .copied()
        .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
    if big < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    (v, mean)
}

/// The intervals and values an affinity track of motif `m` must hold: each region's
/// affinity (channel 0 of the scores .npy of `motifs` motifs), regions without one left
/// out.
fn affinity_track(
    regions: &[(String, u32, u32)],
    scores: &[f32],
    motifs: usize,
    m: usize,
) -> Vec<(String, u32, u32, f32)> {
    regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.0.clone(), r.1, r.2, scores[(i * motifs + m) * 2]))
        .filter(|w| !w.3.is_nan())
        .collect()
}

#[test]
fn run_tracks_read_back_equal_the_npy_values_on_two_records() {
    let dir = tempfile::tempdir().unwrap();
    let input = two_records(dir.path());
    let out = dir.path().join("out");
    run_small(&input, &out, &["--tracks", "--bedgraph"]);
    let chroms = records(&out);
    assert_eq!(chroms.len(), 2);
    let regions = bed_rows(&out.join("regions.bed"));
    assert!(regions.iter().any(|r| r.0 == chroms[1].0));
    // affinity: the default motifs are the 10 with the most hits; subset10 has 10
    let ids = meme_ids(&data("motifs/subset10.meme"));
    let (n, motifs, scores) = read_npy_scores(&out.join("motif_scores.npy"));
    assert_eq!((n, motifs), (regions.len(), ids.len()));
    let mut files: Vec<String> = std::fs::read_dir(out.join("tracks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2 * (10 + 3), "{files:?}");
    for (m, id) in ids.iter().enumerate() {
        // a bin too short for any window (the last, 1 bp, of kp_b) has no value
        let want = affinity_track(&regions, &scores, motifs, m);
        assert!(want.len() + 1 >= regions.len());
        let bw = read_bigwig(&out.join(format!("tracks/affinity.{id}.bw")), &chroms);
        assert_eq!(bw, want, "{id} bigWig");
        let bg = read_bedgraph(&out.join(format!("tracks/affinity.{id}.bedGraph")));
        assert_eq!(bg, want, "{id} bedGraph");
    }
    // embeddings: PC1 is the projection on the covariance's top eigenvector
    let (rows, d, emb) = read_npy_f32(&out.join("embeddings.npy"));
    let x: Vec<Vec<f64>> = (0..rows)
        .map(|i| {
            emb[i * d..(i + 1) * d]
                .iter()
                .map(|&v| f64::from(v))
                .collect()
        })
        .collect();
    let (w, mean) = first_component(&x);
    let pc1 = read_bigwig(&out.join("tracks/embedding.PC1.bw"), &chroms);
    assert_eq!(pc1.len(), rows);
    let scale = pc1.iter().map(|v| v.3.abs()).fold(0.0f32, f32::max);
    for (i, (xi, got)) in x.iter().zip(&pc1).enumerate() {
        let want: f64 = xi
            .iter()
            .zip(&w)
            .zip(&mean)
            .map(|((a, b), m)| (a - m) * b)
            .sum();
        assert!(
            (f64::from(got.3) - want).abs() <= 1e-3 * f64::from(scale),
            "region {i}: PC1 {} vs {want}",
            got.3
        );
        assert_eq!((got.1, got.2), (regions[i].1, regions[i].2));
    }
    let var = |k: usize| {
        let t = read_bigwig(&out.join(format!("tracks/embedding.PC{k}.bw")), &chroms);
        t.iter().map(|v| f64::from(v.3).powi(2)).sum::<f64>()
    };
    assert!(var(1) >= var(2) && var(2) >= var(3) && var(3) > 0.0);
    let m = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(m.contains("\"tracks/embedding.PC3.bedGraph\"") && m.contains("\"stage\": \"tracks\""));
}

#[test]
fn chosen_motifs_overlapping_bins_and_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    let input = two_records(dir.path());
    let out = dir.path().join("out");
    run_small(
        &input,
        &out,
        &[
            "--tracks",
            "--track-motifs",
            "MA0139.2,MA0079.5",
            "--step",
            "200",
        ],
    );
    let mut files: Vec<String> = std::fs::read_dir(out.join("tracks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "affinity.MA0079.5.bw",
            "affinity.MA0139.2.bw",
            "embedding.PC1.bw",
            "embedding.PC2.bw",
            "embedding.PC3.bw"
        ]
    );
    // bins of 500 every 200: each value covers the first 200 bases of its bin
    let chroms = records(&out);
    let bw = read_bigwig(&out.join("tracks/affinity.MA0139.2.bw"), &chroms);
    let (_, motifs, scores) = read_npy_scores(&out.join("motif_scores.npy"));
    let m = meme_ids(&data("motifs/subset10.meme"))
        .iter()
        .position(|i| i == "MA0139.2")
        .unwrap();
    let regions: Vec<_> = bed_rows(&out.join("regions.bed"))
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !scores[(i * motifs + m) * 2].is_nan())
        .map(|(_, r)| r)
        .collect();
    assert_eq!(bw.len(), regions.len());
    for (t, r) in bw.iter().zip(&regions) {
        assert_eq!((t.1, t.2), (r.1, r.2.min(r.1 + 200)));
    }
    // an unknown motif is refused before the run, with one line
    let out2 = dir.path().join("out2");
    let err = failure_stderr(
        glance()
            .arg("run")
            .arg(&input)
            .args([
                "--motifs",
                &data_arg("motifs/subset10.meme"),
                "--embeddings",
                "false",
            ])
            .args(["--tracks", "--track-motifs", "MA0139.2,NOPE", "--outdir"])
            .arg(&out2),
    );
    assert!(err.contains("NOPE") && err.lines().count() == 1, "{err}");
    assert!(!out2.join("manifest.json").exists() && !out2.join("regions.bed").exists());
}

#[test]
fn shards_write_no_tracks_and_merge_writes_those_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = data("workflow/multi.fa.gz");
    let whole = dir.path().join("whole");
    let extra = ["--tracks", "--bedgraph", "--shard-span", "7000"];
    run_small(&input, &whole, &extra);
    let shards: Vec<PathBuf> = (1..=3).map(|i| dir.path().join(format!("s{i}"))).collect();
    for (i, s) in shards.iter().enumerate() {
        let shard = format!("{}/3", i + 1);
        run_small(&input, s, &[&extra[..], &["--shard", &shard]].concat());
        assert!(!s.join("tracks").exists());
    }
    let merged = dir.path().join("merged");
    merge(&shards, &merged);
    let names = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d.join("tracks"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&whole), names(&merged));
    assert_eq!(names(&whole).len(), 2 * (10 + 3));
    for f in names(&whole) {
        let a = std::fs::read(whole.join("tracks").join(&f)).unwrap();
        let b = std::fs::read(merged.join("tracks").join(&f)).unwrap();
        assert!(
            a == b,
            "{f:?} differs between one run and the merged shards"
        );
    }
    let m = std::fs::read_to_string(merged.join("manifest.json")).unwrap();
    assert!(m.contains("tracks/affinity.MA0139.2.bw"));
}

#[test]
fn score_bigwig_reads_back_equal_to_the_npy() {
    let dir = tempfile::tempdir().unwrap();
    let input = two_records(dir.path());
    let prefix = dir.path().join("sc");
    glance()
        .arg("score")
        .arg(&input)
        .args(["--motifs", &data_arg("motifs/subset10.meme")])
        .args([
            "--bin",
            "300",
            "--bigwig",
            "--bedgraph",
            "--track-motifs",
            "MA0139.2",
        ])
        .arg("-o")
        .arg(&prefix)
        .assert()
        .success();
    let regions = bed_rows(&dir.path().join("sc.bed"));
    let (n, motifs, scores) = read_npy_scores(&dir.path().join("sc.npy"));
    assert_eq!(n, regions.len());
    let ids = meme_ids(&data("motifs/subset10.meme"));
    let m = ids.iter().position(|i| i == "MA0139.2").unwrap();
    let want = affinity_track(&regions, &scores, motifs, m);
    // sequence lengths: the furthest bin end, which is the record's length for bins
    let mut chroms: Vec<(String, u64)> = Vec::new();
    for r in &regions {
        match chroms.iter_mut().find(|c| c.0 == r.0) {
            Some(c) => c.1 = c.1.max(u64::from(r.2)),
            None => chroms.push((r.0.clone(), u64::from(r.2))),
        }
    }
    assert_eq!(chroms.len(), 2);
    assert_eq!(
        read_bigwig(&dir.path().join("sc.affinity.MA0139.2.bw"), &chroms),
        want
    );
    assert_eq!(
        read_bedgraph(&dir.path().join("sc.affinity.MA0139.2.bedGraph")),
        want
    );
    let tracks = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            let n = e.as_ref().unwrap().file_name();
            n.to_string_lossy().starts_with("sc.affinity.")
        })
        .count();
    assert_eq!(tracks, 2);
}

//! SAM/BAM/CRAM and URL inputs on the command line (cargo feature `htslib`): with it,
//! a BAM of unaligned reads tokenizes and scans as its FASTQ does; without it, such an
//! input is one line saying to rebuild with the feature.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{data, glance};

#[cfg(not(feature = "htslib"))]
#[test]
fn without_the_feature_a_bam_input_says_how_to_rebuild() {
    use crate::common::failure_stderr;
    let bam = data("hts/hifi.unaligned.bam");
    for cmd in [&["scan"][..], &["tokenize", "-o", "t.npy"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let err = failure_stderr(glance().current_dir(dir.path()).args(cmd).arg(&bam));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("error: {}: ", bam.display()))
                && err.contains("rebuild it with `--features htslib`"),
            "{err}"
        );
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
    // a URL too
    let err = failure_stderr(glance().args(["scan", "https://example.org/reads.bam"]));
    assert!(err.contains("--features htslib"), "{err}");
}

#[cfg(feature = "htslib")]
#[test]
fn a_bam_input_reads_as_its_fastq() {
    let dir = tempfile::tempdir().unwrap();
    let bam = data("hts/hifi.unaligned.bam");
    let fastq = data("hts/hifi.unaligned.fastq");
    // tokenize: the same tokens and index
    for (name, input) in [("bam", &bam), ("fq", &fastq)] {
        glance()
            .args(["tokenize", "-q", "-o"])
            .arg(dir.path().join(format!("{name}.npy")))
            .arg(input)
            .assert()
            .success();
    }
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    assert_eq!(read("bam.npy"), read("fq.npy"));
    assert_eq!(read("bam.index.tsv"), read("fq.index.tsv"));
    // scan: the same hits
    let scan = |input: &std::path::Path| {
        let out = glance()
            .args(["scan", "-q", "--thresh", "1e-3", "--motifs"])
            .arg(data("motifs/subset10.meme"))
            .arg(input)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let hits = scan(&bam);
    assert!(hits.len() > 1);
    assert_eq!(hits, scan(&fastq));
}

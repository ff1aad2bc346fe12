//! `glance scan` end to end: FIMO's TSV against the parity fixture, the bundled motif
//! set, BED/GFF3/--text/--norc/--qv-thresh, stdin, and bad inputs.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::common::{big_fasta, check_progress_bar, data, glance, succeeded};

/// `glance --threads 2 scan FLAGS GENOME --motifs subset10.meme -o OUT`, which must succeed.
fn scan_subset10(flags: &[&str], genome: &Path, out: &Path) {
    glance()
        .args(["--threads", "2", "scan"])
        .args(flags)
        .arg(genome)
        .arg("--motifs")
        .arg(data("motifs/subset10.meme"))
        .arg("-o")
        .arg(out)
        .assert()
        .success();
}

/// The TSV's hit rows: after the header, up to the blank line before the `#` trailer.
fn rows(text: &str) -> Vec<Vec<String>> {
    fields(text.lines().skip(1).take_while(|l| !l.is_empty()))
}

/// Tab-separated fields of each line.
fn fields<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<Vec<String>> {
    lines
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn tsv_matches_fimo_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hits.tsv");
    scan_subset10(&[], &data("Kp1084_200kb.fa.gz"), &out);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("motif_id\tmotif_alt_id\tsequence_name\tstart\tstop\tstrand\tscore\tp-value\tq-value\tmatched_sequence\n"));
    let got = rows(&text);
    // the library's hits (checked against FIMO in glance-motif's parity tests)
    use glance::motif::output::tsv_blocks;
    use glance::motif::scan::driver::ScanRun;
    use glance::motif::{read_motifs, BackgroundSource, ScanOptions, Scanner};
    let motifs = read_motifs(&data("motifs/subset10.meme")).unwrap().motifs;
    let bg = BackgroundSource::Nrdb.resolve(true).unwrap();
    let scanner = Scanner::new(&motifs, bg, ScanOptions::default()).unwrap();
    let mut run = ScanRun::new(&scanner, 1 << 20);
    let reader = glance::seq::SeqReader::open(data("Kp1084_200kb.fa.gz")).unwrap();
    run.scan_source(&scanner, reader).unwrap();
    let names = run.names.clone();
    let hits = scanner.finish(run.tallies, false);
    let lib =
        String::from_utf8(tsv_blocks(&hits, scanner.motifs(), &names, true).concat()).unwrap();
    assert_eq!(got, fields(lib.lines()));
    // sorted by p-value like FIMO
    let p: Vec<f64> = got.iter().map(|r| r[7].parse().unwrap()).collect();
    assert!(p.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn bundled_motifs_bed_gff3_text_norc_and_qv_thresh() {
    let dir = tempfile::tempdir().unwrap();
    let syn = data("fimo/synthetic.fa");
    // default motif set: the bundled JASPAR collection
    let tsv = dir.path().join("all.tsv");
    glance()
        .arg("scan")
        .arg(&syn)
        .arg("-o")
        .arg(&tsv)
        .assert()
        .success();
    let all = rows(&std::fs::read_to_string(&tsv).unwrap());
    assert!(all.len() > 100);
    assert!(all.iter().all(|r| r[0].starts_with("MA")));
    // the other formats and modes, with the 10-motif subset
    let sub = vec![
        std::ffi::OsString::from("--motifs"),
        data("motifs/subset10.meme").into_os_string(),
    ];
    let tsv = dir.path().join("sub.tsv");
    glance()
        .arg("scan")
        .arg(&syn)
        .args(&sub)
        .arg("-o")
        .arg(&tsv)
        .assert()
        .success();
    let all = rows(&std::fs::read_to_string(&tsv).unwrap());
    assert!(!all.is_empty());
    // BED6+3: 0-based starts, same hits
    let bed = dir.path().join("all.bed");
    glance()
        .arg("scan")
        .arg(&syn)
        .args(&sub)
        .arg("--bed")
        .arg("-o")
        .arg(&bed)
        .assert()
        .success();
    let bed_text = std::fs::read_to_string(&bed).unwrap();
    let bed_rows: Vec<Vec<&str>> = bed_text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(bed_rows.len(), all.len());
    assert_eq!(
        bed_rows[0][1].parse::<u64>().unwrap() + 1,
        all[0][3].parse::<u64>().unwrap()
    );
    assert_eq!(bed_rows[0][3], all[0][0]);
    // GFF3
    let gff = dir.path().join("all.gff");
    glance()
        .arg("scan")
        .arg(&syn)
        .args(&sub)
        .arg("--gff3")
        .arg("-o")
        .arg(&gff)
        .assert()
        .success();
    let gff_text = std::fs::read_to_string(&gff).unwrap();
    assert!(gff_text.starts_with("##gff-version 3\n"));
    assert_eq!(gff_text.lines().count(), all.len() + 1);
    assert!(gff_text
        .lines()
        .nth(1)
        .unwrap()
        .contains("\tglance\tnucleotide_motif\t"));
    // --text: the same hits, q-value column empty
    let out = glance()
        .arg("scan")
        .arg(&syn)
        .args(&sub)
        .arg("--text")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text_rows = rows(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(text_rows.len(), all.len());
    assert!(text_rows.iter().all(|r| r[8].is_empty()));
    // --norc: forward strand only, a subset of the hits
    let out = glance()
        .arg("scan")
        .arg(&syn)
        .args(&sub)
        .arg("--norc")
        .output()
        .unwrap();
    let fwd = rows(&String::from_utf8(out.stdout).unwrap());
    assert!(!fwd.is_empty() && fwd.iter().all(|r| r[5] == "+"));
    // --qv-thresh: every q-value at most the threshold
    let out = glance()
        .arg("scan")
        .arg(data("Kp1084_200kb.fa.gz"))
        .args(&sub)
        .args(["--qv-thresh", "--thresh", "0.05"])
        .output()
        .unwrap();
    let q = rows(&String::from_utf8(out.stdout).unwrap());
    assert!(!q.is_empty());
    assert!(q.iter().all(|r| r[8].parse::<f64>().unwrap() <= 0.05));
}

#[test]
fn stdin_all_n_and_short_sequences() {
    // stdin; an all-N record and a record shorter than every motif give no hits
    let out = succeeded(
        glance()
            .args(["scan", "-", "--motifs"])
            .arg(data("motifs/subset10.meme"))
            .write_stdin(">allN\nNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN\n>short\nACG\n")
            .output()
            .unwrap(),
        "",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(rows(&text).is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 tests"));
}

#[test]
fn bad_motif_files_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    for (file, msg) in [
        ("formats/bad_rowsum.meme", "sum to 2"),
        ("formats/bad_alphabet.meme", "line 3: unsupported alphabet"),
        ("formats/bad_ragged.jaspar", "ragged"),
        (
            "formats/bad_duplicate.meme",
            "line 9: duplicate motif id DUP",
        ),
        ("formats/empty.meme", "no motifs found"),
    ] {
        let out_path = dir.path().join("hits.tsv");
        let path = data(&format!("motifs/{file}"));
        let out = glance()
            .arg("scan")
            .arg(data("fimo/synthetic.fa"))
            .arg("--motifs")
            .arg(&path)
            .arg("-o")
            .arg(&out_path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{file}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{err}");
        assert!(
            err.contains(&path.display().to_string()) && err.contains(msg),
            "{file}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!out_path.exists(), "{file}: output left behind");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary left behind"
        );
    }
    // FIMO's keyword backgrounds are accepted as values
    for kw in ["--uniform--", "--nrdb--", "--motif--"] {
        glance()
            .arg("scan")
            .arg(data("fimo/synthetic.fa"))
            .arg("--motifs")
            .arg(data("motifs/subset10.meme"))
            .args(["--bfile", kw])
            .assert()
            .success();
    }
    // a missing input and a bad threshold
    glance().args(["scan", "/nonexistent.fa"]).assert().code(1);
    glance()
        .arg("scan")
        .arg(data("fimo/synthetic.fa"))
        .args(["--thresh", "0"])
        .assert()
        .code(1);
    glance()
        .args(["scan", "x.fa", "--bed", "--gff3"])
        .assert()
        .code(2);
}

#[test]
fn fimo_pi0_gives_the_librarys_fimo_qvalues() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hits.tsv");
    let genome = data("Kp1084_200kb.fa.gz");
    scan_subset10(&["--fimo-pi0"], &genome, &out);
    let got = rows(&std::fs::read_to_string(&out).unwrap());
    // the library's FIMO pi0 replay (checked against fresh FIMO runs in glance-motif's
    // parity tests), with another chunk size
    use glance::motif::output::tsv_blocks;
    use glance::motif::scan::driver::ScanRun;
    use glance::motif::scan::fimo_pi0::FimoPi0;
    use glance::motif::{read_motifs, BackgroundSource, ScanOptions, Scanner};
    let motifs = read_motifs(&data("motifs/subset10.meme")).unwrap().motifs;
    let bg = BackgroundSource::Nrdb.resolve(true).unwrap();
    let scanner = Scanner::new(&motifs, bg, ScanOptions::default()).unwrap();
    let mut run = ScanRun::new(&scanner, 1 << 16);
    let open = || glance::seq::SeqReader::open(&genome).unwrap();
    run.scan_source(&scanner, open()).unwrap();
    let mut plan = FimoPi0::plan(&scanner, &run.tallies);
    plan.collect(&scanner, open(), 1 << 14).unwrap();
    let pi0 = plan.pi0s().unwrap();
    let names = run.names.clone();
    let fimo = scanner.finish_with_pi0(run.tallies.clone(), false, Some(&pi0));
    let lib =
        String::from_utf8(tsv_blocks(&fimo, scanner.motifs(), &names, true).concat()).unwrap();
    assert_eq!(got, fields(lib.lines()));
    // and they differ from glance's own estimate somewhere
    let own = scanner.finish(run.tallies, false);
    assert!(own.iter().zip(&fimo).any(|(a, b)| a.qvalue != b.qvalue));
    // stdin cannot be read twice
    glance()
        .args(["scan", "--fimo-pi0", "-"])
        .arg("--motifs")
        .arg(data("motifs/subset10.meme"))
        .write_stdin(">a\nACGT\n")
        .assert()
        .failure()
        .code(1);
}

#[test]
fn a_reader_that_stops_early_ends_the_scan_quietly() {
    // `glance scan ... | head -1`: the pipe closes after one line; glance stops
    // without an error line and exits 0, as other Unix tools do. Short flags too.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("glance"))
        .args(["-t", "2", "scan"])
        .arg(data("Kp1084_200kb.fa.gz"))
        .arg("--motifs")
        .arg(data("motifs/subset10.meme"))
        .args(["--thresh", "1e-2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.starts_with("motif_id\t"), "{first}");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn completions_and_man_pages_come_from_the_grammar() {
    for shell in ["bash", "zsh", "fish"] {
        let out = succeeded(
            glance().args(["completions", shell]).output().unwrap(),
            shell,
        );
        let script = String::from_utf8(out.stdout).unwrap();
        for word in ["variants", "threads", "region"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let page =
        String::from_utf8(succeeded(glance().arg("man").output().unwrap(), "man").stdout).unwrap();
    assert!(page.contains(".TH glance 1"), "{page}");
    assert!(page.contains("variants"));
    let page = String::from_utf8(
        succeeded(glance().args(["man", "scan"]).output().unwrap(), "man scan").stdout,
    )
    .unwrap();
    assert!(page.contains(".TH glance-scan 1"), "{page}");
    assert!(page.contains("\\-\\-thresh"), "{page}");
    glance().args(["man", "nope"]).assert().code(1);
    glance().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn scan_score_and_model_help_show_examples_that_parse() {
    // every example line of the help parses with the real grammar (clap), up to its
    // file arguments
    for cmd in [
        "scan",
        "score",
        "model",
        "model sweep",
        "variants",
        "run",
        "embed",
        "tokenize",
    ] {
        let out = succeeded(
            glance()
                .args(cmd.split(' '))
                .arg("--help")
                .output()
                .unwrap(),
            cmd,
        );
        let help = String::from_utf8(out.stdout).unwrap();
        let examples: Vec<&str> = help
            .lines()
            .skip_while(|l| !l.starts_with("Examples:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .collect();
        assert!(examples.len() >= 2, "{cmd}: {help}");
        for line in examples {
            let command = line
                .split(" #")
                .next()
                .unwrap()
                .split(" > ")
                .next()
                .unwrap();
            let command = command
                .split('|')
                .map(str::trim)
                .find(|c| c.starts_with("glance "))
                .unwrap_or(command);
            let words: Vec<&str> = command.split_whitespace().collect();
            assert_eq!(words[0], "glance", "{cmd}: {line}");
            // --help after the example's arguments: clap checks them first
            let out = glance().args(&words[1..]).arg("--help").output().unwrap();
            assert!(
                out.status.success(),
                "{cmd}: `{line}` does not parse: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn region_options_read_only_those_regions() {
    // scan --region: the region as a record named `chr:start-end` (as samtools faidx
    // writes it), hits within it; equal to scanning that extracted sequence
    let dir = tempfile::tempdir().unwrap();
    let genome = data("seq/small.fa");
    let hits = |extra: &[&str], input: &Path| {
        let out = succeeded(
            glance()
                .args(["scan", "-q", "--thresh", "1e-3"])
                .arg(input)
                .args([
                    "--motifs",
                    &data("motifs/subset10.meme").display().to_string(),
                ])
                .args(extra)
                .output()
                .unwrap(),
            "scan",
        );
        let text = String::from_utf8(out.stdout).unwrap();
        rows(&text)
    };
    let by_region = hits(&["--region", "kp_a:1001-3000"], &genome);
    // the same bases written out by hand
    let mut reader = glance::seq::SeqReader::open(&genome).unwrap();
    let mut r = glance::seq::Record::default();
    reader.read_record(&mut r).unwrap();
    assert_eq!(r.name, "kp_a");
    let part = dir.path().join("part.fa");
    let mut fa = b">kp_a:1001-3000\n".to_vec();
    fa.extend_from_slice(&r.sequence[1000..3000]);
    fa.push(b'\n');
    std::fs::write(&part, fa).unwrap();
    let by_hand = hits(&[], &part);
    assert!(!by_region.is_empty());
    // every column but the trailer's command line agrees
    assert_eq!(by_region, by_hand);
    // score and embed take --region as the command-line form of --regions BED
    let bed = dir.path().join("r.bed");
    std::fs::write(&bed, "kp_a\t1000\t3000\nkp_b\t0\t500\n").unwrap();
    for cmd in ["score", "embed"] {
        let a = dir.path().join(format!("{cmd}_region"));
        let b = dir.path().join(format!("{cmd}_bed"));
        for (out, extra) in [
            (
                &a,
                vec!["--region", "kp_a:1001-3000", "--region", "kp_b:1-500"],
            ),
            (&b, vec!["--regions", bed.to_str().unwrap()]),
        ] {
            glance()
                .args([cmd, "-q"])
                .arg(&genome)
                .args(&extra)
                .arg("-o")
                .arg(out)
                .assert()
                .success();
        }
        let read = |p: &Path| std::fs::read(format!("{}.npy", p.display())).unwrap();
        assert!(
            read(&a) == read(&b),
            "{cmd}: --region differs from --regions"
        );
    }
}

#[test]
fn large_inputs_get_a_progress_bar_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let fa = big_fasta(dir.path());
    let motifs = data("motifs/subset10.meme");
    let out = dir.path().join("out");
    check_progress_bar(&[
        "scan".as_ref(),
        fa.as_ref(),
        "--motifs".as_ref(),
        motifs.as_ref(),
        "-o".as_ref(),
        out.as_ref(),
    ]);
}

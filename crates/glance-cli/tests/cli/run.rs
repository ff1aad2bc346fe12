//! `glance run` and `glance config`: the config file (example, unknown keys), outputs
//! equal to `glance scan` / `glance embed`, resume, and failed runs that leave nothing
//! looking complete.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command as StdCommand;

use crate::common::{data, data_arg, failure_stderr, glance};

/// Visible (non-hidden) files of a directory, sorted.
fn visible(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The rows of a hits TSV, without its comment lines and blank lines.
fn rows(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn config_example_parses_and_names_every_run_option() {
    let out = glance().args(["config", "--example"]).assert().success();
    let example = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("glance.toml");
    std::fs::write(&file, &example).unwrap();
    glance()
        .args(["config", "--check"])
        .arg(&file)
        .assert()
        .success();
    // Every `glance run` option is a key of the example (same name, `-` as `_`).
    let help = glance().args(["run", "--help"]).assert().success();
    let help = String::from_utf8(help.get_output().stdout.clone()).unwrap();
    let mut checked = 0;
    for line in help.lines() {
        // Option lines look like `      --bin <BP>` or `  -q, --quiet`.
        let line = line.trim_start();
        let Some(rest) = line
            .strip_prefix("--")
            .or_else(|| line.split_once(", --").map(|(_, r)| r))
        else {
            continue;
        };
        let flag: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let flag = flag.as_str();
        if flag.is_empty() || ["help", "version", "config", "shard"].contains(&flag) {
            continue;
        }
        let key = match flag {
            "model" => "path".to_string(),
            "motifs" => "file".to_string(),
            "pattern" => "patterns".to_string(),
            "variants" => "vcf".to_string(),
            "variant-window" => "window".to_string(),
            "regions" => "bed".to_string(),
            f => f.replace('-', "_"),
        };
        let needle = format!("{key} =");
        assert!(
            example.contains(&needle),
            "option --{flag}: no key `{key}` in the example"
        );
        checked += 1;
    }
    assert!(example.contains("shard = "));
    assert!(checked >= 20, "only {checked} options found in the help");
}

#[test]
fn config_errors_name_the_file_and_key_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "inputs = []\n[motifs]\nthreshold = 0.01\n").unwrap();
    let out = dir.path().join("out");
    let err = failure_stderr(
        glance()
            .args(["run", &data_arg("workflow/multi.fa.gz"), "--config"])
            .arg(&file)
            .arg("--outdir")
            .arg(&out),
    );
    assert!(
        err.starts_with("error: ") && err.contains("bad.toml") && err.contains("threshold"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!out.exists());
    // A bad value is named by its key too.
    std::fs::write(&file, "[regions]\npool = \"median\"\n").unwrap();
    let err = failure_stderr(glance().args(["config", "--check"]).arg(&file));
    assert!(err.contains("regions.pool"), "{err}");
    // A bad --precision is a usage error (exit 2), as in `glance embed`.
    glance()
        .args([
            "run",
            &data_arg("workflow/multi.fa.gz"),
            "--precision",
            "fp8",
            "--outdir",
        ])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("fp8"));
    assert!(!out.exists());
}

#[test]
fn outputs_equal_glance_scan_and_glance_embed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let input = data_arg("workflow/multi.fa.gz");
    let motifs = data_arg("motifs/subset10.meme");
    let model = data_arg("models/native_alibi");
    glance()
        .args([
            "run", &input, "--motifs", &motifs, "--model", &model, "-q", "--outdir",
        ])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        visible(&out),
        [
            "embeddings.npy",
            "hits.tsv",
            "manifest.json",
            "motif_scores.npy",
            "motif_scores.tsv",
            "records.tsv",
            "regions.bed",
            "report.html",
            "scan_hits.tsv",
            "scan_tallies.tsv"
        ]
    );
    // hits.tsv is `glance scan`'s TSV (q-values over the same tests).
    let scan = dir.path().join("scan.tsv");
    glance()
        .args(["scan", &input, "--motifs", &motifs, "-q", "-o"])
        .arg(&scan)
        .assert()
        .success();
    let hits = rows(&out.join("hits.tsv"));
    assert!(hits.len() > 100);
    assert_eq!(hits, rows(&scan));
    // embeddings.npy and regions.bed are `glance embed --bin 1000`'s.
    let prefix = dir.path().join("emb");
    glance()
        .args([
            "embed", &input, "--model", &model, "--bin", "1000", "-q", "-o",
        ])
        .arg(&prefix)
        .assert()
        .success();
    let a = std::fs::read(out.join("embeddings.npy")).unwrap();
    let b = std::fs::read(dir.path().join("emb.npy")).unwrap();
    assert_eq!(a.len(), b.len());
    assert_eq!(a[128..], b[128..], "embedding rows differ");
    let bed = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| l.split('\t').take(3).collect::<Vec<_>>().join("\t"))
            .collect()
    };
    assert_eq!(
        bed(&out.join("regions.bed")),
        bed(&dir.path().join("emb.bed"))
    );
    // The manifest lists every output with its size and checksum.
    let manifest = glance::workflow::Manifest::read(&out).unwrap().unwrap();
    assert_eq!(manifest.outputs.len(), 9, "8 tables and report.html");
    for o in &manifest.outputs {
        let p = out.join(&o.path);
        assert_eq!(o.bytes, std::fs::metadata(&p).unwrap().len());
        assert_eq!(o.sha256.len(), 64);
    }
    let stages: Vec<&str> = manifest.stages.iter().map(|s| s.stage.as_str()).collect();
    for s in ["read", "embed", "scan", "scores"] {
        assert!(stages.contains(&s), "{stages:?}");
    }
    assert_eq!(manifest.regions, 201);
}

/// Runs `glance run` on the multi-record input with the 10-motif set, no `--model`, and
/// `extra` options; returns manifest.json's text.
fn run_without_model_option(out: &Path, extra: &[&str]) -> String {
    glance()
        .args([
            "run",
            &data_arg("workflow/multi.fa.gz"),
            "--motifs",
            &data_arg("motifs/subset10.meme"),
            "-q",
        ])
        .args(extra)
        .arg("--outdir")
        .arg(out)
        .assert()
        .success();
    std::fs::read_to_string(out.join("manifest.json")).unwrap()
}

#[test]
fn without_a_model_option_the_bundled_default_model_embeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let m = run_without_model_option(&out, &["--bin", "5000"]);
    let regions = std::fs::read_to_string(out.join("regions.bed")).unwrap();
    let npy = glance::io::npy::NpyInfo::read(&out.join("embeddings.npy")).unwrap();
    let default = glance::model::load_bundled().unwrap();
    assert_eq!(npy.rows, regions.lines().count() as u64);
    assert_eq!(npy.inner, vec![default.d_model()]);
    assert!(
        m.contains("model:bundled:models/default/config.json"),
        "{m}"
    );
    assert!(!m.contains("was not produced"), "{m}");
}

#[test]
fn with_embeddings_off_only_the_motif_outputs_are_made() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let m = run_without_model_option(&out, &["--embeddings", "false"]);
    assert!(!out.join("embeddings.npy").exists());
    assert!(out.join("hits.tsv").exists() && out.join("motif_scores.npy").exists());
    assert!(!m.contains("model:config.json"), "{m}");
}

#[test]
fn a_complete_run_is_reused_and_a_changed_one_redone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = |extra: &[&str]| {
        let a = glance()
            .args([
                "run",
                &data_arg("workflow/multi.fa.gz"),
                "--motifs",
                &data_arg("motifs/subset10.meme"),
            ])
            .args(extra)
            .arg("--outdir")
            .arg(&out)
            .assert()
            .success();
        String::from_utf8(a.get_output().stderr.clone()).unwrap()
    };
    run(&[]);
    let first = std::fs::read(out.join("manifest.json")).unwrap();
    let err = run(&[]);
    assert!(err.contains("nothing to do"), "{err}");
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), first);
    // --threads does not change results: still complete.
    assert!(run(&["--threads", "1"]).contains("nothing to do"));
    // A damaged output is noticed and the run redone.
    std::fs::write(out.join("hits.tsv"), "garbage").unwrap();
    let err = run(&[]);
    assert!(err.contains("redoing") && err.contains("hits.tsv"), "{err}");
    assert_ne!(std::fs::read(out.join("hits.tsv")).unwrap(), b"garbage");
    // A changed option is a different run.
    let err = run(&["--bin", "500"]);
    assert!(err.contains("configuration changed"), "{err}");
}

#[test]
fn an_input_error_mid_run_leaves_nothing_that_looks_complete() {
    let dir = tempfile::tempdir().unwrap();
    // The fixture cut in the middle of its gzip stream: records 1-2 read, then an error.
    let whole = std::fs::read(data_arg("workflow/multi.fa.gz")).unwrap();
    let cut = dir.path().join("cut.fa.gz");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let out = dir.path().join("out");
    let err = failure_stderr(
        glance()
            .args([
                "run",
                "--motifs",
                &data_arg("motifs/subset10.meme"),
                "--model",
                &data_arg("models/native_alibi"),
            ])
            .arg(&cut)
            .arg("--outdir")
            .arg(&out),
    );
    // On a slow machine progress lines may come first: the error is the last line,
    // names the file and says its cause once.
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains("cut.fa.gz"),
        "{err}"
    );
    assert_eq!(last.matches("deflate").count(), 1, "cause repeated: {last}");
    assert!(
        err.lines().all(|l| l == last || !l.starts_with("error")),
        "one error line: {err}"
    );
    assert!(!out.join("manifest.json").exists());
    assert!(
        !out.join("hits.tsv").exists() && !out.join("embeddings.npy").exists(),
        "{:?}",
        visible(&out)
    );
    // And no temporary files are left behind either.
    let all: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().collect();
    assert!(all.is_empty(), "{all:?}");
}

#[test]
fn a_run_killed_mid_way_is_detected_and_finished_by_the_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let args = |c: &mut StdCommand, outdir: &Path| {
        c.args([
            "run",
            &data_arg("workflow/multi.fa.gz"),
            "--motifs",
            &data_arg("motifs/subset10.meme"),
        ])
        .args([
            "--model",
            &data_arg("models/native_alibi"),
            "--chunk-tokens",
            "256",
            "--outdir",
        ])
        .arg(outdir)
        .env_remove("GLANCE_MODEL");
    };
    let bin = assert_cmd::cargo::cargo_bin("glance");
    // Kill right after the start, then in the middle of writing the outputs (as soon as
    // a temporary output file exists); SIGKILL gives the process no chance to clean up.
    for mid_write in [false, true] {
        let mut c = StdCommand::new(&bin);
        args(&mut c, &out);
        let mut child = c.stderr(std::process::Stdio::null()).spawn().unwrap();
        if mid_write {
            let t0 = std::time::Instant::now();
            loop {
                let partial = std::fs::read_dir(&out)
                    .map(|d| {
                        d.flatten()
                            .any(|e| e.file_name().to_string_lossy().contains(".glance-partial."))
                    })
                    .unwrap_or(false);
                if partial {
                    break;
                }
                assert!(
                    child.try_wait().unwrap().is_none(),
                    "the run ended before it could be killed"
                );
                assert!(t0.elapsed().as_secs() < 60);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            !out.join("manifest.json").exists(),
            "killed (mid-write: {mid_write}) but a manifest exists"
        );
        for f in [
            "hits.tsv",
            "embeddings.npy",
            "motif_scores.npy",
            "motif_scores.tsv",
        ] {
            assert!(
                !out.join(f).exists(),
                "killed mid-run but {f} looks complete"
            );
        }
    }
    let mut c = StdCommand::new(&bin);
    args(&mut c, &out);
    let o = c.output().unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("interrupted run"), "{err}");
    // Identical to an uninterrupted run.
    let clean = dir.path().join("clean");
    let mut c = StdCommand::new(&bin);
    args(&mut c, &clean);
    c.arg("-q");
    assert!(c.status().unwrap().success());
    let names = visible(&clean);
    assert_eq!(visible(&out), names);
    // manifest.json and report.html hold timings; every other output is identical
    for n in names
        .iter()
        .filter(|n| *n != "manifest.json" && *n != "report.html")
    {
        assert_eq!(
            std::fs::read(out.join(n)).unwrap(),
            std::fs::read(clean.join(n)).unwrap(),
            "{n}"
        );
    }
}

#[test]
fn library_messages_go_through_the_logger() {
    // glance-workflow reports through `log`; the CLI prints the records (RUST_LOG
    // filters them, --quiet keeps errors only)
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str, env: Option<&str>, extra: &[&str]| {
        let mut cmd = glance();
        cmd.args(["run", &data_arg("seq/small.fa"), "--embeddings", "false"])
            .args(["--motifs", &data_arg("motifs/subset10.meme")])
            .args(extra)
            .arg("--outdir")
            .arg(dir.path().join(out));
        match env {
            Some(v) => cmd.env("RUST_LOG", v),
            None => cmd.env_remove("RUST_LOG"),
        };
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let default = run("a", None, &[]);
    assert!(default.contains("glance run: shard 1/1"), "{default}");
    assert_eq!(run("b", Some("glance_workflow=warn"), &[]), "");
    assert_eq!(run("c", None, &["-q"]), "");
}

#[test]
fn a_run_reads_stdin() {
    // `cat genome.fa | glance run - ...` gives what the file gives; stdin is never taken
    // for a previous run's input, read once only, and not a reference for variants
    let dir = tempfile::tempdir().unwrap();
    let fa = data_arg("seq/small.fa");
    let opts = [
        "--motifs",
        &data_arg("motifs/subset10.meme"),
        "--model",
        &data_arg("models/native_alibi"),
        "-q",
    ];
    let from_file = dir.path().join("file");
    glance()
        .args(["run", &fa])
        .args(opts)
        .arg("--outdir")
        .arg(&from_file)
        .assert()
        .success();
    let from_stdin = dir.path().join("stdin");
    for _ in 0..2 {
        glance()
            .args(["run", "-"])
            .args(opts)
            .arg("--outdir")
            .arg(&from_stdin)
            .pipe_stdin(&fa)
            .unwrap()
            .assert()
            .success();
    }
    for f in [
        "regions.bed",
        "embeddings.npy",
        "motif_scores.npy",
        "hits.tsv",
    ] {
        let a = std::fs::read(from_file.join(f)).unwrap();
        let b = std::fs::read(from_stdin.join(f)).unwrap();
        assert!(a == b, "{f} differs between a file and stdin");
    }
    let err = failure_stderr(
        glance()
            .args(["run", "-", "-"])
            .args(opts)
            .arg("--outdir")
            .arg(dir.path().join("twice")),
    );
    assert!(err.contains("can be read only once"), "{err}");
    let err = failure_stderr(
        glance()
            .args(["run", "-", "--variants", "calls.vcf"])
            .args(opts)
            .arg("--outdir")
            .arg(dir.path().join("variants")),
    );
    assert!(err.contains("not stdin"), "{err}");
}

#[test]
fn region_options_restrict_every_stage() {
    // `glance run --region`/`--regions`: each region read through the index as a record
    // named `chr:start-end` (as samtools faidx writes it); hits equal `glance scan
    // --region`'s, embeddings and bins equal `glance embed` on the same bases extracted
    // by hand
    let dir = tempfile::tempdir().unwrap();
    let fa = data("seq/small.fa");
    let motifs = data_arg("motifs/subset10.meme");
    let model = data_arg("models/native_alibi");
    let regions = ["kp_a:1001-3000", "kp_b:1-500"];
    let run = |out: &Path, extra: &[&str]| {
        glance()
            .arg("run")
            .arg(&fa)
            .args(["--motifs", &motifs, "--model", &model, "--bin", "500"])
            .args(["--thresh", "1e-3", "-q", "--outdir"])
            .arg(out)
            .args(extra)
            .assert()
            .success();
    };
    let by_region = dir.path().join("region");
    run(
        &by_region,
        &["--region", regions[0], "--region", regions[1]],
    );
    let bed = dir.path().join("r.bed");
    std::fs::write(&bed, "kp_a\t1000\t3000\nkp_b\t0\t500\n").unwrap();
    let by_bed = dir.path().join("bed");
    run(&by_bed, &["--regions", bed.to_str().unwrap()]);
    let hits = rows(&by_region.join("hits.tsv"));
    assert!(!hits.is_empty());
    assert_eq!(hits, rows(&by_bed.join("hits.tsv")));
    // hits are `glance scan --region`'s, positions within the regions
    let scan = dir.path().join("scan.tsv");
    glance()
        .arg("scan")
        .arg(&fa)
        .args(["--motifs", &motifs, "--thresh", "1e-3", "-q"])
        .args(["--region", regions[0], "--region", regions[1], "-o"])
        .arg(&scan)
        .assert()
        .success();
    assert_eq!(hits, rows(&scan));
    for h in &hits[1..] {
        let f: Vec<&str> = h.split('\t').collect();
        let (seq, stop) = (f[2], f[4].parse::<u64>().unwrap());
        assert!(regions.contains(&seq), "{h}");
        assert!(stop <= if seq == regions[0] { 2000 } else { 500 }, "{h}");
    }
    // embeddings and bins are those of the extracted bases
    let mut reader = glance::seq::SeqReader::open(&fa).unwrap();
    let mut r = glance::seq::Record::default();
    let mut part = Vec::new();
    for (name, range) in [(regions[0], 1000..3000), (regions[1], 0..500)] {
        reader.read_record(&mut r).unwrap();
        part.extend_from_slice(format!(">{name}\n").as_bytes());
        part.extend_from_slice(&r.sequence[range]);
        part.push(b'\n');
    }
    let part_fa = dir.path().join("part.fa");
    std::fs::write(&part_fa, part).unwrap();
    let prefix = dir.path().join("emb");
    glance()
        .arg("embed")
        .arg(&part_fa)
        .args(["--model", &model, "--bin", "500", "-q", "-o"])
        .arg(&prefix)
        .assert()
        .success();
    let a = std::fs::read(by_region.join("embeddings.npy")).unwrap();
    let b = std::fs::read(dir.path().join("emb.npy")).unwrap();
    assert_eq!(a[128..], b[128..], "embedding rows differ");
    let bed3 = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| l.split('\t').take(3).collect::<Vec<_>>().join("\t"))
            .collect()
    };
    let bins = bed3(&by_region.join("regions.bed"));
    assert_eq!(bins, bed3(&dir.path().join("emb.bed")));
    assert_eq!(bins.len(), 5);
    assert_eq!(bins[0], "kp_a:1001-3000\t0\t500");
    // a region on a sequence the input lacks: one line naming it, nothing written
    let bad = dir.path().join("bad");
    let err = failure_stderr(
        glance()
            .arg("run")
            .arg(&fa)
            .args(["--motifs", &motifs, "--model", &model, "--outdir"])
            .arg(&bad)
            .args(["--region", "chrZ:1-100"]),
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("small.fa") && err.contains("chrZ"),
        "{err}"
    );
    assert!(visible(&bad).is_empty(), "{:?}", visible(&bad));
}

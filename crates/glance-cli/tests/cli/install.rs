//! A self-contained install: the `glance` binary copied away from the source tree (as
//! `cargo install` or a copy to another machine leaves it) runs the README's main job
//! from an empty directory with an empty environment (no HOME, no GLANCE_MODEL): the
//! default model and the JASPAR motifs are compiled in. GLANCE_MODEL and --model still
//! override the compiled-in model. scripts/test_install.sh does the same with a binary
//! made by `cargo install` (CI runs it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{data, models, read_npy_f32, read_npy_scores, succeeded};

/// A copy of the binary under test in `dir/bin/glance`, proven executable.
///
/// Tests run on parallel threads: a child forked by another test while this copy's write
/// descriptor is open holds it until that child execs, and an exec of the copy in that
/// moment fails with ETXTBSY ("Text file busy"). Once one exec of the copy has succeeded
/// no process holds it open for writing any more, so the probe retries only that case.
fn copied_binary(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let copy = bin.join("glance");
    std::fs::copy(assert_cmd::cargo::cargo_bin("glance"), &copy).unwrap();
    for _ in 0..100 {
        match Command::new(&copy).arg("--version").output() {
            Ok(out) => {
                succeeded(out, "the copied binary's --version: ");
                return copy;
            }
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("running {}: {e}", copy.display()),
        }
    }
    panic!("{} stayed busy for 2 s", copy.display());
}

/// The copied binary with an empty environment, in `cwd`.
fn bare(bin: &Path, cwd: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env_clear().current_dir(cwd);
    c
}

#[test]
fn a_copied_binary_runs_the_main_job_from_an_empty_directory_without_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = copied_binary(tmp.path());
    let cwd = tmp.path().join("empty");
    std::fs::create_dir(&cwd).unwrap();
    let input = data("Kp1084_200kb.fa.gz").canonicalize().unwrap();
    let out = bare(&bin, &cwd)
        .arg("run")
        .arg(&input)
        .args(["--outdir", "out", "-q"])
        .output()
        .unwrap();
    succeeded(out, "glance run from an empty directory: ");
    let out = cwd.join("out");
    let regions = std::fs::read_to_string(out.join("regions.bed")).unwrap();
    let n = regions.lines().count();
    assert_eq!(n, 200, "1 kb bins over 200 kb");
    let (rows, d, emb) = read_npy_f32(&out.join("embeddings.npy"));
    assert_eq!((rows, d), (n, 128), "the default model's embeddings");
    assert!(emb.iter().all(|v| v.is_finite()) && emb.iter().any(|v| *v != 0.0));
    let (rows, motifs, _) = read_npy_scores(&out.join("motif_scores.npy"));
    assert_eq!((rows, motifs), (n, 1019), "the bundled JASPAR set");
    let hits = std::fs::read_to_string(out.join("hits.tsv")).unwrap();
    assert!(hits.lines().filter(|l| l.starts_with("MA")).count() > 100);
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    for name in ["config.json", "model.safetensors", "mlm_head.safetensors"] {
        let label = format!("model:bundled:models/default/{name}");
        assert!(manifest.contains(&label), "{label} in {manifest}");
    }
    // nothing was written outside the output directory
    let left: Vec<_> = std::fs::read_dir(&cwd).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn glance_model_and_the_model_option_override_the_compiled_in_model() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = copied_binary(tmp.path());
    let fasta = models().join("sequences.fa");
    let embed = |prefix: &str, env: Option<&Path>, model: Option<&Path>| {
        let mut c = bare(&bin, tmp.path());
        if let Some(dir) = env {
            c.env("GLANCE_MODEL", dir);
        }
        c.arg("embed")
            .arg(&fasta)
            .args(["--bin", "50", "-o", prefix]);
        if let Some(dir) = model {
            c.arg("--model").arg(dir);
        }
        succeeded(c.output().unwrap(), prefix);
        read_npy_f32(&tmp.path().join(format!("{prefix}.npy")))
    };
    let mixed = models().join("native_mixed");
    let alibi = models().join("native_alibi");
    assert_eq!(embed("bundled", None, None).1, 128);
    let from_env = embed("env", Some(&mixed), None);
    assert_eq!(from_env, embed("option", None, Some(&mixed)));
    assert_eq!(from_env.1, 32, "native_mixed is 32 wide");
    // --model wins over GLANCE_MODEL
    assert_eq!(
        embed("both", Some(&mixed), Some(&alibi)),
        embed("alibi", None, Some(&alibi))
    );
    // a GLANCE_MODEL naming no model is an error naming it, not a silent fallback
    let out = bare(&bin, tmp.path())
        .env("GLANCE_MODEL", tmp.path().join("nowhere"))
        .arg("embed")
        .arg(&fasta)
        .args(["-o", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("nowhere") && err.contains("GLANCE_MODEL"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

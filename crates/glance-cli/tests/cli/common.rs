//! Helpers shared by the `glance` binary's integration tests: the command, fixture
//! paths under test-data/, and readers of the binary's .npy and JSON outputs.

// Each test file uses some of the helpers, never all.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The `glance` binary under test, without `GLANCE_MODEL` from the caller's
/// environment (so that runs without `--model` use the bundled default model).
pub fn glance() -> Command {
    let mut c = Command::cargo_bin("glance").unwrap();
    c.env_remove("GLANCE_MODEL");
    c
}

/// `glance bench attention`, its arguments to follow.
pub fn bench_attention() -> Command {
    let mut c = glance();
    c.args(["bench", "attention"]);
    c
}

/// `out` of a command that must have succeeded; otherwise the test fails with
/// `context` and the command's stderr.
pub fn succeeded(out: Output, context: &str) -> Output {
    assert!(
        out.status.success(),
        "{context}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The stdout (UTF-8) of a command that must have succeeded (see [`succeeded`]).
pub fn success_stdout(out: Output) -> String {
    String::from_utf8(succeeded(out, "").stdout).unwrap()
}

/// The stderr (UTF-8) of a command that must exit with status 1.
pub fn failure_stderr(cmd: &mut Command) -> String {
    String::from_utf8(cmd.assert().code(1).get_output().stderr.clone()).unwrap()
}

/// The repository's root directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// test-data/<p>.
pub fn data(p: &str) -> PathBuf {
    root().join("test-data").join(p)
}

/// test-data/<p> as a command-line argument.
pub fn data_arg(p: &str) -> String {
    data(p).display().to_string()
}

/// test-data/seq/<name>: the sequence fixtures.
pub fn seq_data(name: &str) -> PathBuf {
    data("seq").join(name)
}

/// test-data/models: the model fixtures.
pub fn models() -> PathBuf {
    data("models")
}

/// The value of `"key":` in a flat JSON object, without quotes.
pub fn field<'a>(json: &'a str, key: &str) -> &'a str {
    let start = json.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim_matches('"')
}

/// The shape and data bytes of a version-1 .npy file written by glance, checking the
/// magic, the dtype `descr` (e.g. `<f4`), C order and the 64-byte aligned header.
fn read_npy(path: &Path, descr: &str) -> (Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0);
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(
        header.contains(&format!("'descr': '{descr}'"))
            && header.contains("'fortran_order': False")
    );
    let shape: Vec<usize> = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    (shape, bytes[10 + header_len..].to_vec())
}

/// Reads a `[rows, cols]` f32 .npy written by glance: (rows, cols, values).
pub fn read_npy_f32(path: &Path) -> (usize, usize, Vec<f32>) {
    let (shape, body) = read_npy(path, "<f4");
    let values: Vec<f32> = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(values.len(), shape[0] * shape[1]);
    (shape[0], shape[1], values)
}

/// Reads a region-score .npy written by glance, `[regions, motifs, 2]` f32 (channels:
/// affinity, occupancy): (regions, motifs, values).
pub fn read_npy_scores(path: &Path) -> (usize, usize, Vec<f32>) {
    let (shape, body) = read_npy(path, "<f4");
    assert_eq!(shape.len(), 3, "{shape:?}");
    assert_eq!(shape[2], 2, "channels: affinity, occupancy");
    let values: Vec<f32> = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(values.len(), shape[0] * shape[1] * 2);
    (shape[0], shape[1], values)
}

/// Reads a one-dimensional u32 .npy (token ids) written by glance.
pub fn read_npy_u32(path: &Path) -> Vec<u32> {
    let (shape, body) = read_npy(path, "<u4");
    assert_eq!(body.len(), 4 * shape[0]);
    body.chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// `glance run INPUT` with the small test model (native_alibi), subset10 motifs and
/// 500 bp bins, `extra` options, into `out`; it must succeed.
pub fn run_small(input: &Path, out: &Path, extra: &[&str]) {
    let o = glance()
        .arg("run")
        .arg(input)
        .args([
            "--motifs",
            &data_arg("motifs/subset10.meme"),
            "--model",
            &data_arg("models/native_alibi"),
            "--bin",
            "500",
            "-q",
        ])
        .args(extra)
        .arg("--outdir")
        .arg(out)
        .output()
        .unwrap();
    succeeded(o, &format!("glance run {}: ", extra.join(" ")));
}

/// `glance merge SHARDS... --outdir OUT -q`, which must succeed.
pub fn merge(shards: &[PathBuf], out: &Path) {
    glance()
        .arg("merge")
        .args(shards)
        .arg("--outdir")
        .arg(out)
        .arg("-q")
        .assert()
        .success();
}

/// Writes `dir/big.fa`: one record of 5.4 Mb of seeded random bases (5.24 MiB of text,
/// over the 4 MiB at which commands draw a progress bar).
pub fn big_fasta(dir: &Path) -> PathBuf {
    let fa = dir.join("big.fa");
    let mut text = String::from(">big\n");
    let mut x = 12345u64;
    for _ in 0..90_000 {
        for _ in 0..60 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push(b"ACGT"[(x >> 62) as usize] as char);
        }
        text.push('\n');
    }
    std::fs::write(&fa, text).unwrap();
    fa
}

/// Checks the progress bar of `glance ARGS` on a big input (see [`big_fasta`]): off a
/// terminal, stderr holds the one summary line; on a terminal (util-linux `script`
/// gives the command a pseudo-terminal) it shows the bytes read of the total, the rate
/// and the ETA. The terminal half is skipped where there is no `script`.
pub fn check_progress_bar(args: &[&std::ffi::OsStr]) {
    let plain = glance().args(args).output().unwrap();
    let stderr = String::from_utf8(plain.stderr).unwrap();
    assert!(plain.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped the terminal half: no `script` command");
        return;
    }
    let mut cmd = assert_cmd::cargo::cargo_bin("glance").display().to_string();
    for a in args {
        cmd.push(' ');
        cmd.push_str(&a.to_string_lossy());
    }
    let tty = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("GLANCE_MODEL")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{shown}");
    assert!(shown.contains("MiB/5.24 MiB"), "{shown}");
    assert!(shown.contains("ETA"), "{shown}");
}

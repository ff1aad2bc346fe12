//! Memory stays bounded on hostile input (issue 9): `glance` runs under an address-space
//! limit (`ulimit -v`, i.e. RLIMIT_AS, set by `sh` before it execs the binary) while the
//! test streams inputs larger than that limit into its stdin. A reader that held a whole
//! line would fail to allocate (abort, exit 134); a bounded one either finishes or stops
//! with its one-line error.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

/// Address-space limit for the child, in KiB (768 MiB).
const LIMIT_KIB: u64 = 768 * 1024;

/// Streamed input size: more than the limit (1 GiB).
const INPUT_BYTES: usize = 1 << 30;

/// Runs `glance ARGS` under the limit, feeding `head`, then `INPUT_BYTES` copies of
/// `fill`, then `tail` into its stdin; returns (exit code, stderr). A child that stops
/// reading early (an error) closes the pipe, which ends the feeding.
fn run_limited(args: &[&str], head: &[u8], fill: u8, tail: &[u8]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_glance"))
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (head, tail) = (head.to_vec(), tail.to_vec());
    let feeder = std::thread::spawn(move || {
        let block = vec![fill; 1 << 20];
        let mut go = || -> std::io::Result<()> {
            stdin.write_all(&head)?;
            for _ in 0..INPUT_BYTES / block.len() {
                stdin.write_all(&block)?;
            }
            stdin.write_all(&tail)
        };
        let _ = go();
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn one_gigabyte_sequence_line_streams_under_768_mib() {
    let (code, stderr) = run_limited(
        &[
            "tokenize",
            "-q",
            "--threads",
            "1",
            "-k",
            "12",
            "--stride",
            "1000000",
            "-o",
            "t.npy",
            "-",
        ],
        b">one_line\n",
        b'A',
        b"\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
}

/// `glance tokenize` of stdin under the limit (as [`run_limited`]), which must fail:
/// its stderr.
fn tokenize_limited_fails(head: &[u8], fill: u8, tail: &[u8]) -> String {
    let (code, stderr) = run_limited(
        &["tokenize", "-q", "--threads", "1", "-o", "t.npy", "-"],
        head,
        fill,
        tail,
    );
    assert_eq!(code, Some(1), "{stderr}");
    stderr
}

#[test]
fn one_gigabyte_header_stops_at_the_line_limit() {
    let stderr = tokenize_limited_fails(b">", b'x', b"\nACGT\n");
    assert_eq!(
        stderr.trim_end(),
        "error: -: line 1: line longer than 1048576 bytes (header and '+' lines are limited; sequence and quality lines are not)"
    );
}

#[test]
fn one_gigabyte_quality_line_is_counted_not_held() {
    let stderr = tokenize_limited_fails(b"@r1\nACGT\n+\n", b'I', b"\n");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: -: record 'r1' (line 4): quality length {INPUT_BYTES} differs from sequence length 4"
        )
    );
}

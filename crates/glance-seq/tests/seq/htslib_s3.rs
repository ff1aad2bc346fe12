//! The `htslib` feature's S3 support, offline: htslib's S3 backend is pointed at the
//! loopback test server (`HTS_S3_HOST`, path-style addressing, made-up credentials) and
//! reads `s3+http://glance-bucket/...`. htslib reads those settings from the process
//! environment, which must not change while other tests run, so the test re-runs itself
//! (this test binary, filtered to this one test) in a child process whose environment
//! is set when it is spawned; the server and the checks of its requests stay here.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::hts_support::{self, read_all};
use glance_seq::{HtsOptions, HtsReader, Region};
use std::process::Command;

/// Set in the environment of the child process that does the reads.
const CHILD: &str = "GLANCE_TEST_S3_CHILD";

#[test]
fn s3_urls_are_read_through_htslibs_s3_backend() {
    if std::env::var_os(CHILD).is_some() {
        return read_through_s3();
    }
    let server = hts_support::Server::bind().start();
    let home = tempfile::tempdir().unwrap();
    // This test's name as libtest knows it: the module path without the crate's name.
    let module = module_path!().split_once("::").unwrap().1;
    let name = format!("{module}::s3_urls_are_read_through_htslibs_s3_backend");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([&name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("HOME", home.path())
        .env("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"))
        .env("AWS_ACCESS_KEY_ID", "GLANCETESTKEY")
        .env("AWS_SECRET_ACCESS_KEY", "glance-test-secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("HTS_S3_HOST", server.base.trim_start_matches("http://"))
        .env("HTS_S3_ADDRESS_STYLE", "path")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child process failed (or ran no test):\n{stdout}\n{stderr}"
    );

    // The requests were S3 requests: path-style, signed with the credentials above.
    let requests = server.requests.lock().unwrap();
    assert!(requests
        .iter()
        .any(|r| r.starts_with("GET /glance-bucket/aligned.bam ")));
    assert!(requests
        .iter()
        .any(|r| r.starts_with("GET /glance-bucket/aligned.bam.bai ")));
    assert!(requests
        .iter()
        .all(|r| r.contains("AWS4-HMAC-SHA256") && r.contains("Credential=GLANCETESTKEY/")));
}

/// The reads, in the child process (its environment points htslib at the server).
fn read_through_s3() {
    let local = {
        let path = hts_support::data("aligned.bam");
        read_all(&mut HtsReader::open(path.to_str().unwrap(), HtsOptions::default()).unwrap())
    };
    let url = "s3+http://glance-bucket/aligned.bam";
    let remote = read_all(&mut HtsReader::open(url, HtsOptions::default()).unwrap());
    assert_eq!(remote, local);

    // A region through the index next to it (s3+http://glance-bucket/aligned.bam.bai).
    let mut reader = HtsReader::open(url, HtsOptions::default()).unwrap();
    reader
        .fetch(&"Kp1084_1100001_1102000:1-2000".parse::<Region>().unwrap())
        .unwrap();
    assert_eq!(read_all(&mut reader).len(), 9);
}

//! The `htslib` feature's S3 support, offline: htslib's S3 backend is pointed at the
//! loopback test server (`HTS_S3_HOST`, path-style addressing, made-up credentials) and
//! reads `s3+http://glance-bucket/...`. This is its own test binary because it sets
//! environment variables, which must not change while other tests run.
#![cfg(feature = "htslib")]
// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod hts_support;

use glance_seq::{HtsOptions, HtsReader, Record, Region};

fn read_all(reader: &mut HtsReader) -> Vec<Record> {
    let mut out = Vec::new();
    let mut record = Record::default();
    while reader.read_record(&mut record).unwrap() {
        out.push(record.clone());
    }
    out
}

#[test]
fn s3_urls_are_read_through_htslibs_s3_backend() {
    let server = hts_support::Server::bind();
    let home = tempfile::tempdir().unwrap();
    // Set before any thread of this binary reads the environment.
    std::env::set_var("HOME", home.path());
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"));
    std::env::set_var("AWS_ACCESS_KEY_ID", "GLANCETESTKEY");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "glance-test-secret");
    std::env::set_var("AWS_DEFAULT_REGION", "us-east-1");
    std::env::set_var("HTS_S3_HOST", server.base.trim_start_matches("http://"));
    std::env::set_var("HTS_S3_ADDRESS_STYLE", "path");
    let server = server.start();

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

//! Tests of the optional `htslib` feature: SAM/BAM/CRAM and URL input through
//! `HtsReader`, checked against the samtools outputs that scripts/make_hts_fixtures.sh
//! wrote next to the fixtures in test-data/hts/. Remote reading is tested against a
//! small HTTP server on 127.0.0.1 started by the test (no other network).
// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::hts_support::{self, read_all};

use std::path::{Path, PathBuf};

use glance_seq::{
    Chunk, ChunkOptions, Chunker, HtsOptions, HtsReader, Orientation, Record, Region, SeqError,
    SeqReader,
};

const CONTIG1: &str = "Kp1084_1000001_1003000";
const CONTIG2: &str = "Kp1084_1100001_1102000";
/// The regions the fixture script passed to `samtools view` (aligned.region{1,2}.tsv).
const REGION1: &str = "Kp1084_1000001_1003000:1001-1300";
const REGION2: &str = "Kp1084_1100001_1102000:1-2000";

fn data(name: &str) -> PathBuf {
    hts_support::data(name)
}

fn loc(name: &str) -> String {
    data(name).to_str().unwrap().to_string()
}

fn cram_options() -> HtsOptions {
    HtsOptions {
        reference: Some(loc("ref.fa")),
        ..HtsOptions::default()
    }
}

fn read_location(location: &str, options: HtsOptions) -> Vec<Record> {
    read_all(&mut HtsReader::open(location, options).unwrap())
}

fn read_seq_file(path: &Path) -> Vec<Record> {
    let mut reader = SeqReader::open(path).unwrap();
    let mut out = Vec::new();
    let mut record = Record::default();
    while reader.read_record(&mut record).unwrap() {
        out.push(record.clone());
    }
    out
}

fn fetch_all(location: &str, options: HtsOptions, region: &str) -> Vec<Record> {
    let mut reader = HtsReader::open(location, options).unwrap();
    reader.fetch(&region.parse::<Region>().unwrap()).unwrap();
    read_all(&mut reader)
}

/// Rows of `samtools view -F 0x900 aligned.bam REGION | cut -f1,2,10,11`.
struct ViewRow {
    name: String,
    flag: u16,
    seq: String,
    qual: String,
}

fn view_rows(file: &str) -> Vec<ViewRow> {
    std::fs::read_to_string(data(file))
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            ViewRow {
                name: f[0].to_string(),
                flag: f[1].parse().unwrap(),
                seq: f[2].to_string(),
                qual: f[3].to_string(),
            }
        })
        .collect()
}

fn assert_matches_view(records: &[Record], rows: &[ViewRow]) {
    assert_eq!(records.len(), rows.len());
    for (r, row) in records.iter().zip(rows) {
        assert_eq!(r.name, row.name);
        assert_eq!(r.sequence, row.seq.as_bytes(), "{}", r.name);
        let qual: &[u8] = if row.qual == "*" {
            b""
        } else {
            row.qual.as_bytes()
        };
        assert_eq!(r.quality, qual, "{}", r.name);
        let strand = if row.flag & 0x10 != 0 { "(-)" } else { "(+)" };
        assert!(
            r.description.ends_with(strand),
            "{}: {}",
            r.name,
            r.description
        );
    }
}

#[test]
fn hifi_unaligned_bam_gives_the_reads_samtools_fastq_gives() {
    let bam = read_location(&loc("hifi.unaligned.bam"), HtsOptions::default());
    let fastq = read_seq_file(&data("hifi.unaligned.fastq"));
    assert_eq!(bam.len(), 6);
    assert_eq!(bam.len(), fastq.len());
    for (b, f) in bam.iter().zip(&fastq) {
        assert_eq!(b.name, f.name);
        assert!(b.name.ends_with("/ccs"), "{}", b.name);
        assert_eq!(b.sequence, f.sequence, "{}", b.name);
        assert_eq!(b.quality, f.quality, "{}", b.name);
        assert_eq!(b.description, "", "unaligned reads have no span");
        assert_eq!(b.offset, 0);
    }
    // One read carries an ambiguous base, kept as N.
    assert!(bam.iter().any(|r| r.sequence.contains(&b'N')));
}

#[test]
fn sam_bam_and_cram_give_the_same_records() {
    let bam = read_location(&loc("aligned.bam"), HtsOptions::default());
    let sam = read_location(&loc("aligned.sam"), HtsOptions::default());
    let cram = read_location(&loc("aligned.cram"), cram_options());
    // 24 mapped primary reads and 1 unmapped; the secondary and supplementary records
    // of read05 are skipped by default.
    assert_eq!(bam.len(), 25);
    assert_eq!(bam.iter().filter(|r| r.name == "read05").count(), 1);
    assert_eq!(sam, bam);
    assert_eq!(cram, bam);
    let unmapped = bam.last().unwrap();
    assert_eq!(unmapped.name, "read24");
    assert_eq!(unmapped.description, "");
}

#[test]
fn decompression_threads_give_the_same_records() {
    for (name, options) in [
        ("aligned.bam", HtsOptions::default()),
        ("aligned.cram", cram_options()),
    ] {
        let one = read_location(&loc(name), options.clone());
        let threaded = read_location(
            &loc(name),
            HtsOptions {
                threads: 2,
                ..options
            },
        );
        assert_eq!(threaded, one, "{name}");
    }
}

#[test]
fn description_is_the_reference_span_computed_from_the_cigar() {
    // Parse aligned.sam independently: span = POS .. POS + (M/D/N/=/X lengths) - 1.
    let text = std::fs::read_to_string(data("aligned.sam")).unwrap();
    let mut expected = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('@')) {
        let f: Vec<&str> = line.split('\t').collect();
        let flag: u16 = f[1].parse().unwrap();
        if flag & 0x900 != 0 {
            continue;
        }
        if flag & 0x4 != 0 {
            expected.push((f[0].to_string(), String::new()));
            continue;
        }
        let pos: u64 = f[3].parse().unwrap();
        let mut span = 0u64;
        let mut num = 0u64;
        for c in f[5].chars() {
            match c {
                '0'..='9' => num = num * 10 + c.to_digit(10).unwrap() as u64,
                op => {
                    if "MDN=X".contains(op) {
                        span += num;
                    }
                    num = 0;
                }
            }
        }
        let strand = if flag & 0x10 != 0 { '-' } else { '+' };
        expected.push((
            f[0].to_string(),
            format!("{}:{}-{}({strand})", f[2], pos, pos + span - 1),
        ));
    }
    let got: Vec<(String, String)> = read_location(&loc("aligned.bam"), HtsOptions::default())
        .into_iter()
        .map(|r| (r.name, r.description))
        .collect();
    assert_eq!(got, expected);
    // One by hand: read16 is 60M3D90M at 799.
    assert!(got.contains(&("read16".into(), format!("{CONTIG1}:799-951(-)"))));
}

#[test]
fn as_sequenced_orientation_gives_what_samtools_fasta_gives() {
    let options = HtsOptions {
        orientation: Orientation::AsSequenced,
        ..HtsOptions::default()
    };
    let bam = read_location(&loc("aligned.bam"), options.clone());
    let fasta = read_seq_file(&data("aligned.as_sequenced.fa"));
    assert_eq!(bam.len(), fasta.len());
    for (b, f) in bam.iter().zip(&fasta) {
        assert_eq!(b.name, f.name);
        assert_eq!(b.sequence, f.sequence, "{}", b.name);
    }
    // Reverse-strand reads differ from the stored orientation: reverse complement,
    // qualities reversed; forward reads are unchanged.
    let stored = read_location(&loc("aligned.bam"), HtsOptions::default());
    let mut reversed = 0;
    for (s, q) in stored.iter().zip(&bam) {
        if s.description.ends_with("(-)") {
            reversed += 1;
            let rc: Vec<u8> = s
                .sequence
                .iter()
                .rev()
                .map(|&b| match b {
                    b'A' => b'T',
                    b'C' => b'G',
                    b'G' => b'C',
                    b'T' => b'A',
                    x => x,
                })
                .collect();
            assert_eq!(q.sequence, rc);
            let rq: Vec<u8> = s.quality.iter().rev().copied().collect();
            assert_eq!(q.quality, rq);
        } else {
            assert_eq!(q, s);
        }
    }
    assert!(reversed > 5, "fixture has reverse-strand reads");
}

#[test]
fn region_fetch_gives_the_reads_samtools_view_gives() {
    for (location, options) in [
        (loc("aligned.bam"), HtsOptions::default()),
        (loc("aligned.cram"), cram_options()),
    ] {
        let r1 = fetch_all(&location, options.clone(), REGION1);
        assert_matches_view(&r1, &view_rows("aligned.region1.tsv"));
        // Reads that only touch the region's ends are included, whole.
        assert!(r1.iter().any(|r| r.name == "read00")); // 901-1050
        assert!(r1.iter().all(|r| r.sequence.len() >= 142));
        let r2 = fetch_all(&location, options, REGION2);
        assert_matches_view(&r2, &view_rows("aligned.region2.tsv"));
    }
}

#[test]
fn fetching_again_moves_to_the_new_region_and_counts_on() {
    let mut reader = HtsReader::open(&loc("aligned.bam"), HtsOptions::default()).unwrap();
    let mut chunker_input = Vec::new();
    for region in [REGION1, REGION2, REGION1] {
        reader.fetch(&region.parse().unwrap()).unwrap();
        chunker_input.push(read_all(&mut reader).len());
    }
    assert_eq!(chunker_input, vec![6, 9, 6]);
    // Whole contigs by name (samtools notation without a range).
    reader.fetch(&Region::whole(CONTIG2)).unwrap();
    assert_eq!(read_all(&mut reader).len(), 9);
}

#[test]
fn exclude_flags_zero_keeps_secondary_and_supplementary_records() {
    let options = HtsOptions {
        exclude_flags: 0,
        ..HtsOptions::default()
    };
    let all = read_location(&loc("aligned.bam"), options);
    assert_eq!(all.len(), 27);
    let read05: Vec<&Record> = all.iter().filter(|r| r.name == "read05").collect();
    assert_eq!(read05.len(), 3);
    // The secondary record has no SEQ/QUAL ('*'); the supplementary is hard-clipped.
    assert!(read05
        .iter()
        .any(|r| r.sequence.is_empty() && r.quality.is_empty()));
    assert!(read05.iter().any(|r| r.sequence.len() == 60));
}

fn chunks<S: glance_seq::SequenceSource>(source: S, options: ChunkOptions) -> Vec<Chunk> {
    let mut chunker = Chunker::new(source, options).unwrap();
    let mut out = Vec::new();
    let mut chunk = Chunk::default();
    while chunker.next_chunk(&mut chunk).unwrap() {
        out.push(chunk.clone());
    }
    out
}

#[test]
fn chunker_over_bam_equals_chunker_over_the_same_reads_in_fastq() {
    let options = ChunkOptions {
        size: 97,
        halo_left: 7,
        halo_right: 11,
    };
    let bam = HtsReader::open(&loc("hifi.unaligned.bam"), HtsOptions::default()).unwrap();
    let fastq = SeqReader::open(data("hifi.unaligned.fastq")).unwrap();
    let from_bam = chunks(bam, options);
    let from_fastq = chunks(fastq, options);
    assert!(from_bam.len() > 6 * 4);
    for (b, f) in from_bam.iter().zip(&from_fastq) {
        assert_eq!(
            (
                &b.name,
                b.record_index,
                b.start,
                &b.core,
                &b.bases,
                b.first,
                b.last
            ),
            (
                &f.name,
                f.record_index,
                f.start,
                &f.core,
                &f.bases,
                f.first,
                f.last
            )
        );
        assert_eq!(b.origin, 0);
    }
    assert_eq!(from_bam.len(), from_fastq.len());
    // The BAM reader knows each read's length up front.
    assert!(from_bam.iter().all(|c| c.record_len.is_some()));
}

#[test]
fn chunks_of_a_region_cover_each_overlapping_read() {
    let mut reader = HtsReader::open(&loc("aligned.cram"), cram_options()).unwrap();
    reader.fetch(&REGION1.parse().unwrap()).unwrap();
    let got = chunks(reader, ChunkOptions::symmetric(64, 5));
    let rows = view_rows("aligned.region1.tsv");
    for (i, row) in rows.iter().enumerate() {
        let core: Vec<u8> = got
            .iter()
            .filter(|c| c.record_index == i as u64)
            .flat_map(|c| c.core_bases().to_vec())
            .collect();
        assert_eq!(core, row.seq.as_bytes(), "{}", row.name);
    }
}

// ---------------------------------------------------------------- errors

fn open_err(location: &str, options: HtsOptions) -> SeqError {
    match HtsReader::open(location, options) {
        Ok(_) => panic!("{location} opened"),
        Err(e) => e,
    }
}

#[test]
fn a_missing_file_is_an_error() {
    let e = open_err(&loc("no-such.bam"), HtsOptions::default());
    assert!(matches!(e, SeqError::Htslib(_)), "{e:?}");
    assert!(e.to_string().contains("cannot open"), "{e}");
}

#[test]
fn a_directory_is_an_error() {
    let e = open_err(&loc(""), HtsOptions::default());
    assert!(matches!(e, SeqError::IsDirectory), "{e:?}");
}

#[test]
fn fasta_and_fastq_are_not_sam_bam_or_cram() {
    let e = open_err(&loc("ref.fa"), HtsOptions::default());
    assert!(
        e.to_string()
            .contains("not SAM, BAM or CRAM (htslib detects 'fa'"),
        "{e}"
    );
    // htslib can read FASTQ as unaligned records; HtsReader leaves that to SeqReader.
    let e = open_err(&loc("hifi.unaligned.fastq"), HtsOptions::default());
    assert!(
        e.to_string()
            .contains("not SAM, BAM or CRAM (htslib detects 'fq'"),
        "{e}"
    );
}

#[test]
fn a_truncated_bam_is_an_error_not_a_short_read() {
    let bytes = std::fs::read(data("aligned.bam")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.bam");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let result = HtsReader::open(cut.to_str().unwrap(), HtsOptions::default()).and_then(|mut r| {
        let mut record = Record::default();
        while r.read_record(&mut record)? {}
        Ok(())
    });
    let e = result.unwrap_err();
    assert!(matches!(e, SeqError::Htslib(_)), "{e:?}");
}

#[test]
fn region_errors_name_the_problem() {
    let mut reader = HtsReader::open(&loc("aligned.bam"), HtsOptions::default()).unwrap();
    let e = reader.fetch(&"chrZ:1-10".parse().unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown sequence 'chrZ' (not in the SAM/BAM/CRAM header)"
    );
    let e = reader
        .fetch(&format!("{CONTIG2}:1990-2010").parse().unwrap())
        .unwrap_err();
    assert!(matches!(e, SeqError::RegionOutOfRange { .. }), "{e:?}");
    // Plain SAM has no index.
    let mut sam = HtsReader::open(&loc("aligned.sam"), HtsOptions::default()).unwrap();
    let e = sam.fetch(&REGION1.parse().unwrap()).unwrap_err();
    assert!(matches!(e, SeqError::Index(_)), "{e:?}");
}

#[test]
fn a_missing_cram_reference_is_an_error() {
    let options = HtsOptions {
        reference: Some(loc("no-such.fa")),
        ..HtsOptions::default()
    };
    let e = open_err(&loc("aligned.cram"), options);
    assert!(e.to_string().contains("no-such.fa"), "{e}");
}

#[test]
fn references_list_the_header_sequences() {
    let reader = HtsReader::open(&loc("aligned.cram"), cram_options()).unwrap();
    assert!(reader.is_cram());
    assert_eq!(
        reader.references(),
        vec![(CONTIG1.to_string(), 3000), (CONTIG2.to_string(), 2000)]
    );
}

// ---------------------------------------------------------------- remote

#[test]
fn remote_bam_and_cram_over_http_read_like_local_files() {
    let server = hts_support::Server::bind().start();
    let base = &server.base;
    let local_bam = read_location(&loc("aligned.bam"), HtsOptions::default());
    let remote_bam = read_location(&format!("{base}/aligned.bam"), HtsOptions::default());
    assert_eq!(remote_bam, local_bam);
    let remote_ubam = read_location(&format!("{base}/hifi.unaligned.bam"), HtsOptions::default());
    assert_eq!(remote_ubam.len(), 6);

    // Region queries read the remote index in place (.bai, .crai next to the file).
    for (name, options) in [
        ("aligned.bam", HtsOptions::default()),
        ("aligned.cram", cram_options()),
    ] {
        let got = fetch_all(&format!("{base}/{name}"), options, REGION1);
        assert_matches_view(&got, &view_rows("aligned.region1.tsv"));
    }
    // ... and write no copy of it into the working directory, as htslib would by default.
    for index in ["aligned.bam.bai", "aligned.bam.csi", "aligned.cram.crai"] {
        assert!(!Path::new(index).exists(), "{index} was downloaded");
    }
    // An index named explicitly.
    let options = HtsOptions {
        index: Some(format!("{base}/aligned.bam.bai")),
        ..HtsOptions::default()
    };
    let got = fetch_all(&format!("{base}/aligned.bam"), options, REGION2);
    assert_matches_view(&got, &view_rows("aligned.region2.tsv"));
    // htslib asked for byte ranges, not only whole files.
    let requests = server.requests.lock().unwrap();
    assert!(requests
        .iter()
        .any(|r| r.to_ascii_lowercase().contains("range: bytes=")));
}

#[test]
fn remote_errors_are_errors() {
    let server = hts_support::Server::bind().start();
    let base = &server.base;
    let e = open_err(&format!("{base}/no-such.bam"), HtsOptions::default());
    assert!(matches!(e, SeqError::Htslib(_)), "{e:?}");
    // The unaligned BAM has no index on the server.
    let mut reader =
        HtsReader::open(&format!("{base}/hifi.unaligned.bam"), HtsOptions::default()).unwrap();
    let e = reader.fetch(&Region::whole(CONTIG1)).unwrap_err();
    // Its header lists no sequences at all.
    assert!(e.to_string().starts_with("unknown sequence"), "{e}");
    let mut reader =
        HtsReader::open(&format!("{base}/aligned.sam"), HtsOptions::default()).unwrap();
    let e = reader.fetch(&REGION1.parse().unwrap()).unwrap_err();
    assert!(matches!(e, SeqError::Index(_)), "{e:?}");
    assert!(e.to_string().contains("aligned.sam.csi"), "{e}");
}

#[test]
fn url_detection() {
    for url in [
        "http://h/x.bam",
        "https://h/x.cram",
        "s3://bucket/x.bam",
        "gs://b/x",
        "s3+https://h/x",
    ] {
        assert!(glance_seq::is_url(url), "{url}");
    }
    for path in ["x.bam", "/data/x.bam", "-", "dir/with:colon.bam", "://x"] {
        assert!(!glance_seq::is_url(path), "{path}");
    }
}

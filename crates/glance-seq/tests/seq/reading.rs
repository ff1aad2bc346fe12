//! Reading FASTA/FASTQ from the committed test-data: formats, compressions, indexes and
//! regions, and the errors for bad input.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use crate::common::data;
use glance_seq::{
    build_fai, build_gzi, read_bed, read_fai, Compression, Format, IndexedFasta, Record,
    RecordHeader, Region, SeqError, SeqReader, SequenceSource,
};

fn read_all(reader: &mut SeqReader) -> Vec<Record> {
    let mut out = Vec::new();
    let mut rec = Record::default();
    while reader.read_record(&mut rec).unwrap() {
        out.push(rec.clone());
    }
    out
}

fn records(name: &str) -> Vec<Record> {
    read_all(&mut SeqReader::open(data(name)).unwrap())
}

#[test]
fn mixed_fasta_crlf_lowercase_iupac_empty_lines() {
    let recs = records("mixed.fa");
    let names: Vec<_> = recs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["chrA", "empty", "chrB"]);
    assert_eq!(recs[0].description, "first record");
    assert_eq!(recs[0].sequence.len(), 30 + 20 + 18);
    assert!(recs[0].sequence[30..50].iter().all(u8::is_ascii_lowercase));
    assert_eq!(&recs[0].sequence[50..58], b"NNNNRYKM");
    assert!(!recs[0].sequence.contains(&b'\r'));
    assert!(recs[1].sequence.is_empty());
    assert_eq!(recs[2].description, "spaced  description");
    assert_eq!(recs[2].sequence.len(), 40 + 10 + 13);
    assert_eq!(&recs[2].sequence[40..50], b"acgtnACGTN");
}

#[test]
fn plain_gzip_and_bgzf_read_the_same() {
    let mut plain = SeqReader::open(data("small.fa")).unwrap();
    let mut gz = SeqReader::open(data("small_gzip.fa.gz")).unwrap();
    let mut bgzf = SeqReader::open(data("small.fa.gz")).unwrap();
    let mut bgzf_mt = SeqReader::open_with_threads(data("small.fa.gz"), 2).unwrap();
    let mut gz_mt = SeqReader::open_with_threads(data("small_gzip.fa.gz"), 2).unwrap();
    assert_eq!(plain.compression(), Compression::None);
    assert_eq!(gz.compression(), Compression::Gzip);
    assert_eq!(bgzf.compression(), Compression::Bgzf);
    let want = read_all(&mut plain);
    assert_eq!(want.len(), 3);
    assert_eq!(want[0].sequence.len(), 5000);
    assert_eq!(want[1].sequence.len(), 3001);
    assert_eq!(read_all(&mut gz), want);
    assert_eq!(read_all(&mut bgzf), want);
    assert_eq!(read_all(&mut bgzf_mt), want);
    assert_eq!(read_all(&mut gz_mt), want);
}

#[test]
fn fastq_four_line_multiline_and_gzip_agree() {
    let four = records("reads.fq");
    assert_eq!(four.len(), 12);
    for r in &four {
        assert_eq!(r.sequence.len(), r.quality.len());
        assert!(r.description.starts_with("pos="));
    }
    let mut multi = SeqReader::open(data("reads_multiline.fq")).unwrap();
    assert_eq!(multi.format(), Format::Fastq);
    assert_eq!(read_all(&mut multi), four);
    assert_eq!(records("reads.fq.gz"), four);
}

#[test]
fn fai_and_gzi_built_here_equal_samtools() {
    let text = std::fs::read(data("small.fa")).unwrap();
    let built = build_fai(&text[..]).unwrap();
    let samtools = read_fai(&std::fs::read(data("small.fa.fai")).unwrap()[..]).unwrap();
    assert_eq!(built, samtools);
    let gzi = build_gzi(std::fs::File::open(data("small.fa.gz")).unwrap()).unwrap();
    let want = noodles_bgzf_gzi(&std::fs::read(data("small.fa.gz.gzi")).unwrap());
    assert_eq!(gzi.as_ref(), &want[..]);
}

/// Parses a .gzi by hand (u64 count, then pairs of u64, little-endian).
fn noodles_bgzf_gzi(bytes: &[u8]) -> Vec<(u64, u64)> {
    let word = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
    (0..word(0) as usize)
        .map(|i| (word(1 + 2 * i), word(2 + 2 * i)))
        .collect()
}

#[test]
fn regions_from_plain_and_bgzf_match_slices() {
    let whole = records("small.fa");
    for file in ["small.fa", "small.fa.gz"] {
        let mut fasta = IndexedFasta::open(data(file)).unwrap();
        let mut rec = Record::default();
        for (region, rec_i, s, e) in [
            ("kp_a:1-100", 0, 0, 100),
            ("kp_a:59-62", 0, 58, 62),
            ("kp_b:2991-3001", 1, 2990, 3001),
            ("kp_b", 1, 0, 3001),
            ("kp_c:41-", 2, 40, 100),
        ] {
            fasta.fetch(&region.parse().unwrap(), &mut rec).unwrap();
            assert_eq!(
                rec.sequence,
                &whole[rec_i].sequence[s..e],
                "{file} {region}"
            );
            assert_eq!(rec.offset, s as u64);
        }
    }
}

#[test]
fn index_is_built_when_absent() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["small.fa", "small.fa.gz"] {
        let path = dir.path().join(name);
        std::fs::copy(data(name), &path).unwrap();
        let mut fasta = IndexedFasta::open(&path).unwrap();
        assert_eq!(fasta.entries().len(), 3);
        let mut rec = Record::default();
        fasta
            .fetch(&Region::new("kp_b", 100, 300), &mut rec)
            .unwrap();
        assert_eq!(rec.sequence, &records("small.fa")[1].sequence[100..300]);
        assert!(!dir.path().join(format!("{name}.fai")).exists());
    }
}

#[test]
fn bed_regions_stream_with_chromosome_offsets() {
    let regions = read_bed(
        std::fs::File::open(data("regions.bed"))
            .map(std::io::BufReader::new)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(regions.len(), 4);
    let whole = records("small.fa");
    let mut reader = IndexedFasta::open(data("small.fa.gz"))
        .unwrap()
        .regions(regions.clone())
        .unwrap();
    let mut header = RecordHeader::default();
    let mut i = 0;
    while reader.next_record(&mut header).unwrap() {
        let r = &regions[i];
        let mut buf = Vec::new();
        while reader.read_bases(&mut buf, 7).unwrap() > 0 {}
        let rec = whole.iter().find(|w| w.name == r.name).unwrap();
        assert_eq!(
            buf,
            &rec.sequence[r.start as usize..r.end.unwrap() as usize]
        );
        assert_eq!(
            (header.offset, header.length),
            (r.start, Some(r.end.unwrap() - r.start))
        );
        i += 1;
    }
    assert_eq!(i, 4);
}

#[test]
fn region_errors() {
    let fasta = IndexedFasta::open(data("small.fa")).unwrap();
    let err = fasta.resolve(&"chrZ:1-10".parse().unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown sequence 'chrZ' (not in the .fai index)"
    );
    let err = fasta.resolve(&"kp_c:90-101".parse().unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "region kp_c:90-101 is out of range: sequence 'kp_c' has 100 bases"
    );
    let err = IndexedFasta::open(data("small_gzip.fa.gz")).err().unwrap();
    assert!(err.to_string().contains("not BGZF"), "{err}");
    let err = IndexedFasta::open(data("reads.fq")).err().unwrap();
    assert!(err.to_string().contains("needs FASTA"), "{err}");
}

fn error_of(bytes: &[u8]) -> SeqError {
    error_with_threads(bytes, 1)
}

fn error_with_threads(bytes: &[u8], threads: usize) -> SeqError {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    let mut reader = match SeqReader::open_with_threads(file.path(), threads) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut rec = Record::default();
    loop {
        match reader.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => panic!("no error"),
            Err(e) => return e,
        }
    }
}

#[test]
fn truncated_gzip_and_bgzf_are_errors() {
    for name in ["small_gzip.fa.gz", "small.fa.gz"] {
        let bytes = std::fs::read(data(name)).unwrap();
        for threads in [1, 2] {
            let err = error_with_threads(&bytes[..bytes.len() / 2], threads);
            assert!(
                matches!(err, SeqError::Io { .. }) && err.to_string().contains("compressed stream"),
                "{name}, {threads} threads: {err}"
            );
        }
    }
    // A BGZF file cut at a block boundary (no EOF block) still fails, mid-block.
    let bytes = std::fs::read(data("small.fa.gz")).unwrap();
    assert!(matches!(
        error_of(&bytes[..bytes.len() - 40]),
        SeqError::Io { .. }
    ));
}

#[test]
fn bad_inputs_are_typed_errors() {
    assert!(matches!(error_of(b""), SeqError::Empty));
    assert!(matches!(
        error_of(&[0x00, 0xff, 0x13, 0x37]),
        SeqError::NotSequence { .. }
    ));
    assert!(matches!(
        error_of(b"ACGT\n"),
        SeqError::NotSequence { line: 1, .. }
    ));
    let err = error_of(b"@r1\nACGT\n+\nIIIII\n");
    assert_eq!(
        err.to_string(),
        "record 'r1' (line 4): quality length 5 differs from sequence length 4"
    );
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        SeqReader::open(dir.path()).err().unwrap(),
        SeqError::IsDirectory
    ));
    assert!(matches!(
        SeqReader::open(dir.path().join("missing.fa"))
            .err()
            .unwrap(),
        SeqError::Open(_)
    ));
}

#[test]
fn crlf_fasta_is_indexed_and_fetched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crlf.fa");
    let seq: Vec<u8> = (0..250).map(|i| b"ACGTN"[(i * 7 % 5) as usize]).collect();
    let mut text = b">one desc\r\n".to_vec();
    for line in seq.chunks(60) {
        text.extend_from_slice(line);
        text.extend_from_slice(b"\r\n");
    }
    text.extend_from_slice(b">two\r\nACGT\r\n");
    std::fs::write(&path, &text).unwrap();
    let mut fasta = IndexedFasta::open(&path).unwrap();
    assert_eq!(fasta.entries()[0].line_width, 62);
    let mut rec = Record::default();
    fasta
        .fetch(&"one:55-130".parse().unwrap(), &mut rec)
        .unwrap();
    assert_eq!(rec.sequence, &seq[54..130]);
    fasta.fetch(&"two".parse().unwrap(), &mut rec).unwrap();
    assert_eq!(rec.sequence, b"ACGT");
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    /// Writes records as FASTA or FASTQ wrapped at `width`, with optional CRLF and (FASTA
    /// only) empty lines after every line when `blank` is set.
    fn render(
        recs: &[(String, Vec<u8>)],
        fastq: bool,
        width: usize,
        crlf: bool,
        blank: bool,
    ) -> Vec<u8> {
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut out = Vec::new();
        for (name, seq) in recs {
            out.push(if fastq { b'@' } else { b'>' });
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(eol);
            let lines = |out: &mut Vec<u8>, data: &[u8]| {
                if data.is_empty() && fastq {
                    out.extend_from_slice(eol);
                }
                for line in data.chunks(width) {
                    out.extend_from_slice(line);
                    out.extend_from_slice(eol);
                    if blank && !fastq {
                        out.extend_from_slice(eol);
                    }
                }
            };
            lines(&mut out, seq);
            if fastq {
                out.push(b'+');
                out.extend_from_slice(eol);
                let qual: Vec<u8> = seq.iter().map(|b| b'!' + b % 40).collect();
                lines(&mut out, &qual);
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn written_records_read_back(
            recs in prop::collection::vec(
                ("[A-Za-z0-9_.|-]{1,12}", prop::collection::vec(prop::sample::select(b"ACGTNacgtnRYKM".to_vec()), 0..200)),
                1..5),
            fastq in any::<bool>(),
            width in 1usize..100,
            crlf in any::<bool>(),
            blank in any::<bool>(),
            gzip in any::<bool>(),
            piece in 1usize..50,
        ) {
            let mut bytes = render(&recs, fastq, width, crlf, blank);
            if gzip {
                let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(&bytes).unwrap();
                bytes = enc.finish().unwrap();
            }
            // Whole records.
            let mut reader = SeqReader::from_reader(std::io::Cursor::new(bytes.clone())).unwrap();
            prop_assert_eq!(reader.format(), if fastq { Format::Fastq } else { Format::Fasta });
            let got = read_all(&mut reader);
            prop_assert_eq!(got.len(), recs.len());
            for (g, (name, seq)) in got.iter().zip(&recs) {
                prop_assert_eq!(&g.name, name);
                prop_assert_eq!(&g.sequence, seq);
                prop_assert_eq!(g.quality.len(), if fastq { seq.len() } else { 0 });
            }
            // Streamed in pieces of `piece` bases.
            let mut reader = SeqReader::from_reader(std::io::Cursor::new(bytes)).unwrap();
            let mut header = RecordHeader::default();
            for (name, seq) in &recs {
                prop_assert!(reader.next_record(&mut header).unwrap());
                prop_assert_eq!(&header.name, name);
                let mut buf = Vec::new();
                while reader.read_bases(&mut buf, piece).unwrap() > 0 {}
                prop_assert_eq!(&buf, seq);
            }
            prop_assert!(!reader.next_record(&mut header).unwrap());
        }

        #[test]
        fn region_notation_round_trips(name in "[A-Za-z0-9_:.]{1,10}", start in 0u64..1_000_000, len in 1u64..1000) {
            let r = Region::new(name, start, start + len);
            prop_assert_eq!(r.to_string().parse::<Region>().unwrap(), r);
        }
    }
}

//! Read + tokenize throughput (criterion), in MB/s of uncompressed FASTA text.
//!
//! Input: the genome named by `GLANCE_BENCH_FASTA` (plain or gzip FASTA), else
//! ../shared/data/genomes/Kp1084.fna.gz when present, else the committed 200 kb excerpt
//! test-data/Kp1084_200kb.fa.gz. The text is held in memory in three encodings (plain,
//! gzip, BGZF) so that the disk is not measured. Cases:
//! - `tokenize`: the rolling tokenizer alone over the record's bases (k=6, stride 1);
//! - `read/{plain,gzip,bgzf}`: parsing records only (SeqReader::read_record);
//! - `read_tokenize/{plain,gzip,bgzf}`: streaming read + chunk + tokenize, as
//!   `glance tokenize` does;
//! - `inflate/{gzip,bgzf}`: decompression alone, the floor for compressed input.

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glance_seq::{Chunk, ChunkOptions, Chunker, Record, SeqReader, Tokenizer, TokenizerOptions};

fn genome_text() -> (String, Vec<u8>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates = [
        std::env::var_os("GLANCE_BENCH_FASTA").map(PathBuf::from),
        Some(root.join("../shared/data/genomes/Kp1084.fna.gz")),
        Some(root.join("test-data/Kp1084_200kb.fa.gz")),
    ];
    let path = candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .expect("no benchmark genome found");
    let raw = std::fs::read(&path).expect("read genome");
    let mut text = Vec::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut text)
            .expect("inflate genome");
    } else {
        text = raw;
    }
    (path.display().to_string(), text)
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(text).expect("gzip");
    enc.finish().expect("gzip")
}

fn bgzf(text: &[u8]) -> Vec<u8> {
    let mut w = noodles_bgzf::io::Writer::new(Vec::new());
    w.write_all(text).expect("bgzf");
    w.finish().expect("bgzf")
}

fn read_tokenize(bytes: &'static [u8], tokenizer: &Tokenizer, tokens: &mut Vec<u32>) -> usize {
    let reader = SeqReader::from_reader(Cursor::new(bytes)).expect("open");
    let options = ChunkOptions {
        size: 1 << 20,
        halo_left: 0,
        halo_right: tokenizer.options().k - 1,
    };
    let mut chunker = Chunker::new(reader, options).expect("chunker");
    let mut chunk = Chunk::default();
    let mut n = 0;
    while chunker.next_chunk(&mut chunk).expect("chunk") {
        tokens.clear();
        n += tokenizer
            .tokenize_chunk(&chunk, tokens)
            .expect("tokens")
            .count;
    }
    n
}

fn read_only(bytes: &'static [u8]) -> usize {
    let mut reader = SeqReader::from_reader(Cursor::new(bytes)).expect("open");
    let mut rec = Record::default();
    let mut n = 0;
    while reader.read_record(&mut rec).expect("record") {
        n += rec.sequence.len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let (name, text) = genome_text();
    eprintln!(
        "benchmark genome: {name} ({} bytes of FASTA text)",
        text.len()
    );
    let plain: &'static [u8] = Box::leak(text.clone().into_boxed_slice());
    let gz: &'static [u8] = Box::leak(gzip(&text).into_boxed_slice());
    let bg: &'static [u8] = Box::leak(bgzf(&text).into_boxed_slice());
    let tokenizer = Tokenizer::new(TokenizerOptions::default()).expect("tokenizer");
    let mut record = Record::default();
    SeqReader::from_reader(Cursor::new(plain))
        .expect("open")
        .read_record(&mut record)
        .expect("record");

    let mut g = c.benchmark_group("glance-seq");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    let mut tokens = Vec::new();
    g.bench_function("tokenize", |b| {
        b.iter(|| {
            tokens.clear();
            tokenizer.tokenize_into(&record.sequence, &mut tokens);
            tokens.len()
        })
    });
    for (label, bytes) in [("plain", plain), ("gzip", gz), ("bgzf", bg)] {
        g.bench_function(format!("read/{label}"), |b| b.iter(|| read_only(bytes)));
        g.bench_function(format!("read_tokenize/{label}"), |b| {
            b.iter(|| read_tokenize(bytes, &tokenizer, &mut tokens))
        });
    }
    let mut sink = vec![0u8; 1 << 16];
    g.bench_function("inflate/gzip", |b| {
        b.iter(|| {
            let mut d = flate2::read::MultiGzDecoder::new(gz);
            while d.read(&mut sink).expect("inflate") > 0 {}
        })
    });
    g.bench_function("inflate/bgzf", |b| {
        b.iter(|| {
            let mut d = noodles_bgzf::io::Reader::new(bg);
            while d.read(&mut sink).expect("inflate") > 0 {}
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

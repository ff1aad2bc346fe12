//! Read + tokenize throughput (criterion), in MB/s of uncompressed FASTA text.
//!
//! Input: the genome named by `GLANCE_BENCH_FASTA` (plain or gzip FASTA), else
//! ../shared/data/genomes/Kp1084.fna.gz when present, else the committed 200 kb excerpt
//! test-data/Kp1084_200kb.fa.gz. The text is held in memory in three encodings (plain,
//! gzip, BGZF) so that the disk is not measured. Cases:
//! - `tokenize`: the rolling tokenizer alone over the record's bases (k=6, stride 1);
//! - `read/{plain,gzip,bgzf}`: parsing records only (SeqReader::read_record);
//! - `read_tokenize/{plain,gzip,bgzf}`: streaming read + chunk + tokenize, as
//!   `glance tokenize` does, on one thread; `read_tokenize/{gzip,bgzf}-2threads`: the
//!   same with inflation on other threads (gzip: one background thread; BGZF: two
//!   workers), as `glance tokenize` does by default;
//! - `inflate/{gzip,bgzf}`: decompression alone, the floor for compressed input.
//!
//! Every case runs twice: group `wall` (elapsed time, criterion's default) and group
//! `cpu` (the benchmark thread's CPU time from /proc/thread-self/schedstat, in ns), so
//! that single-core speed can be read off a machine shared with other work.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
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

fn read_tokenize(
    bytes: &'static [u8],
    threads: usize,
    tokenizer: &Tokenizer,
    tokens: &mut Vec<u32>,
) -> usize {
    let reader = SeqReader::from_reader_with_threads(Cursor::new(bytes), threads).expect("open");
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

/// CPU time of the calling thread, in nanoseconds, as the scheduler accounts it.
struct ThreadCpu;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) is needed for the cpu group")
}

static WALL: WallTime = WallTime;

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, as for wall time.
        WALL.formatter()
    }
}

fn bench_wall(c: &mut Criterion) {
    bench(c, "wall");
}

fn bench_cpu(c: &mut Criterion<ThreadCpu>) {
    bench(c, "cpu");
}

fn bench<M: Measurement>(c: &mut Criterion<M>, group: &str) {
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

    let mut g = c.benchmark_group(group);
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
            b.iter(|| read_tokenize(bytes, 1, &tokenizer, &mut tokens))
        });
    }
    // Inflating on other threads: the cpu group counts only this thread, so it shows
    // what is left on the critical path.
    for (label, bytes) in [("gzip", gz), ("bgzf", bg)] {
        g.bench_function(format!("read_tokenize/{label}-2threads"), |b| {
            b.iter(|| read_tokenize(bytes, 2, &tokenizer, &mut tokens))
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

criterion_group!(wall, bench_wall);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench_cpu
}
criterion_main!(wall, cpu);

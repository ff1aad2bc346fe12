//! The streaming chunker: bounded memory on a 50 Mb record that is never materialised,
//! and chunked tokenization with halos equal to whole-record tokenization (property
//! test, also for indexed regions whose origin is not 0).

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;

use crate::common::data;
use glance_seq::{
    Chunk, ChunkOptions, Chunker, IndexedFasta, Record, Region, SeqReader, SoftMask, Tokenizer,
    TokenizerOptions,
};
use proptest::prelude::*;

/// Base at position `p` of the synthetic record.
fn synthetic_base(p: u64) -> u8 {
    b"ACGTN"[((p.wrapping_mul(2_654_435_761) >> 13) % 5) as usize]
}

/// A FASTA stream `>big\n` + `len` bases in 80-column lines, generated on the fly.
struct Synthetic {
    len: u64,
    header_left: &'static [u8],
    pos: u64,
    col: u32,
}

impl Read for Synthetic {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            if let Some((&b, rest)) = self.header_left.split_first() {
                buf[n] = b;
                self.header_left = rest;
            } else if self.pos == self.len {
                break;
            } else if self.col == 80 {
                buf[n] = b'\n';
                self.col = 0;
            } else {
                buf[n] = synthetic_base(self.pos);
                self.pos += 1;
                self.col += 1;
            }
            n += 1;
        }
        Ok(n)
    }
}

#[test]
fn fifty_megabase_record_streams_in_bounded_memory() {
    let len = 50_000_000u64;
    let reader = SeqReader::from_reader(Synthetic {
        len,
        header_left: b">big synthetic\n",
        pos: 0,
        col: 0,
    })
    .unwrap();
    let options = ChunkOptions {
        size: 1 << 16,
        halo_left: 300,
        halo_right: 500,
    };
    let mut chunker = Chunker::new(reader, options).unwrap();
    let mut chunk = Chunk::default();
    let (mut covered, mut chunks, mut max_cap) = (0u64, 0u64, 0usize);
    while chunker.next_chunk(&mut chunk).unwrap() {
        assert_eq!(chunk.core.start, covered);
        covered = chunk.core.end;
        chunks += 1;
        max_cap = max_cap.max(chunker.buffer_capacity());
        assert!(chunk.bases.len() <= options.max_chunk_len());
        if chunks % 97 == 1 || chunk.last {
            for (i, &b) in chunk.bases.iter().enumerate() {
                assert_eq!(b, synthetic_base(chunk.start + i as u64));
            }
        }
    }
    assert_eq!(covered, len);
    assert_eq!(chunks, len.div_ceil(1 << 16));
    assert_eq!(chunk.record_len, Some(len));
    assert!(
        max_cap <= options.max_chunk_len() + 1,
        "buffer grew to {max_cap} bases"
    );
    assert!(chunk.bases.capacity() <= 2 * options.max_chunk_len());
}

fn fasta_bytes(records: &[Vec<u8>], width: usize, crlf: bool) -> Vec<u8> {
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out = Vec::new();
    for (i, seq) in records.iter().enumerate() {
        out.extend_from_slice(format!(">r{i}").as_bytes());
        out.extend_from_slice(eol);
        for line in seq.chunks(width) {
            out.extend_from_slice(line);
            out.extend_from_slice(eol);
        }
    }
    out
}

fn chunked_tokens(
    tokenizer: &Tokenizer,
    source: impl glance_seq::SequenceSource,
    options: ChunkOptions,
) -> Vec<Vec<u32>> {
    let mut chunker = Chunker::new(source, options).unwrap();
    let mut chunk = Chunk::default();
    let mut per_record: Vec<Vec<u32>> = Vec::new();
    while chunker.next_chunk(&mut chunk).unwrap() {
        if chunk.first {
            per_record.push(Vec::new());
        }
        let tokens = per_record.last_mut().unwrap();
        let before = tokens.len();
        let span = tokenizer.tokenize_chunk(&chunk, tokens).unwrap();
        if span.count > 0 {
            assert_eq!(span.first as usize, before);
        }
    }
    per_record
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn chunked_tokenization_equals_whole(
        records in prop::collection::vec(
            prop::collection::vec(prop::sample::select(b"ACGTNacgtR".to_vec()), 0..300), 1..4),
        k in 1usize..=8,
        stride in 1usize..=5,
        canonical in any::<bool>(),
        unknown_soft in any::<bool>(),
        size in 1usize..60,
        halo_left in 0usize..10,
        extra in 0usize..4,
        width in 1usize..90,
        crlf in any::<bool>(),
    ) {
        let tokenizer = Tokenizer::new(TokenizerOptions {
            k, stride, canonical,
            soft_mask: if unknown_soft { SoftMask::Unknown } else { SoftMask::Upper },
        }).unwrap();
        let bytes = fasta_bytes(&records, width, crlf);
        let reader = SeqReader::from_reader(std::io::Cursor::new(bytes)).unwrap();
        let options = ChunkOptions { size, halo_left, halo_right: k - 1 + extra };
        let got = chunked_tokens(&tokenizer, reader, options);
        prop_assert_eq!(got.len(), records.len());
        for (seq, tokens) in records.iter().zip(&got) {
            let mut want = Vec::new();
            tokenizer.tokenize_into(seq, &mut want);
            prop_assert_eq!(tokens, &want);
            prop_assert_eq!(want.len() as u64, tokenizer.token_count(seq.len() as u64));
        }
    }
}

#[test]
fn too_small_right_halo_is_an_error_not_a_silent_loss() {
    let tokenizer = Tokenizer::new(TokenizerOptions {
        k: 4,
        ..Default::default()
    })
    .unwrap();
    let reader = SeqReader::from_reader(&b">a\nACGTACGTACGT\n"[..]).unwrap();
    let mut chunker = Chunker::new(reader, ChunkOptions::symmetric(5, 2)).unwrap();
    let mut chunk = Chunk::default();
    assert!(chunker.next_chunk(&mut chunk).unwrap());
    assert!(tokenizer.tokenize_chunk(&chunk, &mut Vec::new()).is_err());
}

#[test]
fn region_chunks_use_chromosome_coordinates_and_region_stride_grid() {
    let path = data("small.fa.gz");
    let region = Region::new("kp_a", 1001, 2345);
    let mut whole = Record::default();
    IndexedFasta::open(&path)
        .unwrap()
        .fetch(&region, &mut whole)
        .unwrap();
    let tokenizer = Tokenizer::new(TokenizerOptions {
        k: 6,
        stride: 4,
        ..Default::default()
    })
    .unwrap();
    let mut want = Vec::new();
    tokenizer.tokenize_into(&whole.sequence, &mut want);
    let source = IndexedFasta::open(&path)
        .unwrap()
        .regions(vec![region])
        .unwrap();
    let mut chunker = Chunker::new(
        source,
        ChunkOptions {
            size: 101,
            halo_left: 0,
            halo_right: 5,
        },
    )
    .unwrap();
    let mut chunk = Chunk::default();
    let mut got = Vec::new();
    let mut first = true;
    while chunker.next_chunk(&mut chunk).unwrap() {
        if first {
            assert_eq!(
                (chunk.origin, chunk.start, chunk.core.start),
                (1001, 1001, 1001)
            );
            assert_eq!(chunk.record_len, Some(2345 - 1001));
            first = false;
        }
        tokenizer.tokenize_chunk(&chunk, &mut got).unwrap();
    }
    assert_eq!(chunk.core.end, 2345);
    assert_eq!(got, want);
}

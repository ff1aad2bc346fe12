//! [`Chunker`]: cuts every record of a [`SequenceSource`] into chunks of a fixed number
//! of core bases plus a halo of context on each side, holding at most
//! `halo_left + size + halo_right + 1` bases at any time, whatever the record length.

use std::ops::Range;

use crate::error::SeqError;
use crate::record::RecordHeader;
use crate::source::SequenceSource;

/// How records are cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Core bases per chunk (the last chunk of a record may have fewer); at least 1.
    pub size: usize,
    /// Bases of context before the core (clipped at the record start).
    pub halo_left: usize,
    /// Bases of context after the core (clipped at the record end).
    pub halo_right: usize,
}

impl ChunkOptions {
    /// Chunks of `size` core bases with the same halo on both sides.
    pub fn symmetric(size: usize, halo: usize) -> Self {
        ChunkOptions {
            size,
            halo_left: halo,
            halo_right: halo,
        }
    }

    /// The most bases a chunk (core and halos) can hold.
    pub fn max_chunk_len(&self) -> usize {
        self.halo_left + self.size + self.halo_right
    }
}

/// A piece of one record: its core bases plus halo context.
///
/// All coordinates are 0-based positions in the named sequence (for an indexed region
/// they are chromosome coordinates, not offsets within the region).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    /// Name of the record (sequence) the chunk comes from.
    pub name: String,
    /// 0-based index of the record (or region) in its input.
    pub record_index: u64,
    /// Position of the record's (or region's) first base; token and stride grids are
    /// anchored here. 0 for whole records.
    pub origin: u64,
    /// Position of `bases[0]`.
    pub start: u64,
    /// The positions this chunk owns (no halo). Consecutive chunks of a record have
    /// adjacent cores that together cover the record exactly once.
    pub core: Range<u64>,
    /// The bases from `start` to `start + bases.len()`: halo, core, halo.
    pub bases: Vec<u8>,
    /// The record length, when known: always on the last chunk of a record, and on
    /// every chunk when the source knows it up front (indexed regions).
    pub record_len: Option<u64>,
    /// True for the first chunk of a record.
    pub first: bool,
    /// True for the last chunk of a record. An empty record yields one chunk with an
    /// empty core that is both first and last.
    pub last: bool,
}

impl Chunk {
    /// The core bases (without halos).
    pub fn core_bases(&self) -> &[u8] {
        let from = (self.core.start - self.start) as usize;
        let to = (self.core.end - self.start) as usize;
        &self.bases[from..to]
    }

    /// Position one past the last base held.
    pub fn end(&self) -> u64 {
        self.start + self.bases.len() as u64
    }
}

/// Streams [`Chunk`]s from a [`SequenceSource`], record after record, in input order.
///
/// ```no_run
/// use glance_seq::{Chunk, ChunkOptions, Chunker, SeqReader};
/// let reader = SeqReader::open("genome.fa")?;
/// let mut chunker = Chunker::new(reader, ChunkOptions::symmetric(1 << 20, 64))?;
/// let mut chunk = Chunk::default();
/// while chunker.next_chunk(&mut chunk)? {
///     println!("{} {:?} ({} bases with halo)", chunk.name, chunk.core, chunk.bases.len());
/// }
/// # Ok::<(), glance_seq::SeqError>(())
/// ```
pub struct Chunker<S> {
    source: S,
    options: ChunkOptions,
    header: RecordHeader,
    in_record: bool,
    ended: bool,
    emitted: bool,
    /// Bases of the current record at record-local positions `buf_start..`.
    buf: Vec<u8>,
    buf_start: u64,
    /// Record-local position where the next core starts.
    core_start: u64,
}

impl<S: SequenceSource> Chunker<S> {
    /// A chunker over `source`; fails if `options.size` is 0.
    pub fn new(source: S, options: ChunkOptions) -> Result<Self, SeqError> {
        if options.size == 0 {
            return Err(SeqError::Options("chunk size must be at least 1".into()));
        }
        Ok(Chunker {
            source,
            options,
            header: RecordHeader::default(),
            in_record: false,
            ended: false,
            emitted: false,
            buf: Vec::new(),
            buf_start: 0,
            core_start: 0,
        })
    }

    /// The options in use.
    pub fn options(&self) -> ChunkOptions {
        self.options
    }

    /// Capacity of the internal base buffer: bounded by
    /// `options.max_chunk_len() + 1` whatever the record lengths (exposed so that tests
    /// and diagnostics can check it).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The source, e.g. to ask a reader for its line number.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The header of the record being chunked.
    pub fn header(&self) -> &RecordHeader {
        &self.header
    }

    /// Fills `chunk` (reusing its buffers) with the next chunk. Returns `Ok(false)` when
    /// every record has been chunked.
    pub fn next_chunk(&mut self, chunk: &mut Chunk) -> Result<bool, SeqError> {
        let o = self.options;
        loop {
            if !self.in_record {
                if !self.source.next_record(&mut self.header)? {
                    return Ok(false);
                }
                self.in_record = true;
                self.ended = false;
                self.emitted = false;
                self.buf.clear();
                self.buf_start = 0;
                self.core_start = 0;
            }
            // Read up to the end of this chunk's right halo, plus one base of look-ahead
            // so that the last chunk of a record is known to be the last.
            let want = self.core_start + (o.size + o.halo_right) as u64 + 1;
            while !self.ended {
                let have = self.buf_start + self.buf.len() as u64;
                if have >= want {
                    break;
                }
                let need = (want - have) as usize;
                if self.buf.capacity() < self.buf.len() + need {
                    // Grow to exactly the bound, never beyond.
                    self.buf.reserve_exact(need);
                }
                if self.source.read_bases(&mut self.buf, need)? == 0 {
                    self.ended = true;
                }
            }
            let buf_end = self.buf_start + self.buf.len() as u64;
            if self.core_start >= buf_end && self.emitted {
                self.in_record = false;
                continue;
            }
            let core_end = (self.core_start + o.size as u64).min(buf_end);
            let lo = self
                .core_start
                .saturating_sub(o.halo_left as u64)
                .max(self.buf_start);
            let hi = (core_end + o.halo_right as u64).min(buf_end);
            let off = self.header.offset;
            chunk.name.clone_from(&self.header.name);
            chunk.record_index = self.header.index;
            chunk.origin = off;
            chunk.start = off + lo;
            chunk.core = off + self.core_start..off + core_end;
            chunk.bases.clear();
            chunk.bases.extend_from_slice(
                &self.buf[(lo - self.buf_start) as usize..(hi - self.buf_start) as usize],
            );
            chunk.first = !self.emitted;
            chunk.last = self.ended && core_end == buf_end;
            chunk.record_len = if self.ended {
                Some(buf_end)
            } else {
                self.header.length
            };
            self.emitted = true;
            self.core_start = core_end;
            if chunk.last {
                self.in_record = false;
            }
            let keep_from = self.core_start.saturating_sub(o.halo_left as u64);
            if keep_from > self.buf_start {
                let drop = ((keep_from - self.buf_start) as usize).min(self.buf.len());
                self.buf.drain(..drop);
                self.buf_start += drop as u64;
            }
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::SeqReader;

    fn chunks(text: &'static [u8], o: ChunkOptions) -> Vec<Chunk> {
        let reader = SeqReader::from_reader(text).unwrap();
        let mut chunker = Chunker::new(reader, o).unwrap();
        let mut out = Vec::new();
        let mut c = Chunk::default();
        while chunker.next_chunk(&mut c).unwrap() {
            out.push(c.clone());
        }
        out
    }

    #[test]
    fn cores_tile_records_and_halos_clip() {
        let cs = chunks(
            b">a\nACGTACGTAC\n>e\n>b\nGGG\n",
            ChunkOptions::symmetric(4, 2),
        );
        let view: Vec<_> = cs
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.start,
                    c.core.clone(),
                    std::str::from_utf8(&c.bases).unwrap(),
                    c.first,
                    c.last,
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                ("a", 0, 0..4, "ACGTAC", true, false),
                ("a", 2, 4..8, "GTACGTAC", false, false),
                ("a", 6, 8..10, "GTAC", false, true),
                ("e", 0, 0..0, "", true, true),
                ("b", 0, 0..3, "GGG", true, true),
            ]
        );
        assert_eq!(cs[2].record_len, Some(10));
        assert_eq!(cs[0].record_len, None);
        assert_eq!(cs[1].core_bases(), b"ACGT");
    }

    #[test]
    fn exact_multiple_has_no_empty_tail() {
        let cs = chunks(b">a\nACGTACGT\n", ChunkOptions::symmetric(4, 0));
        assert_eq!(cs.len(), 2);
        assert!(cs[1].last);
    }

    #[test]
    fn zero_size_is_rejected() {
        let reader = SeqReader::from_reader(&b">a\nA\n"[..]).unwrap();
        assert!(Chunker::new(reader, ChunkOptions::symmetric(0, 1)).is_err());
    }
}

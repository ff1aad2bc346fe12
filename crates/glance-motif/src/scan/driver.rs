//! Streams sequences through a [`Scanner`]: glance-seq's [`Chunker`] cuts each record into
//! chunks whose right halo is the widest motif minus one, the next chunk is read and
//! prepared while the current one is scanned, and the tallies accumulate over every
//! input of a run.

use std::ops::Range;

use glance_seq::{Chunk, Chunker, SequenceSource};

use super::prep::Prepared;
use super::{ChunkMeta, ScanTally, Scanner};
use crate::error::MotifError;

/// Default number of core bases per chunk.
pub const DEFAULT_CHUNK: usize = 1 << 20;

/// State carried across the inputs of one run: record names, the global window counter
/// and the per-motif tallies.
#[derive(Debug)]
pub struct ScanRun {
    /// Names of the records scanned so far, indexed by [`crate::Hit::record`].
    pub names: Vec<String>,
    /// Global index of the next record's first window.
    pub global: u64,
    /// Per-motif tallies.
    pub tallies: Vec<ScanTally>,
    /// Core bases per chunk.
    pub chunk_size: usize,
}

impl ScanRun {
    /// A new run for `scanner`.
    pub fn new(scanner: &Scanner, chunk_size: usize) -> ScanRun {
        ScanRun {
            names: Vec::new(),
            global: 0,
            tallies: scanner.new_tallies(),
            chunk_size: chunk_size.max(1),
        }
    }

    /// Scans every record of `source`.
    pub fn scan_source<S: SequenceSource + Send>(
        &mut self,
        scanner: &Scanner,
        source: S,
    ) -> Result<(), MotifError> {
        self.scan_source_with(scanner, source, |_, _| Ok(()))
    }

    /// Scans every record of `source`, calling `after_chunk(names, tallies)` after each
    /// chunk (e.g. to stream and drain hits).
    pub fn scan_source_with<S, F>(
        &mut self,
        scanner: &Scanner,
        source: S,
        after_chunk: F,
    ) -> Result<(), MotifError>
    where
        S: SequenceSource + Send,
        F: FnMut(&[String], &mut [ScanTally]) -> Result<(), MotifError>,
    {
        self.scan_owned(
            scanner,
            source,
            |_, range, out: &mut Vec<Range<u64>>| out.push(range),
            after_chunk,
        )
    }

    /// As [`ScanRun::scan_source_with`], scanning only the window starts that
    /// `owned(record_index, starts, out)` appends to `out` (sub-ranges of `starts`, in
    /// order; positions of the record); the rest of the record serves as context only.
    /// Tests and hits are those of the owned windows, so the tallies of runs that own
    /// complementary parts add up to the tallies of one run over everything.
    pub fn scan_owned<S, O, F>(
        &mut self,
        scanner: &Scanner,
        source: S,
        owned: O,
        mut after_chunk: F,
    ) -> Result<(), MotifError>
    where
        S: SequenceSource + Send,
        O: Fn(u64, Range<u64>, &mut Vec<Range<u64>>) + Sync,
        F: FnMut(&[String], &mut [ScanTally]) -> Result<(), MotifError>,
    {
        let mut chunker = Chunker::new(source, scanner.chunk_options(self.chunk_size))?;
        let mut current = Chunk::default();
        let mut next = Chunk::default();
        let mut prep = Prepared::default();
        let mut next_prep = Prepared::default();
        let mut parts = Vec::new();
        let mut next_parts = Vec::new();
        // Reads the next chunk and finds and prepares the windows it owns.
        let read_next = |chunker: &mut Chunker<S>,
                         chunk: &mut Chunk,
                         prep: &mut Prepared,
                         parts: &mut Vec<Range<u64>>|
         -> Result<bool, MotifError> {
            let more = chunker.next_chunk(chunk)?;
            parts.clear();
            if more {
                owned(chunk.record_index, chunk.core.clone(), parts);
                if !parts.is_empty() {
                    scanner.prepare(&chunk.bases, prep);
                }
            }
            Ok(more)
        };
        let mut have = read_next(&mut chunker, &mut current, &mut prep, &mut parts)?;
        let mut record_base_index = self.names.len() as u32;
        let mut last_record_index = u64::MAX;
        while have {
            if current.record_index != last_record_index {
                last_record_index = current.record_index;
                record_base_index = self.names.len() as u32;
                self.names.push(current.name.clone());
            }
            let tallies = &mut self.tallies;
            let global = self.global + (current.start - current.origin);
            // the next chunk is read and prepared while this one is scanned
            let (read, ()) = rayon::join(
                || read_next(&mut chunker, &mut next, &mut next_prep, &mut next_parts),
                || {
                    for part in &parts {
                        let meta = ChunkMeta {
                            record: record_base_index,
                            offset: current.start,
                            core_start: (part.start - current.start) as usize,
                            core_end: (part.end - current.start) as usize,
                            global,
                        };
                        scanner.scan_chunk(&current.bases, &prep, &meta, tallies);
                    }
                },
            );
            if current.last {
                self.global += current.end() - current.origin;
            }
            after_chunk(&self.names, &mut self.tallies)?;
            have = read?;
            std::mem::swap(&mut current, &mut next);
            std::mem::swap(&mut prep, &mut next_prep);
            std::mem::swap(&mut parts, &mut next_parts);
        }
        Ok(())
    }
}

//! Region queries: [`VcfReader::query`] reads only the records overlapping a set of
//! regions. With an index beside a bgzipped VCF or a BCF (`PATH.tbi`, or `PATH.csi`)
//! only the index's chunks for the regions are decompressed (noodles-tabix/csi), as
//! `bcftools view -r` does; without one the whole file is read and filtered. Each
//! record is read once, in file order, however the regions overlap.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::Path;

use glance_seq::Region;
use noodles_bgzf as bgzf;
use noodles_core::region::Interval;
use noodles_core::Position;
use noodles_csi::binning_index::index::reference_sequence::bin::Chunk;
use noodles_csi::binning_index::{merge_chunks, BinningIndex};
use noodles_vcf::variant::RecordBuf;

use super::{read_bcf_header, read_bcf_record, vcf_err, Numbering, VcfReader};
use crate::error::VariantError;

/// Does the record overlap one of `regions` (0-based half-open)?
pub(super) fn overlaps(record: &RecordBuf, regions: &[Region]) -> bool {
    let chrom = record.reference_sequence_name();
    let Some(start) = record.variant_start().map(|p| usize::from(p) as u64 - 1) else {
        return false;
    };
    let end = start + record.reference_bases().len().max(1) as u64;
    regions
        .iter()
        .any(|r| r.name == chrom && start < r.end.unwrap_or(u64::MAX) && end > r.start)
}

/// The index beside `path`, if any: `PATH.tbi`, else `PATH.csi`.
fn find_index(path: &Path) -> Result<Option<Box<dyn BinningIndex>>, VariantError> {
    let beside = |ext: &str| glance_io::with_suffix(path, ext);
    let bad =
        |p: &Path, e: io::Error| vcf_err(format!("{}: cannot read the index: {e}", p.display()));
    let tbi = beside("tbi");
    if tbi.is_file() {
        let index = noodles_tabix::fs::read(&tbi).map_err(|e| bad(&tbi, e))?;
        return Ok(Some(Box::new(index)));
    }
    let csi = beside("csi");
    if csi.is_file() {
        let index = noodles_csi::fs::read(&csi).map_err(|e| bad(&csi, e))?;
        return Ok(Some(Box::new(index)));
    }
    Ok(None)
}

impl VcfReader {
    /// Opens `path` for the records overlapping `regions` (see the module docs). A
    /// region on a contig the header does not declare is an error; errors in queried
    /// records name the record's number among those read (lines are not counted).
    pub fn query(path: &Path, regions: &[Region]) -> Result<VcfReader, VariantError> {
        let whole = VcfReader::open(path)?;
        for r in regions {
            if !whole.header().contigs().contains_key(&r.name) {
                return Err(vcf_err(format!(
                    "region {r}: the header declares no contig `{}`",
                    r.name
                )));
            }
        }
        let Some(index) = find_index(path)? else {
            let mut reader = whole;
            reader.regions = Some(regions.to_vec());
            return Ok(reader);
        };
        let bcf = whole.is_bcf();
        // reference sequence ids: the index's names (tabix), else the header's contigs
        let names: Vec<String> = match index.header() {
            Some(h) => h
                .reference_sequence_names()
                .iter()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect(),
            None => whole.header().contigs().keys().cloned().collect(),
        };
        let mut chunks = Vec::new();
        for r in regions {
            let Some(id) = names.iter().position(|n| *n == r.name) else {
                continue; // no records on that contig
            };
            let (Some(first), Some(last)) = (
                Position::new(r.start as usize + 1),
                r.end
                    .map_or(Some(Position::MAX), |e| Position::new(e as usize)),
            ) else {
                continue; // an empty region
            };
            if last < first {
                continue;
            }
            let found = index
                .query(id, Interval::from(first..=last))
                .map_err(|e| vcf_err(format!("region {r}: index query: {e}")))?;
            chunks.extend(found);
        }
        chunks.sort_by_key(|c| c.start());
        let chunks = merge_chunks(&chunks);
        let stream = ChunkStream::open(path, chunks.into(), bcf)?;
        let mut reader = VcfReader::from_reader(stream)?;
        reader.regions = Some(regions.to_vec());
        reader.numbering = Numbering::Records;
        Ok(reader)
    }
}

/// The header of a bgzipped VCF or BCF followed by the records of some of its chunks,
/// as one byte stream (what [`VcfReader::from_reader`] reads).
struct ChunkStream {
    reader: bgzf::io::Reader<File>,
    chunks: VecDeque<Chunk>,
    /// The bytes being handed out (the header, then one record at a time).
    pending: Vec<u8>,
    at: usize,
    bcf: bool,
}

impl ChunkStream {
    fn open(path: &Path, chunks: VecDeque<Chunk>, bcf: bool) -> Result<ChunkStream, VariantError> {
        let err = |e: io::Error| vcf_err(format!("cannot read: {e}"));
        let mut reader = bgzf::io::Reader::new(File::open(path).map_err(err)?);
        let header = if bcf {
            read_bcf_header(&mut reader).map_err(err)?
        } else {
            let mut header = Vec::new();
            let mut line = Vec::new();
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line).map_err(err)? == 0 {
                    break;
                }
                if line.first() != Some(&b'#') {
                    break;
                }
                header.extend_from_slice(&line);
            }
            header
        };
        Ok(ChunkStream {
            reader,
            chunks,
            pending: header,
            at: 0,
            bcf,
        })
    }

    /// Loads the next record of the chunks into `pending`; `false` after the last.
    fn next_record(&mut self) -> io::Result<bool> {
        self.pending.clear();
        self.at = 0;
        while let Some(chunk) = self.chunks.front().copied() {
            if self.reader.virtual_position() < chunk.start()
                || self.reader.virtual_position() >= chunk.end()
            {
                if self.reader.virtual_position() >= chunk.end() {
                    self.chunks.pop_front();
                    if let Some(next) = self.chunks.front() {
                        self.reader.seek(next.start())?;
                    }
                    continue;
                }
                self.reader.seek(chunk.start())?;
            }
            let got = if self.bcf {
                read_bcf_record(&mut self.reader, &mut self.pending)?
            } else {
                self.reader.read_until(b'\n', &mut self.pending)? > 0
            };
            if got {
                return Ok(true);
            }
            self.chunks.pop_front();
        }
        Ok(false)
    }
}

impl Read for ChunkStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.pending.len() && !self.next_record()? {
            return Ok(0);
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

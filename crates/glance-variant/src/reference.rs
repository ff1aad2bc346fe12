//! [`Reference`]: where the reference bases around a variant come from: an indexed
//! FASTA (plain or BGZF, through glance-seq), contigs held in memory, or several of
//! those searched in turn ([`ReferenceSet`], a pipeline's input files).

use std::collections::HashMap;

use glance_seq::{IndexedFasta, Record, Region};

use crate::error::VariantError;

/// A reference genome that can be read by region.
pub trait Reference {
    /// Length of contig `chrom`, `None` when the reference has no such contig.
    fn contig_len(&self, chrom: &str) -> Option<u64>;

    /// Bases `[start, end)` of `chrom` (within the contig).
    fn fetch(&mut self, chrom: &str, start: u64, end: u64) -> Result<Vec<u8>, VariantError>;
}

impl Reference for IndexedFasta {
    fn contig_len(&self, chrom: &str) -> Option<u64> {
        self.entry(chrom).ok().map(|e| e.length)
    }

    fn fetch(&mut self, chrom: &str, start: u64, end: u64) -> Result<Vec<u8>, VariantError> {
        let mut record = Record::default();
        IndexedFasta::fetch(self, &Region::new(chrom, start, end), &mut record)
            .map_err(|e| VariantError::Reference(format!("{chrom}:{}-{end}: {e}", start + 1)))?;
        Ok(record.sequence)
    }
}

/// Contigs held in memory, by name.
#[derive(Debug, Clone, Default)]
pub struct Contigs(pub HashMap<String, Vec<u8>>);

impl Reference for Contigs {
    fn contig_len(&self, chrom: &str) -> Option<u64> {
        self.0.get(chrom).map(|s| s.len() as u64)
    }

    fn fetch(&mut self, chrom: &str, start: u64, end: u64) -> Result<Vec<u8>, VariantError> {
        let seq = self
            .0
            .get(chrom)
            .ok_or_else(|| VariantError::Reference(format!("no contig `{chrom}`")))?;
        seq.get(start as usize..end as usize)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| {
                VariantError::Reference(format!(
                    "{chrom}:{}-{end} is outside the contig",
                    start + 1
                ))
            })
    }
}

/// Several references searched in order: a contig is read from the first that has it
/// (a run's input files, each a reference of its own).
#[derive(Default)]
pub struct ReferenceSet(pub Vec<Box<dyn Reference + Send>>);

impl ReferenceSet {
    /// The first reference holding `chrom`.
    fn holding(&mut self, chrom: &str) -> Option<&mut Box<dyn Reference + Send>> {
        self.0.iter_mut().find(|r| r.contig_len(chrom).is_some())
    }
}

impl Reference for ReferenceSet {
    fn contig_len(&self, chrom: &str) -> Option<u64> {
        self.0.iter().find_map(|r| r.contig_len(chrom))
    }

    fn fetch(&mut self, chrom: &str, start: u64, end: u64) -> Result<Vec<u8>, VariantError> {
        self.holding(chrom)
            .ok_or_else(|| VariantError::Reference(format!("no contig `{chrom}`")))?
            .fetch(chrom, start, end)
    }
}

/// A stretch of one contig held in memory, standing in for the reference while the
/// variants around it are scored (in parallel: each worker owns its windows). Fetches
/// outside the stretch are errors.
#[derive(Debug, Clone)]
pub struct Window {
    chrom: String,
    start: u64,
    bases: Vec<u8>,
    contig_len: u64,
}

impl Window {
    /// Bases `[start, end)` of `chrom` (clipped to the contig) read from `reference`.
    pub fn read(
        reference: &mut dyn Reference,
        chrom: &str,
        start: u64,
        end: u64,
    ) -> Result<Window, VariantError> {
        let contig_len = reference
            .contig_len(chrom)
            .ok_or_else(|| VariantError::Reference(format!("no contig `{chrom}`")))?;
        let (start, end) = (start.min(contig_len), end.min(contig_len));
        Ok(Window {
            chrom: chrom.to_string(),
            start,
            bases: reference.fetch(chrom, start, end)?,
            contig_len,
        })
    }
}

impl Reference for Window {
    fn contig_len(&self, chrom: &str) -> Option<u64> {
        (chrom == self.chrom).then_some(self.contig_len)
    }

    fn fetch(&mut self, chrom: &str, start: u64, end: u64) -> Result<Vec<u8>, VariantError> {
        let inside = chrom == self.chrom
            && start >= self.start
            && end <= self.start + self.bases.len() as u64
            && start <= end;
        if !inside {
            return Err(VariantError::Reference(format!(
                "{chrom}:{}-{end} is outside the window read for this variant",
                start + 1
            )));
        }
        Ok(self.bases[(start - self.start) as usize..(end - self.start) as usize].to_vec())
    }
}

//! Indexed FASTA: a FASTA (plain or BGZF) and its .fai (and .gzi) from one input split at
//! `--8<--` lines, opened through `IndexedFasta` and every entry fetched (capped at 64 kb
//! per region) and streamed as regions.
#![no_main]
use glance_fuzz::{reset, scratch, segments};
use glance_seq::{IndexedFasta, Record, RecordHeader, Region, SequenceSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = segments(data, 3);
    let dir = scratch("indexed_fetch").join("d");
    reset(&dir);
    let fa = dir.join("x.fa");
    std::fs::write(&fa, parts[0]).unwrap();
    if let Some(fai) = parts.get(1) {
        std::fs::write(dir.join("x.fa.fai"), fai).unwrap();
    }
    if let Some(gzi) = parts.get(2) {
        std::fs::write(dir.join("x.fa.gzi"), gzi).unwrap();
    }
    let Ok(mut fasta) = IndexedFasta::open(&fa) else {
        return;
    };
    let entries = fasta.entries().to_vec();
    let mut rec = Record::default();
    let mut regions = Vec::new();
    for e in entries.iter().take(16) {
        let r = Region::new(e.name.clone(), 0, e.length.min(1 << 16));
        let _ = fasta.fetch(&r, &mut rec);
        let r = Region::new(e.name.clone(), e.length.saturating_sub(100), e.length);
        let _ = fasta.fetch(&r, &mut rec);
        regions.push(r);
    }
    if let Ok(mut src) = fasta.regions(regions) {
        let mut buf = Vec::new();
        let mut header = RecordHeader::default();
        while let Ok(true) = src.next_record(&mut header) {
            buf.clear();
            while let Ok(n) = src.read_bases(&mut buf, 4096) {
                if n == 0 {
                    break;
                }
                buf.clear();
            }
        }
    }
});

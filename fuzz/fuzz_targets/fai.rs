//! .fai parsing, then every entry's byte offsets and region checks; and the .fai builder
//! over the same bytes taken as FASTA.
#![no_main]
use glance_seq::{build_fai, read_fai, Region};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = read_fai(data) {
        for e in &entries {
            for pos in [0, 1, e.length / 2, e.length.saturating_sub(1), e.length] {
                let _ = e.byte_offset(pos);
            }
            let _ = Region::new(e.name.clone(), 0, e.length).resolve(e.length);
        }
    }
    let _ = build_fai(data);
});

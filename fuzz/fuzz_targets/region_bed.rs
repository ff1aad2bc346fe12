//! `chr:start-end` regions (each line) and BED files, with resolution against a length.
#![no_main]
use glance_seq::{read_bed, Region};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            if let Ok(r) = line.parse::<Region>() {
                let _ = r.to_string();
                let _ = r.resolve(1_000_000);
                let _ = r.resolve(u64::MAX);
            }
        }
    }
    if let Ok(regions) = read_bed(data) {
        for r in regions {
            let _ = r.resolve(1_000_000);
        }
    }
});

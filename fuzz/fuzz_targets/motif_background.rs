//! MEME background files (`--bfile`).
#![no_main]
use glance_motif::parse_background_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_background_file(text);
    }
});

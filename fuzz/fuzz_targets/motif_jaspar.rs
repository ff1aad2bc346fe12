//! Motif parsing in the Jaspar format, then the scanner (PSSMs, p-value tables) built from
//! what parses and run over a short sequence.
#![no_main]
use glance_motif::{parse_motifs, MotifFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = MotifFormat::detect(text);
    if let Ok(file) = parse_motifs(text, MotifFormat::Jaspar, "fuzz") {
        glance_fuzz::scan_motifs(&file);
    }
});

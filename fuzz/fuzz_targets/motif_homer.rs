//! Motif parsing in the Homer format, then the scanner (PSSMs, p-value tables) built from
//! what parses and run over a short sequence.
#![no_main]
use glance_motif::MotifFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| glance_fuzz::parse_and_scan_motifs(data, MotifFormat::Homer));

//! .gzi: the BGZF block walk that builds a .gzi in memory, over arbitrary bytes.
#![no_main]
use glance_seq::build_gzi;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = build_gzi(std::io::Cursor::new(data));
});

//! `glance merge`'s scan tables read back: scan_tallies.tsv and scan_hits.tsv (split
//! from one input at `--8<--`) for the default motif set (bundled JASPAR, NRDB
//! background, p <= 1e-4, as `glance run` scans), then, when they parse, ranked into
//! hits with q-values and written as TSV, as `glance merge` does with them.
#![no_main]
use std::sync::OnceLock;

use glance_fuzz::{reset, scratch, segments};
use glance_workflow::{read_tallies, MotifSet, MotifsConfig};
use libfuzzer_sys::fuzz_target;

/// The default motif set, compiled once per process.
fn motifs() -> &'static MotifSet {
    static SET: OnceLock<MotifSet> = OnceLock::new();
    SET.get_or_init(|| MotifSet::load(&MotifsConfig::default(), false).expect("bundled motifs"))
}

fuzz_target!(|data: &[u8]| {
    let parts = segments(data, 2);
    let dir = scratch("scan_tallies");
    reset(&dir);
    std::fs::write(dir.join("scan_tallies.tsv"), parts[0]).unwrap();
    std::fs::write(dir.join("scan_hits.tsv"), parts.get(1).copied().unwrap_or(b"")).unwrap();
    let scanner = &motifs().scanner;
    if let Ok(tallies) = read_tallies(&dir, scanner) {
        let hits = scanner.finish(tallies, true);
        let names = vec![String::from("chr"); 4];
        let named: Vec<_> = hits
            .into_iter()
            .filter(|h| (h.record as usize) < names.len())
            .collect();
        let _ = glance_motif::output::tsv_blocks(&named, scanner.motifs(), &names, true);
    }
});

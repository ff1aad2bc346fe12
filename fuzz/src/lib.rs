//! Helpers shared by the fuzz targets: a per-process scratch directory for loaders that
//! read paths (with fixture files copied in), the segment split used by targets that
//! take several files at once, and the body of the motif-format targets.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The separator between the files of a multi-file input (a line of its own).
pub const SEPARATOR: &[u8] = b"\n--8<--\n";

/// Splits `data` at [`SEPARATOR`] into at most `n` parts (the last part keeps the rest).
pub fn segments(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() + 1 < n {
        match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + SEPARATOR.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

/// A scratch directory private to this process and target, emptied on first use.
pub fn scratch(target: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("glance-fuzz-{target}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch directory");
        d
    })
    .clone()
}

/// The [`scratch`] directory of `target`, holding copies of `files` of the test-data
/// directory `fixture` (each copied on first use).
pub fn scratch_with(target: &str, fixture: &str, files: &[&str]) -> PathBuf {
    let dir = scratch(target);
    for f in files {
        let p = dir.join(f);
        if !p.exists() {
            std::fs::copy(test_data(fixture).join(f), &p).expect("fixture copy");
        }
    }
    dir
}

/// Empties `dir` (files and subdirectories) and recreates it.
pub fn reset(dir: &std::path::Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch directory");
}

/// Path to a file of the repository's test-data.
pub fn test_data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../test-data")
        .join(rel)
}

/// The body of the motif-format targets: `data`, when it is UTF-8, through format
/// detection and the parser of `format`, then what parses through `scan_motifs`.
pub fn parse_and_scan_motifs(data: &[u8], format: glance_motif::MotifFormat) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = glance_motif::MotifFormat::detect(text);
    if let Ok(file) = glance_motif::parse_motifs(text, format, "fuzz") {
        scan_motifs(&file);
    }
}

/// Builds a scanner (PSSMs, p-value tables) from parsed motifs and scans a short
/// sequence with it, as `glance scan` does.
fn scan_motifs(file: &glance_motif::MotifFile) {
    use glance_motif::scan::driver::ScanRun;
    use glance_motif::{ScanOptions, Scanner};
    let bg = file.background.unwrap_or([0.25; 4]);
    let Ok(scanner) = Scanner::new(&file.motifs, bg, ScanOptions::default()) else {
        return;
    };
    let fasta = b">s\nACGTNNacgtTTGACGCATGCGGATCCAAGCTTACGTACGTAGCTAGCATCGATCGATGCTAGCTAGGG\n";
    let Ok(reader) =
        glance_seq::SeqReader::from_reader_with_threads(std::io::Cursor::new(&fasta[..]), 1)
    else {
        return;
    };
    let mut run = ScanRun::new(&scanner, 32);
    if run.scan_source(&scanner, reader).is_ok() {
        let _ = scanner.finish(run.tallies, true);
    }
}

//! `glance merge` over two shard directories built from one input split at `--8<--`
//! lines: per shard a manifest.json, records.tsv, embeddings.npy, motif_scores.npy and
//! motif_scores.tsv. The harness rewrites each manifest's `outputs` with the true sizes
//! and checksums of the files it wrote (keeping the names the fuzzed manifest lists), so
//! that inputs get past the checksum check into the merge itself. hits.tsv is never
//! listed (it would load motif files named by the fuzzed config).
#![no_main]
use glance_fuzz::{reset, scratch, segments};
use glance_io::FileEntry;
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 4] = [
    "records.tsv",
    "embeddings.npy",
    "motif_scores.npy",
    "motif_scores.tsv",
];

fuzz_target!(|data: &[u8]| {
    let parts = segments(data, 10);
    let root = scratch("manifest_merge");
    reset(&root);
    let mut dirs = Vec::new();
    for s in 0..2 {
        let dir = root.join(format!("s{s}"));
        std::fs::create_dir_all(&dir).unwrap();
        let seg = |i: usize| parts.get(s * 5 + i).copied();
        for (i, name) in FILES.iter().enumerate() {
            if let Some(bytes) = seg(i + 1) {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
        // regions.bed is rewritten by merge from records; give it something listed.
        std::fs::write(dir.join("regions.bed"), b"").unwrap();
        if let Some(m) = seg(0) {
            let text = match serde_json::from_slice::<serde_json::Value>(m) {
                Ok(mut v) => {
                    if let Some(outs) = v.get_mut("outputs").and_then(|o| o.as_array_mut()) {
                        let fixed: Vec<serde_json::Value> = outs
                            .iter()
                            .filter_map(|o| o.get("path").and_then(|p| p.as_str()))
                            .filter(|p| *p == "regions.bed" || FILES.contains(p))
                            .filter_map(|p| FileEntry::of(&dir.join(p), p.to_string()).ok())
                            .filter_map(|e| serde_json::to_value(e).ok())
                            .collect();
                        *outs = fixed;
                    }
                    serde_json::to_vec(&v).unwrap()
                }
                Err(_) => m.to_vec(),
            };
            std::fs::write(dir.join("manifest.json"), text).unwrap();
        }
        dirs.push(dir);
    }
    let _ = glance_workflow::merge(&dirs, &root.join("out"), true);
});

//! report.html: `glance run` ends with a self-contained page (every section present,
//! every link to an output that exists, nothing fetched from elsewhere); shards write
//! none and `glance merge` writes one for the merged directory; `--report false` turns
//! it off.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crate::common::{data, merge, run_small};

/// The values of every `attr="..."` in `html`.
fn attributes<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    html.split(&format!("{attr}=\""))
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect()
}

/// Checks the structure of `dir/report.html`; returns its text.
fn check_report(dir: &Path) -> String {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    for id in [
        "inputs", "model", "stages", "motifs", "density", "heatmap", "pca", "outputs",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
        assert!(
            html.contains(&format!("href=\"#{id}\"")),
            "nav link to {id}"
        );
    }
    // self-contained: no external resource, no network address
    for banned in [
        "http:", "https:", "<link", "src=", "url(", "@import", "//cdn",
    ] {
        assert!(!html.contains(banned), "report.html contains {banned}");
    }
    // every link points to a file of the directory, and every output is linked
    let links: Vec<&str> = attributes(&html, "href")
        .into_iter()
        .filter(|h| !h.starts_with('#'))
        .collect();
    for l in &links {
        assert!(dir.join(l).is_file(), "link to missing {l}");
    }
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    for p in manifest
        .split("\"path\": \"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .filter(|p| dir.join(p).is_file() && !p.starts_with('/'))
    {
        if p != "report.html" && !p.contains(':') {
            assert!(links.contains(&p), "{p} is not linked");
        }
    }
    assert!(links.contains(&"manifest.json"));
    assert!(manifest.contains("\"path\": \"report.html\""));
    html
}

#[test]
fn a_run_writes_a_self_contained_report_with_every_section_and_link() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_small(&data("workflow/multi.fa.gz"), &out, &["--tracks"]);
    let html = check_report(&out);
    assert!(html.contains("tracks/embedding.PC1.bw"));
    // ten motifs with logos, sorted by hits; one density plot per record; the scatter
    assert_eq!(html.matches("<svg class=\"logo\"").count(), 10);
    let records = std::fs::read_to_string(out.join("records.tsv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(html.matches("<div class=\"track\">").count(), records);
    assert!(html.contains("id=\"pca-record\"") && html.contains("id=\"pca-gc\""));
    assert!(!html.contains("inputs not readable"), "GC from the inputs");
    assert!(html.contains("<td>read</td>") && html.contains("<td>embed</td>"));
    let hits: Vec<u64> = html
        .split("<td><code>MA")
        .skip(1)
        .map(|row| {
            let cells: Vec<&str> = row.split("<td>").collect();
            cells[2].split('<').next().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(hits.len(), 10);
    assert!(hits.windows(2).all(|w| w[0] >= w[1]), "{hits:?}");
}

#[test]
fn shards_leave_the_report_to_merge_and_report_false_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let input = data("workflow/multi.fa.gz");
    let shards: Vec<PathBuf> = (1..=2).map(|i| dir.path().join(format!("s{i}"))).collect();
    for (i, s) in shards.iter().enumerate() {
        run_small(&input, s, &["--shard", &format!("{}/2", i + 1)]);
        assert!(!s.join("report.html").exists());
    }
    let merged = dir.path().join("merged");
    merge(&shards, &merged);
    let html = check_report(&merged);
    assert!(
        html.contains("shard 1/2") && html.contains("shard 2/2") && html.contains("<td>merge</td>")
    );
    let off = dir.path().join("off");
    run_small(&input, &off, &["--report", "false"]);
    assert!(!off.join("report.html").exists());
    let m = std::fs::read_to_string(off.join("manifest.json")).unwrap();
    assert!(!m.contains("report.html"));
}

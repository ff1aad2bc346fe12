//! report.html: one self-contained page (inline CSS, SVG and a few lines of JavaScript;
//! no network, no external file) summarising a complete output directory, written by an
//! unsharded `glance run` and by `glance merge`, just before the manifest:
//!
//! inputs and settings, a model summary (from its config.json), per-stage wall and CPU
//! time (the manifest's stages; for a merge, every shard's), the top motifs by hit count
//! with sequence logos, hit density along each record, a heatmap of region affinities
//! for those motifs, a scatter of the regions on the embeddings' first two principal
//! components coloured by record or GC content, and links to every output file.
//!
//! Its data come from [`RunTables`] (the directory's own tables), GC content from a
//! second read of the inputs (left out, with a note, when they cannot be read).

use std::fmt::Write as _;
use std::path::Path;

use glance_io::{write_measured, FileEntry};
use glance_motif::Scanner;
use glance_seq::{Record, SeqReader};

use crate::config::Config;
use crate::error::WorkflowError;
use crate::manifest::{Manifest, StageTiming, MANIFEST};
use crate::tracks::RunTables;

/// The report's file name.
pub const REPORT: &str = "report.html";

/// Records drawn in the hit-density section (the longest ones).
const DENSITY_RECORDS: usize = 24;
/// Columns of the heatmap and bars of a density plot at most (regions are pooled).
const MAX_COLUMNS: usize = 600;
/// Points of the PCA scatter at most (every k-th region beyond).
const MAX_POINTS: usize = 4000;

/// Colours of records in the scatter (cycled).
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// What the report shows besides the tables.
pub(crate) struct ReportInput<'a> {
    /// The manifest so far (without the report and the manifest itself).
    pub manifest: &'a Manifest,
    /// The resolved configuration.
    pub config: &'a Config,
    /// Stage timings by group: the run's, or every shard's and the merge's.
    pub stages: Vec<(String, Vec<StageTiming>)>,
    /// The run's motifs (for the logos), if motifs were scanned.
    pub scanner: Option<&'a Scanner>,
}

/// Writes `outdir/report.html` and returns its manifest entry.
pub(crate) fn write_report(
    outdir: &Path,
    tables: &RunTables,
    input: &ReportInput,
) -> Result<FileEntry, WorkflowError> {
    let gc = region_gc(&input.config.inputs, tables);
    let html = render(tables, input, gc.as_deref());
    Ok(write_measured(&outdir.join(REPORT), REPORT, |w| {
        w.write_all(html.as_bytes())
    })?)
}

/// GC fraction of every region (NaN where it has no A, C, G or T); `None` when an
/// input cannot be read again or its records differ from records.tsv.
fn region_gc(inputs: &[std::path::PathBuf], tables: &RunTables) -> Option<Vec<f32>> {
    let mut gc = vec![f32::NAN; tables.regions.len()];
    let mut next = 0usize;
    let mut record = Record::default();
    let mut index = 0usize;
    for input in inputs {
        if crate::input::is_stdin(input) {
            return None;
        }
        let mut reader = SeqReader::open(input).ok()?;
        while reader.read_record(&mut record).ok()? {
            let info = tables.records.get(index)?;
            if info.name != record.name || info.length != record.sequence.len() as u64 {
                return None;
            }
            while let Some(r) = tables.regions.get(next).filter(|r| r.record == index) {
                let bases = record.sequence.get(r.start as usize..r.end as usize)?;
                let (mut strong, mut all) = (0u32, 0u32);
                for b in bases {
                    match b.to_ascii_uppercase() {
                        b'G' | b'C' => {
                            strong += 1;
                            all += 1;
                        }
                        b'A' | b'T' => all += 1,
                        _ => {}
                    }
                }
                if all > 0 {
                    gc[next] = strong as f32 / all as f32;
                }
                next += 1;
            }
            index += 1;
        }
    }
    (next == gc.len()).then_some(gc)
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A byte count in B, kB, MB or GB.
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", b / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.2} GB", b / 1e9),
    }
}

/// Averages `values` into at most `n` consecutive groups (NaN values ignored).
fn pool(values: &[f32], n: usize, sum: bool) -> Vec<f32> {
    let groups = values.len().div_ceil(n.max(1)).max(1);
    values
        .chunks(groups)
        .map(|c| {
            let ok: Vec<f32> = c.iter().copied().filter(|v| !v.is_nan()).collect();
            let total: f32 = ok.iter().sum();
            match (sum, ok.len()) {
                (true, _) => total,
                (false, 0) => f32::NAN,
                (false, k) => total / k as f32,
            }
        })
        .collect()
}

/// A colour for `t` in [0, 1] on a blue-to-yellow scale (grey for NaN).
fn heat(t: f32) -> String {
    if t.is_nan() {
        return "#dddddd".into();
    }
    let t = t.clamp(0.0, 1.0);
    let hue = 240.0 - 180.0 * t;
    format!("hsl({hue:.0},75%,{:.0}%)", 25.0 + 45.0 * t)
}

fn render(tables: &RunTables, input: &ReportInput, gc: Option<&[f32]>) -> String {
    let m = input.manifest;
    let mut h = String::with_capacity(1 << 20);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    let _ = writeln!(
        h,
        "<title>glance report</title>\n<style>{CSS}</style></head><body>"
    );
    let _ = writeln!(
        h,
        "<h1>glance report</h1><p class=\"sub\">glance {} &middot; <code>{}</code> &middot; {} records, {} bases, {} regions, {:.1} s</p>",
        esc(&m.glance_version),
        esc(&m.command),
        m.records,
        m.bases,
        m.regions,
        m.wall_s
    );
    h.push_str("<nav><a href=\"#inputs\">Inputs</a><a href=\"#model\">Model</a><a href=\"#stages\">Stages</a><a href=\"#motifs\">Top motifs</a><a href=\"#density\">Hit density</a><a href=\"#heatmap\">Affinity heatmap</a><a href=\"#pca\">Embeddings</a><a href=\"#outputs\">Outputs</a></nav>\n");
    inputs_section(&mut h, input);
    model_section(&mut h, input.config);
    stages_section(&mut h, &input.stages);
    motifs_section(&mut h, tables, input.scanner);
    density_section(&mut h, tables);
    heatmap_section(&mut h, tables);
    pca_section(&mut h, tables, gc);
    outputs_section(&mut h, m);
    let _ = writeln!(h, "<script>{JS}</script>\n</body></html>");
    h
}

fn inputs_section(h: &mut String, input: &ReportInput) {
    let c = input.config;
    h.push_str("<section id=\"inputs\"><h2>Inputs and settings</h2><table><tr><th>input</th><th>size</th><th>SHA-256</th></tr>\n");
    for e in &input.manifest.inputs {
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&e.path),
            size(e.bytes),
            esc(e.sha256.get(..16).unwrap_or(&e.sha256))
        );
    }
    h.push_str("</table><table>");
    let motifs = c.motifs.file.as_ref().map_or_else(
        || "bundled JASPAR 2026 CORE vertebrates".to_string(),
        |p| p.display().to_string(),
    );
    let model = c.model.path.as_ref().map_or_else(
        || "bundled default model".to_string(),
        |p| p.display().to_string(),
    );
    let rows = [
        (
            "bins",
            format!(
                "{} bp every {} bp, {} pooling",
                c.regions.bin,
                c.regions.step(),
                c.regions.pool
            ),
        ),
        ("model", model),
        ("motifs", motifs),
        (
            "hit threshold",
            format!(
                "{} {}",
                if c.motifs.qv_thresh { "q <=" } else { "p <=" },
                c.motifs.thresh
            ),
        ),
        ("background", c.motifs.background.clone()),
        ("affinity temperature", format!("{} bits", c.motifs.tau)),
        ("shard span", format!("{} bp", c.shard_span)),
        (
            "outputs",
            format!(
                "embeddings {}, hits {}, motif scores {}, tracks {}, bedGraph {}",
                c.outputs.embeddings,
                c.outputs.hits,
                c.outputs.motif_scores,
                c.outputs.tracks,
                c.outputs.bedgraph
            ),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    h.push_str("</table>");
    for n in &input.manifest.notes {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(n));
    }
    h.push_str("</section>\n");
}

fn model_section(h: &mut String, c: &Config) {
    h.push_str("<section id=\"model\"><h2>Model</h2>");
    if !c.outputs.embeddings {
        h.push_str("<p>No embeddings were computed.</p></section>\n");
        return;
    }
    let text = match &c.model.path {
        Some(dir) => std::fs::read_to_string(dir.join("config.json")).ok(),
        None => glance_model::BUNDLED_FILES
            .iter()
            .find(|(n, _)| *n == "config.json")
            .and_then(|(_, b)| String::from_utf8(b.to_vec()).ok()),
    };
    let Some(json) = text.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()) else {
        h.push_str("<p>The model's config.json could not be read.</p></section>\n");
        return;
    };
    let name = c.model.path.as_ref().map_or_else(
        || "glance default model (compiled in; card: docs/models/default.md of the glance repository)".to_string(),
        |p| p.display().to_string(),
    );
    let _ = writeln!(h, "<p>{}</p><table>", esc(&name));
    let get = |k: &str| {
        json.get(k)
            .map(|v| v.to_string().trim_matches('"').to_string())
    };
    for (label, key) in [
        ("format", "format"),
        ("model type", "model_type"),
        ("width (d_model)", "d_model"),
        ("width (hidden_size)", "hidden_size"),
        ("heads", "heads"),
        ("layers", "num_hidden_layers"),
        ("norm", "norm"),
    ] {
        if let Some(v) = get(key) {
            let _ = writeln!(h, "<tr><th>{label}</th><td>{}</td></tr>", esc(&v));
        }
    }
    if let Some(tok) = json.get("tokenizer") {
        let _ = writeln!(
            h,
            "<tr><th>tokens</th><td>{}</td></tr>",
            esc(&tok.to_string())
        );
    }
    if let Some(pos) = json.get("positions") {
        let _ = writeln!(
            h,
            "<tr><th>positions</th><td>{}</td></tr>",
            esc(&pos.to_string())
        );
    }
    if let Some(layers) = json.get("layers").and_then(|l| l.as_array()) {
        let patterns: Vec<String> = layers
            .iter()
            .map(|l| {
                l.get("attention")
                    .map_or_else(String::new, |a| a.to_string().trim_matches('"').to_string())
            })
            .collect();
        let _ = writeln!(
            h,
            "<tr><th>layers</th><td>{} ({})</td></tr>",
            layers.len(),
            esc(&patterns.join(", "))
        );
    }
    h.push_str("</table></section>\n");
}

fn stages_section(h: &mut String, groups: &[(String, Vec<StageTiming>)]) {
    h.push_str("<section id=\"stages\"><h2>Stages: time and CPU</h2><p>Wall time (bar) and CPU time (darker bar) of each stage, from manifest.json. The motif stages run in the encoder's shadow, so stages overlap in time.</p>");
    let longest = groups
        .iter()
        .flat_map(|(_, s)| s)
        .map(|s| s.wall_s.max(s.cpu_s))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    for (group, stages) in groups {
        let _ = writeln!(h, "<h3>{}</h3><table class=\"stages\"><tr><th>stage</th><th>wall s</th><th>busy s</th><th>CPU s</th><th>bases/s</th><th></th></tr>", esc(group));
        for s in stages {
            let w = 300.0 * s.wall_s / longest;
            let c = 300.0 * s.cpu_s / longest;
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.3e}</td><td><svg width=\"310\" height=\"16\"><rect x=\"0\" y=\"1\" width=\"{w:.1}\" height=\"7\" fill=\"#9ecae1\"/><rect x=\"0\" y=\"8\" width=\"{c:.1}\" height=\"7\" fill=\"#3182bd\"/></svg></td></tr>",
                esc(&s.stage),
                s.wall_s,
                s.busy_s,
                s.cpu_s,
                s.bases_per_s
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>\n");
}

/// An SVG sequence logo of `probs` (information content in bits against a uniform
/// background, letters stacked smallest first).
fn logo(probs: &[[f64; 4]]) -> String {
    let (cw, ch) = (12.0, 48.0);
    let mut s = format!(
        "<svg class=\"logo\" width=\"{:.0}\" height=\"{ch:.0}\" viewBox=\"0 0 {:.0} {ch:.0}\">",
        cw * probs.len() as f64,
        cw * probs.len() as f64
    );
    for (i, p) in probs.iter().enumerate() {
        let entropy: f64 = p.iter().filter(|&&q| q > 0.0).map(|&q| -q * q.log2()).sum();
        let ic = (2.0 - entropy).max(0.0);
        let mut order: Vec<usize> = (0..4).collect();
        order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
        let mut y = ch;
        for b in order {
            let height = ch * p[b] * ic / 2.0;
            if height < 0.3 {
                continue;
            }
            // glyphs of font-size 10 are about 7.2 units tall
            let _ = write!(
                s,
                "<text transform=\"translate({:.1},{y:.2}) scale({:.3},{:.3})\" fill=\"{}\">{}</text>",
                cw * i as f64,
                cw / 7.0,
                height / 7.2,
                ["#109648", "#255c99", "#f7b32b", "#d62839"][b],
                ["A", "C", "G", "T"][b]
            );
            y -= height;
        }
    }
    s.push_str("</svg>");
    s
}

fn motifs_section(h: &mut String, t: &RunTables, scanner: Option<&Scanner>) {
    h.push_str("<section id=\"motifs\"><h2>Top motifs by hit count</h2>");
    let Some(hits) = &t.hit_counts else {
        h.push_str("<p>No hits.tsv was written (<code>--hits false</code>).</p></section>\n");
        return;
    };
    let _ = writeln!(h, "<p>The {} motifs shown here and in the heatmap are the track motifs (by default the 10 with the most hits in hits.tsv). Logos: information content in bits.</p><table><tr><th>motif</th><th>name</th><th>hits</th><th>logo</th></tr>", t.chosen.len());
    for &i in &t.chosen {
        let (id, alt) = &t.motifs[i];
        let svg = scanner
            .and_then(|s| s.motifs().get(i))
            .map_or_else(String::new, |m| logo(&m.motif.probs));
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{svg}</td></tr>",
            esc(id),
            esc(alt),
            hits[i]
        );
    }
    h.push_str("</table></section>\n");
}

fn density_section(h: &mut String, t: &RunTables) {
    h.push_str("<section id=\"density\"><h2>Hit density along each record</h2>");
    let Some(per_region) = &t.region_hits else {
        h.push_str("<p>No hits.tsv was written.</p></section>\n");
        return;
    };
    let mut by_record: Vec<(usize, Vec<f32>)> = Vec::new();
    for (r, &n) in t.regions.iter().zip(per_region) {
        match by_record.last_mut() {
            Some((i, v)) if *i == r.record => v.push(n as f32),
            _ => by_record.push((r.record, vec![n as f32])),
        }
    }
    let mut shown: Vec<&(usize, Vec<f32>)> = by_record.iter().collect();
    shown.sort_by(|a, b| {
        t.records[b.0]
            .length
            .cmp(&t.records[a.0].length)
            .then(a.0.cmp(&b.0))
    });
    shown.truncate(DENSITY_RECORDS);
    shown.sort_by_key(|r| r.0);
    let _ = writeln!(
        h,
        "<p>Hits of every motif per region (by the region holding each hit's first base){}.</p>",
        if by_record.len() > shown.len() {
            format!(
                "; the {} longest of {} records",
                shown.len(),
                by_record.len()
            )
        } else {
            String::new()
        }
    );
    for (rec, counts) in shown {
        let bars = pool(counts, MAX_COLUMNS, true);
        let top = bars.iter().copied().fold(1.0f32, f32::max);
        let w = 800.0 / bars.len() as f32;
        let _ = write!(
            h,
            "<div class=\"track\"><span>{} ({} bp, max {top:.0})</span><svg width=\"800\" height=\"50\" viewBox=\"0 0 800 50\">",
            esc(&t.records[*rec].name),
            t.records[*rec].length
        );
        for (i, v) in bars.iter().enumerate() {
            let bh = 48.0 * v / top;
            let _ = write!(
                h,
                "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{bh:.2}\" fill=\"#6a51a3\"/>",
                i as f32 * w,
                50.0 - bh,
                w.max(0.5)
            );
        }
        h.push_str("</svg></div>\n");
    }
    h.push_str("</section>\n");
}

fn heatmap_section(h: &mut String, t: &RunTables) {
    h.push_str("<section id=\"heatmap\"><h2>Region affinity heatmap</h2>");
    let Some(aff) = &t.affinity else {
        h.push_str("<p>No motif_scores.npy was written.</p></section>\n");
        return;
    };
    let cols = aff.first().map_or(0, |a| pool(a, MAX_COLUMNS, false).len());
    let (cw, rh, left) = (900.0 / cols.max(1) as f32, 16.0, 130.0);
    let _ = writeln!(h, "<p>Rows: motifs; columns: regions in order along the records ({} regions{}). Colour: each motif's affinity scaled from its minimum (blue) to its maximum (yellow).</p>", t.regions.len(), if cols < t.regions.len() { format!(", averaged into {cols} columns") } else { String::new() });
    let _ = write!(
        h,
        "<svg width=\"{:.0}\" height=\"{:.0}\">",
        left + 900.0,
        rh * aff.len() as f32 + 4.0
    );
    for (row, (values, &m)) in aff.iter().zip(&t.chosen).enumerate() {
        let pooled = pool(values, MAX_COLUMNS, false);
        let (lo, hi) = pooled
            .iter()
            .filter(|v| !v.is_nan())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let y = rh * row as f32;
        let _ = write!(
            h,
            "<text x=\"0\" y=\"{:.1}\" class=\"lab\">{}</text>",
            y + 12.0,
            esc(&t.motifs[m].0)
        );
        for (i, v) in pooled.iter().enumerate() {
            let s = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
            let _ = write!(
                h,
                "<rect x=\"{:.2}\" y=\"{y:.1}\" width=\"{:.2}\" height=\"{rh}\" fill=\"{}\"/>",
                left + i as f32 * cw,
                cw + 0.05,
                heat(s)
            );
        }
    }
    h.push_str("</svg></section>\n");
}

fn pca_section(h: &mut String, t: &RunTables, gc: Option<&[f32]>) {
    h.push_str("<section id=\"pca\"><h2>Region embeddings: principal components</h2>");
    let Some((pca, coords)) = &t.pca else {
        h.push_str("<p>No embeddings.npy was written.</p></section>\n");
        return;
    };
    if coords.first().is_none_or(|c| c.len() < 2) {
        h.push_str("<p>Too few regions or dimensions for a scatter.</p></section>\n");
        return;
    }
    let explained = pca.explained();
    let stride = coords.len().div_ceil(MAX_POINTS).max(1);
    let (xs, ys): (Vec<f32>, Vec<f32>) = coords.iter().map(|c| (c[0], c[1])).unzip();
    let range = |v: &[f32]| {
        let (lo, hi) = v
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        (lo, (hi - lo).max(1e-9))
    };
    let ((x0, xw), (y0, yw)) = (range(&xs), range(&ys));
    let _ = writeln!(h, "<p>Each point is a region ({}), on the first two principal components of embeddings.npy (PC1 {:.1}% and PC2 {:.1}% of the variance). Colour by <button data-show=\"pca-record\">record</button> <button data-show=\"pca-gc\">GC content</button>.</p>", if stride > 1 { format!("every {stride}th of {}", coords.len()) } else { format!("{}", coords.len()) }, 100.0 * explained.first().copied().unwrap_or(0.0), 100.0 * explained.get(1).copied().unwrap_or(0.0));
    let point = |i: usize| {
        (
            40.0 + 520.0 * (xs[i] - x0) / xw,
            10.0 + 380.0 * (1.0 - (ys[i] - y0) / yw),
        )
    };
    for (layer, visible) in [("pca-record", true), ("pca-gc", false)] {
        let _ = write!(
            h,
            "<svg id=\"{layer}\" class=\"pca-layer\" width=\"760\" height=\"420\"{}>",
            if visible {
                ""
            } else {
                " style=\"display:none\""
            }
        );
        h.push_str("<line x1=\"40\" y1=\"390\" x2=\"560\" y2=\"390\" stroke=\"#888\"/><line x1=\"40\" y1=\"10\" x2=\"40\" y2=\"390\" stroke=\"#888\"/><text x=\"300\" y=\"412\" class=\"lab\">PC1</text><text x=\"4\" y=\"200\" class=\"lab\">PC2</text>");
        for i in (0..coords.len()).step_by(stride) {
            let (x, y) = point(i);
            let r = &t.regions[i];
            let colour = if layer == "pca-record" {
                PALETTE[r.record % PALETTE.len()].to_string()
            } else {
                gc.map_or_else(|| "#999".to_string(), |g| heat((g[i] - 0.2) / 0.6))
            };
            let _ = write!(
                h,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{colour}\" fill-opacity=\"0.75\"><title>{}:{}-{}</title></circle>",
                esc(&t.records[r.record].name),
                r.start + 1,
                r.end
            );
        }
        if layer == "pca-record" {
            let mut seen: Vec<usize> = t.regions.iter().map(|r| r.record).collect();
            seen.dedup();
            for (k, rec) in seen.iter().take(20).enumerate() {
                let y = 20.0 + 16.0 * k as f32;
                let _ = write!(
                    h,
                    "<rect x=\"580\" y=\"{:.0}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"596\" y=\"{:.0}\" class=\"lab\">{}</text>",
                    y - 9.0,
                    PALETTE[rec % PALETTE.len()],
                    y,
                    esc(&t.records[*rec].name)
                );
            }
        } else if gc.is_some() {
            for (k, label) in ["20%", "50%", "80%"].iter().enumerate() {
                let y = 20.0 + 16.0 * k as f32;
                let _ = write!(
                    h,
                    "<rect x=\"580\" y=\"{:.0}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"596\" y=\"{:.0}\" class=\"lab\">GC {label}</text>",
                    y - 9.0,
                    heat(k as f32 / 2.0),
                    y
                );
            }
        } else {
            h.push_str("<text x=\"580\" y=\"20\" class=\"lab\">GC: inputs not readable</text>");
        }
        h.push_str("</svg>");
    }
    h.push_str("</section>\n");
}

fn outputs_section(h: &mut String, m: &Manifest) {
    h.push_str("<section id=\"outputs\"><h2>Output files</h2><table><tr><th>file</th><th>size</th><th>SHA-256</th></tr>\n");
    for e in &m.outputs {
        let _ = writeln!(
            h,
            "<tr><td><a href=\"{0}\">{0}</a></td><td>{1}</td><td><code>{2}</code></td></tr>",
            esc(&e.path),
            size(e.bytes),
            esc(e.sha256.get(..16).unwrap_or(&e.sha256))
        );
    }
    let _ = writeln!(
        h,
        "<tr><td><a href=\"{MANIFEST}\">{MANIFEST}</a></td><td colspan=\"2\">written last: every input and output with its SHA-256, the resolved configuration, the timings</td></tr></table></section>"
    );
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;padding:1em 2em;color:#222;background:#fff}\
h1{margin-bottom:0}.sub{color:#555;margin-top:.2em}nav{position:sticky;top:0;background:#f4f4f8;padding:.4em;border-radius:4px;z-index:1}\
nav a{margin-right:1em;color:#3a3a8c;text-decoration:none}section{margin:1.5em 0;border-top:1px solid #ddd}\
table{border-collapse:collapse;margin:.6em 0}td,th{padding:2px 8px;text-align:left;vertical-align:middle;border-bottom:1px solid #eee;font-size:14px}\
th{color:#444}code{font-size:13px}.note{color:#8a4b00}.lab{font-size:11px;fill:#333}.logo text{font:bold 10px monospace}\
.track span{display:block;font-size:12px;color:#444}button{font-size:13px;margin:0 2px;cursor:pointer}";

const JS: &str = "document.querySelectorAll('button[data-show]').forEach(function(b){b.addEventListener('click',function(){document.querySelectorAll('.pca-layer').forEach(function(g){g.style.display=g.id===b.dataset.show?'':'none';});});});";

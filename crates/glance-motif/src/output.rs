//! Hit output in FIMO's formats: the TSV (`fimo.tsv` columns and number formats), GFF3
//! (as `fimo.gff`) and BED6+3.

use std::io::{self, Write};

use rayon::prelude::*;

use crate::numfmt::{format_g, write_g};
use crate::scan::{CompiledMotif, Hit};

/// FIMO's TSV header line.
pub const TSV_HEADER: &str = "motif_id\tmotif_alt_id\tsequence_name\tstart\tstop\tstrand\tscore\tp-value\tq-value\tmatched_sequence";

/// Appends TSV rows (FIMO's columns and number formats) for `hits` to `out`.
pub fn tsv_rows(
    out: &mut String,
    hits: &[Hit],
    motifs: &[CompiledMotif],
    names: &[String],
    qvalue: bool,
) {
    use std::fmt::Write as _;
    for h in hits {
        let m = &motifs[h.motif as usize].motif;
        out.push_str(&m.id);
        out.push('\t');
        out.push_str(&m.alt_id);
        out.push('\t');
        out.push_str(&names[h.record as usize]);
        let _ = write!(
            out,
            "\t{}\t{}\t{}\t",
            h.start,
            h.stop,
            if h.reverse { '-' } else { '+' }
        );
        write_g(out, h.score, 6);
        out.push('\t');
        write_g(out, h.pvalue, 3);
        out.push('\t');
        if qvalue {
            write_g(out, h.qvalue, 3);
        }
        out.push('\t');
        out.extend(h.matched.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
}

/// Formats TSV rows for many hits in parallel, in order, as byte blocks.
pub fn tsv_blocks(
    hits: &[Hit],
    motifs: &[CompiledMotif],
    names: &[String],
    qvalue: bool,
) -> Vec<String> {
    hits.par_chunks(1 << 14)
        .map(|c| {
            let mut s = String::with_capacity(c.len() * 96);
            tsv_rows(&mut s, c, motifs, names, qvalue);
            s
        })
        .collect()
}

/// Writes one TSV row; `qvalue: false` leaves the q-value column empty (FIMO `--text`).
pub fn write_tsv_row(
    out: &mut dyn Write,
    hit: &Hit,
    motif: &CompiledMotif,
    seq_name: &str,
    qvalue: bool,
) -> io::Result<()> {
    write!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
        motif.motif.id,
        motif.motif.alt_id,
        seq_name,
        hit.start,
        hit.stop,
        if hit.reverse { '-' } else { '+' },
        format_g(hit.score, 6),
        format_g(hit.pvalue, 3),
    )?;
    if qvalue {
        out.write_all(format_g(hit.qvalue, 3).as_bytes())?;
    }
    out.write_all(b"\t")?;
    out.write_all(&hit.matched)?;
    out.write_all(b"\n")
}

/// FIMO's GFF3 score column: `min(1000, -10 log10 p)` (computed as `-4.342 ln p`).
fn gff_score(p: f64) -> f64 {
    let lp = if p > 0.0 { p.ln() } else { 1e-300 };
    (-4.342 * lp).min(1000.0)
}

/// Writes one GFF3 feature the way FIMO does; `index` numbers the hit within its motif
/// and sequence.
pub fn write_gff_row(
    out: &mut dyn Write,
    hit: &Hit,
    motif: &CompiledMotif,
    seq_name: &str,
    index: usize,
    qvalue: bool,
) -> io::Result<()> {
    let m = &motif.motif;
    let strand = if hit.reverse { '-' } else { '+' };
    write!(
        out,
        "{seq_name}\tglance\tnucleotide_motif\t{}\t{}\t{}\t{strand}\t.\tName={}_{seq_name}{strand};Alias={};ID={}{}{}-{index}-{seq_name};pvalue={};",
        hit.start,
        hit.stop,
        format_g(gff_score(hit.pvalue), 3),
        m.id,
        m.alt_id,
        m.id,
        if m.alt_id.is_empty() { "" } else { "-" },
        m.alt_id,
        format_g(hit.pvalue, 3),
    )?;
    if qvalue {
        write!(out, "qvalue={};", format_g(hit.qvalue, 3))?;
    }
    out.write_all(b"sequence=")?;
    out.write_all(&hit.matched)?;
    out.write_all(b";\n")
}

/// Writes one BED6+3 row: chrom, 0-based start, end, motif id, score
/// `round(min(1000, -10 log10 p))`, strand, then motif_alt_id, p-value, q-value.
pub fn write_bed_row(
    out: &mut dyn Write,
    hit: &Hit,
    motif: &CompiledMotif,
    seq_name: &str,
    qvalue: bool,
) -> io::Result<()> {
    write!(
        out,
        "{seq_name}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
        hit.start - 1,
        hit.stop,
        motif.motif.id,
        gff_score(hit.pvalue).round() as i64,
        if hit.reverse { '-' } else { '+' },
        if motif.motif.alt_id.is_empty() {
            "."
        } else {
            &motif.motif.alt_id
        },
        format_g(hit.pvalue, 3),
    )?;
    if qvalue {
        out.write_all(format_g(hit.qvalue, 3).as_bytes())?;
    } else {
        out.write_all(b".")?;
    }
    out.write_all(b"\n")
}

//! Hit output in FIMO's formats: the TSV (`fimo.tsv` columns and number formats), GFF3
//! (as `fimo.gff`) and BED6+3.

use std::io::{self, Write};
use std::ops::Range;

use rayon::prelude::*;

use crate::motif::Motif;
use crate::numfmt::{format_g, push_u64, write_g};
use crate::scan::{CompiledMotif, Hit, HitView, OrderedHits};

/// FIMO's TSV header line.
pub const TSV_HEADER: &str = "motif_id\tmotif_alt_id\tsequence_name\tstart\tstop\tstrand\tscore\tp-value\tq-value\tmatched_sequence";

/// Reusable state for formatting rows: each floating-point column's last value with its
/// text. Rows come in p-value order, where most repeat the previous row's score, p-value
/// and q-value (85-99.7% of a 1019-motif genome scan), so each is formatted once per run
/// of equal values.
#[derive(Default)]
struct RowScratch {
    score: LastFormatted,
    pvalue: LastFormatted,
    qvalue: LastFormatted,
}

/// A number's `%g` text, kept until a different number (by bits) is asked for.
#[derive(Default)]
struct LastFormatted {
    bits: Option<u64>,
    text: String,
}

impl LastFormatted {
    /// `value` with `digits` significant digits, as [`write_g`] writes it.
    fn text(&mut self, value: f64, digits: usize) -> &[u8] {
        if self.bits != Some(value.to_bits()) {
            self.text.clear();
            write_g(&mut self.text, value, digits);
            self.bits = Some(value.to_bits());
        }
        self.text.as_bytes()
    }
}

/// The first two TSV columns of a motif, with their tabs: `id \t alt_id \t`.
fn motif_columns(motif: &Motif) -> Vec<u8> {
    [motif.id.as_bytes(), b"\t", motif.alt_id.as_bytes(), b"\t"].concat()
}

/// Appends one TSV row (FIMO's columns and number formats) for `hit` on sequence
/// `seq_name` to `out`, its motif's columns being `motif_columns` (see
/// [`motif_columns`]); `qvalue: false` leaves the q-value column empty (FIMO `--text`).
/// The matched bases are copied byte for byte.
fn push_tsv_row(
    out: &mut Vec<u8>,
    scratch: &mut RowScratch,
    hit: &HitView,
    motif_columns: &[u8],
    seq_name: &str,
    qvalue: bool,
) {
    out.extend_from_slice(motif_columns);
    out.extend_from_slice(seq_name.as_bytes());
    out.push(b'\t');
    push_u64(out, hit.start);
    out.push(b'\t');
    push_u64(out, hit.stop);
    out.extend_from_slice(if hit.reverse { b"\t-\t" } else { b"\t+\t" });
    out.extend_from_slice(scratch.score.text(hit.score, 6));
    out.push(b'\t');
    out.extend_from_slice(scratch.pvalue.text(hit.pvalue, 3));
    out.push(b'\t');
    if qvalue {
        out.extend_from_slice(scratch.qvalue.text(hit.qvalue, 3));
    }
    out.push(b'\t');
    out.extend_from_slice(hit.matched);
    out.push(b'\n');
}

/// Appends TSV rows (FIMO's columns and number formats) for `hits` to `out`;
/// `columns[m]` holds motif `m`'s first two columns (see [`motif_columns`]).
fn tsv_rows<'a>(
    out: &mut Vec<u8>,
    hits: impl IntoIterator<Item = HitView<'a>>,
    columns: &[Vec<u8>],
    names: &[String],
    qvalue: bool,
) {
    let mut scratch = RowScratch::default();
    for h in hits {
        let name = &names[h.record as usize];
        push_tsv_row(
            out,
            &mut scratch,
            &h,
            &columns[h.motif as usize],
            name,
            qvalue,
        );
    }
}

/// Formats TSV rows for many hits in parallel, in order, as byte blocks.
pub fn tsv_blocks(
    hits: &[Hit],
    motifs: &[CompiledMotif],
    names: &[String],
    qvalue: bool,
) -> Vec<Vec<u8>> {
    let columns: Vec<Vec<u8>> = motifs.iter().map(|m| motif_columns(&m.motif)).collect();
    hits.par_chunks(1 << 14)
        .map(|c| {
            let mut s = Vec::with_capacity(c.len() * 96);
            tsv_rows(&mut s, c.iter().map(Hit::view), &columns, names, qvalue);
            s
        })
        .collect()
}

/// Formats TSV rows for the hits at positions `range` of `hits`' order in parallel, in
/// order, as byte blocks (with q-values).
pub fn tsv_blocks_ordered(
    hits: &OrderedHits,
    range: Range<usize>,
    motifs: &[CompiledMotif],
    names: &[String],
) -> Vec<Vec<u8>> {
    const BLOCK: usize = 1 << 14;
    let columns: Vec<Vec<u8>> = motifs.iter().map(|m| motif_columns(&m.motif)).collect();
    let end = range.end.min(hits.len());
    let start = range.start.min(end);
    (start..end)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|from| {
            let to = (from + BLOCK).min(end);
            let mut s = Vec::with_capacity((to - from) * 96);
            tsv_rows(&mut s, hits.range(from..to), &columns, names, true);
            s
        })
        .collect()
}

/// Writes one TSV row (as [`tsv_rows`] formats it); `qvalue: false` leaves the q-value
/// column empty (FIMO `--text`).
pub fn write_tsv_row(
    out: &mut dyn Write,
    hit: &Hit,
    motif: &CompiledMotif,
    seq_name: &str,
    qvalue: bool,
) -> io::Result<()> {
    let mut row = Vec::with_capacity(96);
    push_tsv_row(
        &mut row,
        &mut RowScratch::default(),
        &hit.view(),
        &motif_columns(&motif.motif),
        seq_name,
        qvalue,
    );
    out.write_all(&row)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Matched;
    use crate::{BackgroundSource, ScanOptions, Scanner};

    fn scanner() -> Scanner {
        let m = Motif {
            id: "MA1".into(),
            alt_id: "tf".into(),
            probs: vec![[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]],
            nsites: Some(20.0),
            url: None,
        };
        let bg = BackgroundSource::Uniform.resolve(true).unwrap();
        Scanner::new(&[m], bg, ScanOptions::default()).unwrap()
    }

    fn hit(reverse: bool, matched: &[u8]) -> Hit {
        Hit {
            motif: 0,
            record: 1,
            start: 3,
            stop: 4,
            reverse,
            scaled: 0,
            score: 12.345678,
            pvalue: 1.2345e-5,
            qvalue: 0.045678,
            matched: Matched::new(matched),
        }
    }

    /// Rows as FIMO prints them, the same bytes from the block and the row writer,
    /// with matched bytes (soft-masked, non-ASCII) copied as they are.
    #[test]
    fn tsv_rows_and_row_writer_give_fimo_rows() {
        let sc = scanner();
        let names = ["chrA".to_string(), "chrB".to_string()];
        let hits = [hit(false, b"aT"), hit(true, &[b'A', 0xE9])];
        let mut want = b"MA1\ttf\tchrB\t3\t4\t+\t12.3457\t1.23e-05\t0.0457\taT\n".to_vec();
        want.extend_from_slice(b"MA1\ttf\tchrB\t3\t4\t-\t12.3457\t1.23e-05\t0.0457\tA\xE9\n");
        let blocks = tsv_blocks(&hits, sc.motifs(), &names, true).concat();
        assert_eq!(blocks, want);
        let mut rows = Vec::new();
        for h in &hits {
            write_tsv_row(&mut rows, h, &sc.motifs()[0], &names[1], true).unwrap();
        }
        assert_eq!(rows, want);
        // `--text`: empty q-value column
        let mut text = Vec::new();
        write_tsv_row(&mut text, &hits[0], &sc.motifs()[0], "x", false).unwrap();
        assert_eq!(text, b"MA1\ttf\tx\t3\t4\t+\t12.3457\t1.23e-05\t\taT\n");
        let plain = tsv_blocks(&hits[..1], sc.motifs(), &names, false).concat();
        assert_eq!(plain, b"MA1\ttf\tchrB\t3\t4\t+\t12.3457\t1.23e-05\t\taT\n");
    }
}

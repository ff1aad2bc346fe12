//! `glance variants` as a library call: every ALT allele of a VCF/BCF scored against a
//! reference for motif gain and loss (glance-variant's `motif_effects`) and, with a
//! model, for the shift of its window embedding and its masked-marginal likelihood
//! ratio (`VariantEncoder`). Writes PREFIX.vcf.gz (the input records with GLANCE_* INFO
//! fields, bgzipped, with a tabix index when sorted), PREFIX.motifs.tsv and
//! PREFIX.variants.tsv, all atomically. docs/variants.md describes the columns.
//!
//! In `glance run` a shard scores only the records it owns ([`VariantJob::owns`]) and
//! lists them in a rows table ([`VariantJob::rows`]) from which `glance merge`
//! restores the input's order.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use glance_io::{with_suffix, AtomicFile};
use glance_model::{Encoder, StreamOptions};
use glance_motif::numfmt::write_g;
use glance_motif::Scanner;
use glance_seq::{IndexedFasta, Record, Region, SeqReader};
use glance_variant::noodles_vcf::header::record::value::map::info::{Number, Type};
use glance_variant::noodles_vcf::variant::record_buf::info::field::value::Array;
use glance_variant::noodles_vcf::variant::record_buf::info::field::Value;
use glance_variant::noodles_vcf::variant::RecordBuf;
use glance_variant::{
    classify, motif_effects, Contigs, EncodingEffect, Haplotypes, InfoField, MotifEffect,
    Reference, ReferenceSet, Variant, VariantEncoder, VariantError, VcfReader, VcfWriter, Window,
};
use rayon::prelude::*;

use crate::error::WorkflowError;
use crate::resolve::MotifSet;

/// Records scored per parallel batch.
const BATCH: usize = 512;

/// The INFO fields glance adds.
pub(crate) const INFO_FIELDS: [InfoField; 4] = [
    (
        "GLANCE_MOTIF",
        Number::Unknown,
        Type::String,
        "Motif effects at the p-value threshold: ALT|motif_id|effect|ref_p|alt_p (effect loss, gain or change)",
    ),
    (
        "GLANCE_EMB_L2",
        Number::AlternateBases,
        Type::Float,
        "L2 distance between the REF and ALT window embeddings",
    ),
    (
        "GLANCE_EMB_COS",
        Number::AlternateBases,
        Type::Float,
        "Cosine distance (1 - cosine similarity) between the REF and ALT window embeddings",
    ),
    (
        "GLANCE_LLR",
        Number::AlternateBases,
        Type::Float,
        "Masked-marginal log-likelihood ratio log P(ALT) - log P(REF) (natural log; substitutions)",
    ),
];

/// motifs.tsv's header.
const MOTIFS_HEADER: &str = "chrom\tpos\tid\tref\talt\tmotif_id\tmotif_alt_id\tstrand\tref_start\tref_score\tref_p\talt_score\talt_p\tdelta\teffect\talt_strand\talt_start";

/// variants.tsv's header.
const VARIANTS_HEADER: &str = "chrom\tpos\tid\tref\talt\tstatus\temb_l2\temb_cos\tllr\ttokens_recomputed\tmotif_losses\tmotif_gains";

/// Decides whether a record (contig, 0-based position) is scored here.
pub type Owns<'a> = &'a (dyn Fn(&str, u64) -> bool + Sync);

/// What to score and where to write it.
pub struct VariantJob<'a> {
    /// Reference FASTA files, searched in order for each contig (plain or BGZF with or
    /// without .fai/.gzi; gzip is read whole).
    pub references: Vec<PathBuf>,
    /// VCF (plain, gzip, BGZF) or BCF; `-` for stdin.
    pub vcf: PathBuf,
    /// Only the records overlapping these regions (read through the VCF's .tbi/.csi
    /// when it has one); `None`: all.
    pub regions: Option<Vec<Region>>,
    /// Output prefix.
    pub prefix: PathBuf,
    /// Motifs (with `thresh` the p-value threshold); `None`: no motif effects.
    pub motifs: Option<&'a MotifSet>,
    /// p-value threshold of a motif site.
    pub thresh: f64,
    /// The encoder for embedding and likelihood effects; `None`: none.
    pub encoder: Option<&'a Encoder>,
    /// Bases of the pooled window.
    pub window: u64,
    /// Streaming options of the encoder.
    pub stream: StreamOptions,
    /// Count REF mismatches instead of failing on the first.
    pub skip_ref_mismatch: bool,
    /// Only the records this accepts are scored and written (a shard's part); every
    /// record is still read and checked, so errors do not depend on the sharding.
    /// `None`: all.
    pub owns: Option<Owns<'a>>,
    /// Where to write the rows table: one line per record written, `ordinal
    /// variants_rows motifs_rows` (its 0-based place in the input and its rows in
    /// PREFIX.variants.tsv and PREFIX.motifs.tsv), for `glance merge`. `None`: none.
    pub rows: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantSummary {
    /// VCF records read.
    pub records: u64,
    /// ALT alleles scored.
    pub scored: u64,
    /// ALT alleles skipped, by reason (`Skip::name`, or "REF mismatch").
    pub skipped: BTreeMap<&'static str, u64>,
    /// Motif losses and gains over every scored allele.
    pub losses: u64,
    /// See `losses`.
    pub gains: u64,
    /// Whether PREFIX.vcf.gz.tbi was written (the input was sorted).
    pub indexed: bool,
    /// Encoder work in token-layers (tokens through one layer): shared REF spans, ALT
    /// states and masked likelihood passes.
    pub token_layers: u64,
}

/// One ALT allele: scored, or why not.
enum Allele {
    Scored {
        variant: Variant,
        motifs: Vec<MotifEffect>,
        encoding: Option<EncodingEffect>,
    },
    Skipped {
        variant: Variant,
        why: &'static str,
    },
}

/// Opens the references, each indexed when possible, else read into memory.
fn open_references(paths: &[PathBuf]) -> Result<ReferenceSet, WorkflowError> {
    let mut set = ReferenceSet::default();
    for p in paths {
        set.0.push(open_reference(p)?);
    }
    Ok(set)
}

/// Opens a reference: indexed when possible, else (plain gzip) read into memory.
fn open_reference(path: &Path) -> Result<Box<dyn Reference + Send>, WorkflowError> {
    let input = |e: glance_seq::SeqError| WorkflowError::Input {
        path: path.display().to_string(),
        error: Box::new(e),
    };
    match IndexedFasta::open(path) {
        Ok(fasta) => Ok(Box::new(fasta)),
        Err(glance_seq::SeqError::Index(_)) => {
            let mut contigs = Contigs::default();
            let mut reader = SeqReader::open(path).map_err(input)?;
            let mut record = Record::default();
            while reader.read_record(&mut record).map_err(input)? {
                contigs
                    .0
                    .insert(record.name.clone(), std::mem::take(&mut record.sequence));
            }
            Ok(Box::new(contigs))
        }
        Err(e) => Err(input(e)),
    }
}

/// Scores every allele of `job.vcf` and writes the outputs (see the module docs);
/// `progress` is told of every record done.
pub fn score_variants(
    job: &VariantJob,
    progress: &mut dyn FnMut(u64),
) -> Result<VariantSummary, WorkflowError> {
    let vcf_label = job.vcf.display().to_string();
    let vcf_err = |e: VariantError| WorkflowError::Input {
        path: vcf_label.clone(),
        error: Box::new(e),
    };
    let mut reference = open_references(&job.references)?;
    let encoder = job
        .encoder
        .map(|enc| VariantEncoder::new(enc, job.window, job.stream))
        .transpose()
        .map_err(|e| WorkflowError::Model(e.to_string()))?;
    let mut reader = match &job.regions {
        Some(regions) => VcfReader::query(&job.vcf, regions),
        None => VcfReader::open(&job.vcf),
    }
    .map_err(vcf_err)?;
    let vcf_path = with_suffix(&job.prefix, "vcf.gz");
    let mut vcf = VcfWriter::create(&vcf_path, reader.header(), &INFO_FIELDS).map_err(vcf_err)?;
    let motifs_path = with_suffix(&job.prefix, "motifs.tsv");
    let variants_path = with_suffix(&job.prefix, "variants.tsv");
    let mut motifs_out = AtomicFile::create(&motifs_path)?;
    let mut variants_out = AtomicFile::create(&variants_path)?;
    let mut rows_out = job.rows.as_deref().map(AtomicFile::create).transpose()?;
    let mut summary = VariantSummary::default();
    {
        let mut motifs_w = motifs_out.writer();
        let mut variants_w = variants_out.writer();
        let mut rows_w = rows_out.as_mut().map(AtomicFile::writer);
        let m_err = |e| WorkflowError::output(&motifs_path, e);
        let v_err = |e| WorkflowError::output(&variants_path, e);
        writeln!(motifs_w, "{MOTIFS_HEADER}").map_err(m_err)?;
        writeln!(variants_w, "{VARIANTS_HEADER}").map_err(v_err)?;
        let margin = margin(job, encoder.as_ref());
        let mut done = false;
        while !done {
            // Read a batch and check each allele (in order, one reader), then score
            // groups of nearby alleles in parallel, each on one reference window.
            let mut batch: Vec<(u64, RecordBuf, Vec<Allele>)> = Vec::new();
            while batch.len() < BATCH {
                let mut record = RecordBuf::default();
                let Some(line) = reader.read(&mut record).map_err(vcf_err)? else {
                    done = true;
                    break;
                };
                let ordinal = summary.records;
                summary.records += 1;
                let alleles = alleles_of(&record, line, job, &mut reference).map_err(vcf_err)?;
                let owned = job.owns.is_none_or(|owns| {
                    let pos = record.variant_start().map_or(0, usize::from) as u64;
                    owns(record.reference_sequence_name(), pos.saturating_sub(1))
                });
                if owned {
                    batch.push((ordinal, record, alleles));
                } else {
                    progress(1);
                }
            }
            let mut alleles: Vec<Vec<Allele>> = batch
                .iter_mut()
                .map(|(_, _, a)| std::mem::take(a))
                .collect();
            let groups = groups(&alleles, margin, &mut reference).map_err(vcf_err)?;
            let scored: Vec<Scored> = groups
                .into_par_iter()
                .map(|group| score_group(group, &alleles, job, encoder.as_ref()))
                .collect::<Result<_, _>>()
                .map_err(vcf_err)?;
            for group in scored {
                summary.token_layers += group.span_token_layers;
                for ((r, a), allele) in group.alleles {
                    alleles[r][a] = allele;
                }
            }
            let scored = alleles;
            for ((ordinal, mut record, _), alleles) in batch.into_iter().zip(scored) {
                let motif_rows =
                    write_rows(&alleles, job, &mut motifs_w, &mut variants_w, &mut summary)
                        .map_err(|e| WorkflowError::output(&job.prefix, e))?;
                if let (Some(w), Some(path)) = (rows_w.as_mut(), job.rows.as_deref()) {
                    writeln!(w, "{ordinal}\t{}\t{motif_rows}", alleles.len())
                        .map_err(|e| WorkflowError::output(path, e))?;
                }
                annotate(&mut record, &alleles, job.motifs.map(|m| &m.scanner));
                vcf.write(&record).map_err(vcf_err)?;
                progress(1);
            }
        }
        motifs_w.flush().map_err(m_err)?;
        variants_w.flush().map_err(v_err)?;
        if let (Some(w), Some(path)) = (rows_w.as_mut(), job.rows.as_deref()) {
            w.flush().map_err(|e| WorkflowError::output(path, e))?;
        }
    }
    motifs_out.commit()?;
    variants_out.commit()?;
    if let Some(f) = rows_out {
        f.commit()?;
    }
    summary.indexed = vcf.finish().map_err(vcf_err)?;
    Ok(summary)
}

/// Reference bases each allele's scoring reads on each side of it (`None`: the contig).
fn margin(job: &VariantJob, encoder: Option<&VariantEncoder>) -> Option<u64> {
    let motif = job.motifs.map_or(0, |m| {
        m.scanner.max_width() as u64 + 2 * glance_variant::MAX_INDEL as u64
    });
    match encoder {
        Some(e) => e.margin().map(|m| m.max(motif)),
        None => Some(motif),
    }
}

/// The ALT alleles of a record, each checked (bases, REF against the reference).
fn alleles_of(
    record: &RecordBuf,
    line: u64,
    job: &VariantJob,
    reference: &mut dyn Reference,
) -> Result<Vec<Allele>, VariantError> {
    let chrom = record.reference_sequence_name().to_string();
    let pos = record
        .variant_start()
        .map(usize::from)
        .ok_or_else(|| VariantError::Vcf(format!("line {line}: no position")))?
        as u64;
    let ref_bases = record.reference_bases().to_ascii_uppercase();
    check_bases(line, "REF", &ref_bases)?;
    let id = if record.ids().as_ref().is_empty() {
        ".".to_string()
    } else {
        record
            .ids()
            .as_ref()
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(";")
    };
    let mut out = Vec::new();
    for alt in record.alternate_bases().as_ref() {
        let variant = Variant {
            chrom: chrom.clone(),
            pos: pos - 1,
            id: id.clone(),
            reference: ref_bases.as_bytes().to_vec(),
            alternate: alt.to_ascii_uppercase().into_bytes(),
            line,
        };
        if let Err(skip) = classify(&variant.reference, &variant.alternate) {
            out.push(Allele::Skipped {
                variant,
                why: skip.name(),
            });
            continue;
        }
        check_bases(line, "ALT", alt)?;
        match glance_variant::check_ref(reference, &variant) {
            Ok(_) => out.push(Allele::Scored {
                variant,
                motifs: Vec::new(),
                encoding: None,
            }),
            Err(VariantError::RefMismatch { .. }) if job.skip_ref_mismatch => {
                out.push(Allele::Skipped {
                    variant,
                    why: "REF mismatch",
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Where an allele is in a batch: (record, ALT).
type AlleleIndex = (usize, usize);

/// Alleles near each other on one contig, scored together on one reference window:
/// their indices and the window.
struct Group {
    members: Vec<AlleleIndex>,
    window: Window,
}

/// Bases from a group's first allele to its last.
const GROUP_BASES: u64 = 4096;

/// Groups the batch's scored alleles by contig and position (at most [`GROUP_BASES`]
/// from first to last) and reads each group's reference window (`margin` bases beyond
/// its alleles; the whole contig when `None`).
fn groups(
    alleles: &[Vec<Allele>],
    margin: Option<u64>,
    reference: &mut dyn Reference,
) -> Result<Vec<Group>, VariantError> {
    let mut scored: Vec<(&Variant, AlleleIndex)> = Vec::new();
    for (r, record) in alleles.iter().enumerate() {
        for (a, allele) in record.iter().enumerate() {
            if let Allele::Scored { variant, .. } = allele {
                scored.push((variant, (r, a)));
            }
        }
    }
    scored.sort_by(|x, y| (&x.0.chrom, x.0.pos).cmp(&(&y.0.chrom, y.0.pos)));
    let mut groups = Vec::new();
    let mut i = 0;
    while i < scored.len() {
        let first = scored[i].0;
        let mut j = i;
        let mut end = first.pos + first.reference.len() as u64;
        while j < scored.len()
            && scored[j].0.chrom == first.chrom
            && scored[j].0.pos <= first.pos + GROUP_BASES
        {
            end = end.max(scored[j].0.pos + scored[j].0.reference.len() as u64);
            j += 1;
        }
        let (lo, hi) = match margin {
            Some(m) => (first.pos.saturating_sub(m), end + m),
            None => (0, u64::MAX),
        };
        groups.push(Group {
            members: scored[i..j].iter().map(|&(_, ix)| ix).collect(),
            window: Window::read(reference, &first.chrom, lo, hi)?,
        });
        i = j;
    }
    Ok(groups)
}

/// A group's alleles scored, and the encoder work of its REF span.
struct Scored {
    alleles: Vec<(AlleleIndex, Allele)>,
    span_token_layers: u64,
}

/// Scores a group's alleles: motif effects, and encoding effects on one REF span.
fn score_group(
    mut group: Group,
    alleles: &[Vec<Allele>],
    job: &VariantJob,
    encoder: Option<&VariantEncoder>,
) -> Result<Scored, VariantError> {
    let variants: Vec<&Variant> = group
        .members
        .iter()
        .filter_map(|&(r, a)| match &alleles[r][a] {
            Allele::Scored { variant, .. } => Some(variant),
            Allele::Skipped { .. } => None,
        })
        .collect();
    let span = match encoder {
        Some(e) => e.ref_span(&mut group.window, &variants)?,
        None => None,
    };
    // Alleles in parallel, each reading its own copy of the window (a few kb).
    let scored = group
        .members
        .par_iter()
        .zip(variants.par_iter())
        .map(|(&ix, &variant)| {
            let mut window = group.window.clone();
            let motifs = match job.motifs {
                Some(set) => {
                    let flank = set.scanner.max_width() as u64;
                    let haps = Haplotypes::build(&mut window, variant, flank)?;
                    motif_effects(&set.scanner, &haps, job.thresh)
                }
                None => Vec::new(),
            };
            let encoding = encoder
                .map(|e| e.effect_in(span.as_ref(), &mut window, variant))
                .transpose()?;
            Ok((
                ix,
                Allele::Scored {
                    variant: variant.clone(),
                    motifs,
                    encoding,
                },
            ))
        })
        .collect::<Result<_, VariantError>>()?;
    Ok(Scored {
        alleles: scored,
        span_token_layers: span.as_ref().map_or(0, |s| s.token_layers()),
    })
}

/// Refuses alleles with letters other than ACGTN.
fn check_bases(line: u64, what: &str, bases: &str) -> Result<(), VariantError> {
    match bases.bytes().find(|b| !b"ACGTNacgtn".contains(b)) {
        Some(b) => Err(VariantError::Vcf(format!(
            "line {line}: {what} `{bases}` holds `{}`, not a base (A, C, G, T or N)",
            b as char
        ))),
        None => Ok(()),
    }
}

/// Appends `x` with `digits` significant digits (`NA` for NaN or missing).
fn push_num(out: &mut String, x: Option<f64>, digits: usize) {
    match x {
        Some(v) if !v.is_nan() => write_g(out, v, digits),
        _ => out.push_str("NA"),
    }
}

/// Writes the motifs.tsv and variants.tsv rows of a record's alleles; returns the
/// number of motifs.tsv rows.
fn write_rows(
    alleles: &[Allele],
    job: &VariantJob,
    motifs_w: &mut dyn Write,
    variants_w: &mut dyn Write,
    summary: &mut VariantSummary,
) -> std::io::Result<u64> {
    let mut motif_rows = 0;
    for allele in alleles {
        let (variant, status) = match allele {
            Allele::Scored { variant, .. } => (variant, "scored"),
            Allele::Skipped { variant, why } => {
                *summary.skipped.entry(why).or_default() += 1;
                (variant, *why)
            }
        };
        let head = format!(
            "{}\t{}\t{}\t{}\t{}",
            variant.chrom,
            variant.pos + 1,
            variant.id,
            String::from_utf8_lossy(&variant.reference),
            String::from_utf8_lossy(&variant.alternate)
        );
        let mut row = format!("{head}\t{status}\t");
        let (mut losses, mut gains) = (0u64, 0u64);
        if let Allele::Scored {
            motifs, encoding, ..
        } = allele
        {
            summary.scored += 1;
            summary.token_layers += encoding.map_or(0, |e| e.work.total());
            for e in motifs {
                losses += u64::from(e.effect == glance_variant::Effect::Loss);
                gains += u64::from(e.effect == glance_variant::Effect::Gain);
                if let Some(set) = job.motifs {
                    writeln!(motifs_w, "{head}\t{}", motif_row(&set.scanner, e))?;
                    motif_rows += 1;
                }
            }
            push_num(&mut row, encoding.map(|e| e.l2), 6);
            row.push('\t');
            push_num(&mut row, encoding.map(|e| e.cosine), 6);
            row.push('\t');
            push_num(&mut row, encoding.and_then(|e| e.llr), 6);
            row.push('\t');
            match encoding {
                Some(e) => {
                    let _ = write!(row, "{}", e.recomputed);
                }
                None => row.push_str("NA"),
            }
            let _ = write!(row, "\t{losses}\t{gains}");
        } else {
            row.push_str("NA\tNA\tNA\tNA\tNA\tNA");
        }
        summary.losses += losses;
        summary.gains += gains;
        writeln!(variants_w, "{row}")?;
    }
    Ok(motif_rows)
}

/// The motif columns of a motifs.tsv row (from motif_id on).
fn motif_row(scanner: &Scanner, e: &MotifEffect) -> String {
    let m = &scanner.motifs()[e.motif].motif;
    let strand = |s: Option<glance_variant::Site>| match s {
        Some(s) if s.reverse => "-",
        Some(_) => "+",
        None => "NA",
    };
    let mut row = format!("{}\t{}\t{}\t", m.id, m.alt_id, strand(e.reference));
    let start = |row: &mut String, s: Option<glance_variant::Site>| match s {
        Some(s) => {
            let _ = write!(row, "{}", s.start);
        }
        None => row.push_str("NA"),
    };
    start(&mut row, e.reference);
    row.push('\t');
    push_num(&mut row, e.reference.map(|s| s.score), 6);
    row.push('\t');
    push_num(&mut row, e.reference.map(|s| s.pvalue), 3);
    row.push('\t');
    push_num(&mut row, e.alternate.map(|s| s.score), 6);
    row.push('\t');
    push_num(&mut row, e.alternate.map(|s| s.pvalue), 3);
    row.push('\t');
    push_num(&mut row, Some(e.delta()), 6);
    let _ = write!(row, "\t{}\t{}\t", e.effect.name(), strand(e.alternate));
    start(&mut row, e.alternate);
    row
}

/// Appends a site's p-value as GLANCE_MOTIF writes it (`.` when there is no site).
fn push_p(out: &mut String, site: Option<glance_variant::Site>) {
    match site.map(|s| s.pvalue).filter(|p| !p.is_nan()) {
        Some(p) => write_g(out, p, 3),
        None => out.push('.'),
    }
}

/// Sets the GLANCE_* INFO fields of the record's alleles (replacing any the input had).
fn annotate(record: &mut RecordBuf, alleles: &[Allele], scanner: Option<&Scanner>) {
    let mut motif_entries = Vec::new();
    let (mut l2, mut cos, mut llr) = (Vec::new(), Vec::new(), Vec::new());
    let mut any_encoding = false;
    for allele in alleles {
        let Allele::Scored {
            variant,
            motifs,
            encoding,
        } = allele
        else {
            l2.push(None);
            cos.push(None);
            llr.push(None);
            continue;
        };
        if let Some(scanner) = scanner {
            for e in motifs {
                if e.effect == glance_variant::Effect::None {
                    continue;
                }
                let mut entry = format!(
                    "{}|{}|{}|",
                    String::from_utf8_lossy(&variant.alternate),
                    scanner.motifs()[e.motif].motif.id,
                    e.effect.name()
                );
                push_p(&mut entry, e.reference);
                entry.push('|');
                push_p(&mut entry, e.alternate);
                motif_entries.push(Some(entry));
            }
        }
        any_encoding |= encoding.is_some();
        let finite = |x: Option<f64>| x.filter(|v| v.is_finite()).map(|v| v as f32);
        l2.push(finite(encoding.map(|e| e.l2)));
        cos.push(finite(encoding.map(|e| e.cosine)));
        llr.push(finite(encoding.and_then(|e| e.llr)));
    }
    let info = record.info_mut();
    // an input annotated before (glance's own output) keeps none of its old values
    info.as_mut()
        .retain(|key, _| !INFO_FIELDS.iter().any(|(k, ..)| k == key));
    if !motif_entries.is_empty() {
        info.insert(
            "GLANCE_MOTIF".into(),
            Some(Value::Array(Array::String(motif_entries))),
        );
    }
    if any_encoding {
        info.insert("GLANCE_EMB_L2".into(), Some(Value::Array(Array::Float(l2))));
        info.insert(
            "GLANCE_EMB_COS".into(),
            Some(Value::Array(Array::Float(cos))),
        );
        if llr.iter().any(Option::is_some) {
            info.insert("GLANCE_LLR".into(), Some(Value::Array(Array::Float(llr))));
        }
    }
}

impl VariantSummary {
    /// Alleles skipped in all.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

//! `glance variants` end to end on the fixtures of scripts/make_variant_fixtures.py
//! (test-data/variants/, reference test-data/hts/ref.fa): the outputs and their INFO
//! fields read back with noodles (and the tabix index queried), identical results from
//! VCF, BGZF VCF and BCF, motif scores and p-values equal to `glance scan`'s on the
//! REF and ALT haplotypes, one-line errors that name the file and line (BCF: record)
//! and leave no output, and unsorted input (no index, said why).

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::common::{data, glance};
use noodles_vcf::variant::record::Ids as _;
use noodles_vcf::variant::record_buf::info::field::value::Array;
use noodles_vcf::variant::record_buf::info::field::Value;
use noodles_vcf::variant::RecordBuf;

const MOTIFS: &str = "motifs/subset10.meme";

fn fixture(name: &str) -> PathBuf {
    data("variants").join(name)
}

/// Runs `glance variants --ref hts/ref.fa --vcf VCF --motifs subset10 EXTRA -o PREFIX`;
/// returns (exit code, stderr).
fn variants(vcf: &Path, extra: &[&str], prefix: &Path) -> (i32, String) {
    let out = glance()
        .arg("variants")
        .arg("--ref")
        .arg(data("hts/ref.fa"))
        .arg("--vcf")
        .arg(vcf)
        .arg("--motifs")
        .arg(data(MOTIFS))
        .args(extra)
        .arg("-o")
        .arg(prefix)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The same, expected to succeed; returns stderr.
fn variants_ok(vcf: &Path, extra: &[&str], prefix: &Path) -> String {
    let (code, stderr) = variants(vcf, extra, prefix);
    assert_eq!(code, 0, "glance variants failed: {stderr}");
    stderr
}

fn out(prefix: &Path, ext: &str) -> PathBuf {
    PathBuf::from(format!("{}.{ext}", prefix.display()))
}

/// A gzip (or BGZF) file's decompressed text.
fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// A TSV as rows of cells keyed by its header: (header, rows).
fn tsv(path: &Path) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split('\t')
        .map(String::from)
        .collect();
    let rows = lines
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            assert_eq!(cells.len(), header.len(), "ragged row {l}");
            header
                .iter()
                .cloned()
                .zip(cells.iter().map(|c| c.to_string()))
                .collect()
        })
        .collect();
    (header, rows)
}

/// One record of a VCF's text: CHROM, POS, ID, REF, ALTs, and the rest of the columns.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    chrom: String,
    pos: u64,
    id: String,
    reference: String,
    alts: Vec<String>,
    qual_filter: (String, String),
    info: String,
    samples: Vec<String>,
}

fn records(text: &str) -> Vec<Line> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Line {
                chrom: c[0].into(),
                pos: c[1].parse().unwrap(),
                id: c[2].into(),
                reference: c[3].into(),
                alts: c[4].split(',').map(String::from).collect(),
                qual_filter: (c[5].into(), c[6].into()),
                info: c[7].into(),
                samples: c[8..].iter().map(|s| s.to_string()).collect(),
            }
        })
        .collect()
}

/// An INFO column as key -> value ("" for flags).
fn info(column: &str) -> HashMap<String, String> {
    column
        .split(';')
        .filter(|f| *f != ".")
        .map(|f| match f.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (f.to_string(), String::new()),
        })
        .collect()
}

/// Why glance skips an ALT allele, by the rules of docs/variants.md: symbolic `<...>`,
/// `*`/`.` missing, indels over 50 bp; `None` when it is scored.
fn skip_reason(reference: &str, alt: &str) -> Option<&'static str> {
    if alt.starts_with('<') {
        Some("symbolic")
    } else if alt == "*" || alt == "." {
        Some("missing")
    } else if reference.len().abs_diff(alt.len()) > 50 {
        Some("indel over 50 bp")
    } else {
        None
    }
}

/// The input's ALT alleles in order: (record, alt).
fn alleles(lines: &[Line]) -> Vec<(&Line, &str)> {
    lines
        .iter()
        .flat_map(|l| l.alts.iter().map(move |a| (l, a.as_str())))
        .collect()
}

/// Reads PREFIX.vcf.gz with noodles (INFO values typed by the header): the header and
/// records.
fn read_vcf(path: &Path) -> (noodles_vcf::Header, Vec<RecordBuf>) {
    let mut reader = noodles_vcf::io::reader::Builder::default()
        .build_from_path(path)
        .unwrap();
    let header = reader.read_header().unwrap();
    let records = reader
        .record_bufs(&header)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (header, records)
}

/// A Number=A Float INFO array of a record (`None`: field absent).
fn floats(record: &RecordBuf, key: &str) -> Option<Vec<Option<f32>>> {
    match record.info().get(key) {
        None => None,
        Some(Some(Value::Array(Array::Float(v)))) => Some(v.clone()),
        Some(other) => panic!("{key} is not a Float array: {other:?}"),
    }
}

/// Files in `dir` whose names start with `stem` (glance's partial files start with a dot
/// and the final name).
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn happy_path_outputs_info_fields_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("calls");
    let input = fixture("valid.vcf");
    let stderr = variants_ok(&input, &["--thresh", "1"], &prefix);
    assert_eq!(
        files_in(dir.path()),
        [
            "calls.motifs.tsv",
            "calls.variants.tsv",
            "calls.vcf.gz",
            "calls.vcf.gz.tbi"
        ]
    );

    let input_lines = records(&std::fs::read_to_string(&input).unwrap());
    let input_alleles = alleles(&input_lines);
    let (skipped, scored): (Vec<&(&Line, &str)>, Vec<_>) = input_alleles
        .iter()
        .partition(|(l, a)| skip_reason(&l.reference, a).is_some());
    // the fixture has every kind the brief asks for
    assert!(input_lines.iter().any(|l| l.alts.len() == 3));
    assert_eq!(skipped.len(), 3);

    // the summary counts records, scored alleles and skips by reason
    let summary = stderr.lines().last().unwrap();
    let expected = format!(
        "{} records, {} alleles scored, {} skipped (1 indel over 50 bp, 2 symbolic)",
        input_lines.len(),
        scored.len(),
        skipped.len()
    );
    assert!(summary.contains(&expected), "{summary} lacks {expected}");
    assert!(!summary.contains("not sorted"), "{summary}");

    // every input record is in the output, unchanged but for GLANCE_* INFO fields
    let text = gunzip(&out(&prefix, "vcf.gz"));
    let output_lines = records(&text);
    assert_eq!(output_lines.len(), input_lines.len());
    for (i, o) in input_lines.iter().zip(&output_lines) {
        let mut kept = info(&o.info);
        kept.retain(|k, _| !k.starts_with("GLANCE_"));
        assert_eq!(kept, info(&i.info), "{}", o.id);
        let strip = |l: &Line| Line {
            info: String::new(),
            ..l.clone()
        };
        assert_eq!(strip(i), strip(o));
    }

    // the header declares glance's fields with their types; noodles parses every record
    // by them
    let (header, recs) = read_vcf(&out(&prefix, "vcf.gz"));
    for (key, number) in [
        ("GLANCE_MOTIF", "."),
        ("GLANCE_EMB_L2", "A"),
        ("GLANCE_EMB_COS", "A"),
        ("GLANCE_LLR", "A"),
    ] {
        assert!(header.infos().contains_key(key), "{key} not declared");
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("##INFO=<ID={key},")))
            .unwrap();
        let ty = if key == "GLANCE_MOTIF" {
            "String"
        } else {
            "Float"
        };
        assert!(
            line.contains(&format!("Number={number},Type={ty}")),
            "{line}"
        );
    }
    assert_eq!(recs.len(), input_lines.len());

    // variants.tsv: one row per ALT allele, in order, with its status
    let (_, rows) = tsv(&out(&prefix, "variants.tsv"));
    assert_eq!(rows.len(), input_alleles.len());
    for (row, (line, alt)) in rows.iter().zip(&input_alleles) {
        assert_eq!(
            (
                &row["chrom"],
                &row["pos"],
                &row["id"],
                &row["ref"],
                &row["alt"]
            ),
            (
                &line.chrom,
                &line.pos.to_string(),
                &line.id,
                &line.reference,
                &alt.to_string()
            )
        );
        let status = skip_reason(&line.reference, alt).unwrap_or("scored");
        assert_eq!(row["status"], status, "{} {alt}", line.id);
        // the model scores every allele it is given; LLR only for substitutions
        let scored = status == "scored";
        for col in ["emb_l2", "emb_cos", "tokens_recomputed"] {
            assert_eq!(row[col] != "NA", scored, "{col} of {} {alt}", line.id);
        }
        assert_eq!(
            row["llr"] != "NA",
            scored && line.reference.len() == alt.len(),
            "llr of {} {alt}",
            line.id
        );
    }

    // Number=A fields: one value per ALT, missing exactly for skipped alleles, equal to
    // variants.tsv's (6 significant digits there)
    let mut row = rows.iter();
    for (rec, line) in recs.iter().zip(&input_lines) {
        let l2 = floats(rec, "GLANCE_EMB_L2");
        let cos = floats(rec, "GLANCE_EMB_COS");
        let llr = floats(rec, "GLANCE_LLR");
        let any_scored = line
            .alts
            .iter()
            .any(|a| skip_reason(&line.reference, a).is_none());
        assert_eq!(l2.is_some(), any_scored, "{}", line.id);
        for (k, alt) in line.alts.iter().enumerate() {
            let r = row.next().unwrap();
            let close = |v: Option<Vec<Option<f32>>>, col: &str| {
                let got = v.map(|v| {
                    assert_eq!(v.len(), line.alts.len(), "{col} of {}", line.id);
                    v[k]
                });
                match (got.flatten(), r[col].as_str()) {
                    (None, "NA") => {}
                    (Some(x), s) => {
                        let t: f64 = s.parse().unwrap();
                        assert!(
                            (f64::from(x) - t).abs() <= 1e-5 * t.abs().max(1e-3),
                            "{col} of {} {alt}: {x} vs {t}",
                            line.id
                        );
                    }
                    (None, s) => panic!("{col} of {} {alt}: missing, TSV {s}", line.id),
                }
            };
            close(l2.clone(), "emb_l2");
            close(cos.clone(), "emb_cos");
            close(llr.clone(), "llr");
        }
    }

    // GLANCE_MOTIF entries are motifs.tsv's rows with an effect
    let (_, motif_rows) = tsv(&out(&prefix, "motifs.tsv"));
    let mut from_tsv: Vec<String> = motif_rows
        .iter()
        .filter(|r| r["effect"] != "none")
        .map(|r| {
            let dot = |s: &str| if s == "NA" { ".".to_string() } else { s.into() };
            format!(
                "{}:{}|{}|{}|{}|{}|{}",
                r["chrom"],
                r["pos"],
                r["alt"],
                r["motif_id"],
                r["effect"],
                dot(&r["ref_p"]),
                dot(&r["alt_p"])
            )
        })
        .collect();
    let mut from_vcf: Vec<String> = output_lines
        .iter()
        .flat_map(|l| {
            info(&l.info)
                .get("GLANCE_MOTIF")
                .map(|v| {
                    v.split(',')
                        .map(|e| format!("{}:{}|{e}", l.chrom, l.pos))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect();
    assert!(!from_vcf.is_empty());
    from_tsv.sort();
    from_vcf.sort();
    assert_eq!(from_vcf, from_tsv);

    // the tabix index finds the records of a region, and only those
    let mut indexed = noodles_vcf::io::indexed_reader::Builder::default()
        .build_from_path(out(&prefix, "vcf.gz"))
        .unwrap();
    let header = indexed.read_header().unwrap();
    let region: noodles_core::Region = "Kp1084_1000001_1003000:450-950".parse().unwrap();
    let ids: Vec<String> = indexed
        .query(&header, &region)
        .unwrap()
        .records()
        .map(|r| r.unwrap().ids().iter().next().unwrap().to_string())
        .collect();
    let expected: Vec<String> = input_lines
        .iter()
        .filter(|l| {
            let end = l.pos + l.reference.len() as u64 - 1;
            l.chrom == "Kp1084_1000001_1003000" && l.pos <= 950 && end >= 450
        })
        .map(|l| l.id.clone())
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(ids, ["ins1", "del1", "multi1"]);
}

#[test]
fn vcf_bgzf_and_bcf_inputs_give_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for name in ["valid.vcf", "valid.vcf.gz", "valid.bcf"] {
        let prefix = dir.path().join(name);
        variants_ok(&fixture(name), &["--thresh", "0.05", "--no-model"], &prefix);
        let vcf = gunzip(&out(&prefix, "vcf.gz"));
        let motifs = std::fs::read_to_string(out(&prefix, "motifs.tsv")).unwrap();
        let variants = std::fs::read_to_string(out(&prefix, "variants.tsv")).unwrap();
        assert!(out(&prefix, "vcf.gz.tbi").exists());
        assert!(motifs.lines().count() > 1, "no motif rows: {motifs}");
        outputs.push((vcf, motifs, variants));
    }
    assert_eq!(outputs[0], outputs[1], "VCF vs BGZF VCF");
    assert_eq!(outputs[0], outputs[2], "VCF vs BCF");
}

#[test]
fn region_queries_return_what_bcftools_view_r_returns() {
    // region_queries.tsv: region sets and the IDs `bcftools view -r` returns
    // (scripts/make_variant_fixtures.py), through the tabix index of the BGZF VCF, the
    // CSI index of the BCF, and by filtering the plain VCF (no index)
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("region_queries.tsv")).unwrap();
    let vcf = std::fs::read_to_string(fixture("valid.vcf")).unwrap();
    let all: Vec<&str> = vcf
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    let mut queries = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (regions, ids) = line.split_once('\t').unwrap();
        let mut expected: Vec<&str> = ids.split(',').filter(|s| !s.is_empty()).collect();
        // glance returns them in file order, each once (bcftools: by region)
        expected.sort_by_key(|id| all.iter().position(|a| a == id));
        let mut args = vec!["--no-model"];
        for r in regions.split(' ') {
            args.extend(["--region", r]);
        }
        for name in ["valid.vcf.gz", "valid.bcf", "valid.vcf"] {
            let prefix = dir.path().join(format!("q{queries}_{name}"));
            variants_ok(&fixture(name), &args, &prefix);
            let (_, rows) = tsv(&out(&prefix, "variants.tsv"));
            let mut got: Vec<String> = rows.iter().map(|r| r["id"].clone()).collect();
            got.dedup();
            assert_eq!(got, expected, "{name}, --region {regions}");
        }
        queries += 1;
    }
    assert!(queries >= 6, "{queries}");
    // a region on a contig the header does not declare is refused
    fails(
        &fixture("valid.vcf.gz"),
        &["--region", "chrZ:1-10"],
        "region chrZ:1-10",
        "no contig `chrZ`",
    );
}

#[test]
fn a_damaged_index_fails_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let tbi = std::fs::read(fixture("valid.vcf.gz.tbi")).unwrap();
    for (name, index) in [
        ("garbage", b"TBI\x01 not an index".to_vec()),
        ("truncated", tbi[..tbi.len() / 2].to_vec()),
    ] {
        let vcf = dir.path().join(format!("{name}.vcf.gz"));
        std::fs::copy(fixture("valid.vcf.gz"), &vcf).unwrap();
        std::fs::write(dir.path().join(format!("{name}.vcf.gz.tbi")), index).unwrap();
        fails(
            &vcf,
            &["--region", "Kp1084_1000001_1003000:1-100"],
            &format!("{}.tbi: cannot read the index", vcf.display()),
            "",
        );
    }
}

/// The reference contigs of hts/ref.fa.
fn genome() -> HashMap<String, Vec<u8>> {
    let mut out: HashMap<String, Vec<u8>> = HashMap::new();
    let mut name = String::new();
    for line in std::fs::read_to_string(data("hts/ref.fa")).unwrap().lines() {
        if let Some(n) = line.strip_prefix('>') {
            name = n.split_whitespace().next().unwrap().to_string();
            out.insert(name.clone(), Vec::new());
        } else {
            out.get_mut(&name)
                .unwrap()
                .extend(line.trim().bytes().map(|b| b.to_ascii_uppercase()));
        }
    }
    out
}

/// A `glance scan --text` row: 1-based start in its sequence, width, strand, score and
/// p-value as printed.
struct Hit {
    start: u64,
    width: u64,
    strand: String,
    score: String,
    p: String,
}

#[test]
fn motif_scores_equal_glance_scan_on_the_haplotypes() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("m");
    let input = fixture("valid.vcf");
    variants_ok(&input, &["--thresh", "1", "--no-model"], &prefix);
    let (_, motif_rows) = tsv(&out(&prefix, "motifs.tsv"));

    // the REF and ALT windows of every scored allele, 40 bases (more than the widest
    // motif) around the changed bases
    let genome = genome();
    let lines = records(&std::fs::read_to_string(&input).unwrap());
    struct Case {
        key: (String, String, String),
        origin: u64,
        /// changed bases in the REF and ALT window
        changed: [(u64, u64); 2],
    }
    let mut cases = Vec::new();
    let mut fasta = String::new();
    for (line, alt) in alleles(&lines) {
        if skip_reason(&line.reference, alt).is_some() {
            continue;
        }
        let (r, a) = (line.reference.as_bytes(), alt.as_bytes());
        // trim the shared end, then the shared start
        let mut suffix = 0;
        while suffix < r.len().min(a.len()) && r[r.len() - 1 - suffix] == a[a.len() - 1 - suffix] {
            suffix += 1;
        }
        let (r2, a2) = (&r[..r.len() - suffix], &a[..a.len() - suffix]);
        let mut prefix_len = 0;
        while prefix_len < r2.len().min(a2.len()) && r2[prefix_len] == a2[prefix_len] {
            prefix_len += 1;
        }
        let contig = &genome[&line.chrom];
        let start = line.pos as usize - 1 + prefix_len; // 0-based first changed base
        let (ref_len, alt_len) = (r2.len() - prefix_len, a2.len() - prefix_len);
        let origin = start.saturating_sub(40);
        let end = (start + ref_len + 40).min(contig.len());
        let ref_window = &contig[origin..end];
        let mut alt_window = contig[origin..start].to_vec();
        alt_window.extend_from_slice(&a2[prefix_len..]);
        alt_window.extend_from_slice(&contig[start + ref_len..end]);
        let i = cases.len();
        fasta += &format!(
            ">c{i}_ref\n{}\n>c{i}_alt\n{}\n",
            String::from_utf8_lossy(ref_window),
            String::from_utf8_lossy(&alt_window)
        );
        let a0 = (start - origin) as u64;
        cases.push(Case {
            key: (line.chrom.clone(), line.pos.to_string(), alt.to_string()),
            origin: origin as u64,
            changed: [(a0, a0 + ref_len as u64), (a0, a0 + alt_len as u64)],
        });
    }
    let fa = dir.path().join("haplotypes.fa");
    std::fs::write(&fa, &fasta).unwrap();
    let scan = glance()
        .args(["scan", "-q", "--thresh", "1", "--text", "--motifs"])
        .arg(data(MOTIFS))
        .arg(&fa)
        .output()
        .unwrap();
    assert!(scan.status.success());
    let mut hits: HashMap<(String, String), Vec<Hit>> = HashMap::new();
    let text = String::from_utf8(scan.stdout).unwrap();
    // FIMO's layout: the header, the hits, a blank line and `#` comments
    for l in text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let c: Vec<&str> = l.split('\t').collect();
        let (start, stop): (u64, u64) = (c[3].parse().unwrap(), c[4].parse().unwrap());
        hits.entry((c[2].to_string(), c[0].to_string()))
            .or_default()
            .push(Hit {
                start,
                width: stop - start + 1,
                strand: c[5].into(),
                score: c[6].into(),
                p: c[7].into(),
            });
    }
    let motif_ids: Vec<String> = std::fs::read_to_string(data(MOTIFS))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("MOTIF "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(motif_ids.len(), 10);

    // The best scan hit among the windows overlapping the change (a changed base, or
    // with none, both bases around the junction), ties to the leftmost, + first:
    // (contig start, strand, score, p) as motifs.tsv prints them.
    let best = |seq: &str, motif: &str, origin: u64, (a, b): (u64, u64)| {
        let mut best: Option<&Hit> = None;
        for h in hits
            .get(&(seq.to_string(), motif.to_string()))
            .into_iter()
            .flatten()
        {
            let (s, e) = (h.start - 1, h.start - 1 + h.width);
            let overlaps = if b > a {
                s < b && e > a
            } else {
                s < a && e > a
            };
            if !overlaps {
                continue;
            }
            let better = best.is_none_or(|o| {
                let (x, y): (f64, f64) = (h.score.parse().unwrap(), o.score.parse().unwrap());
                x > y || (x == y && (h.start, &h.strand) < (o.start, &o.strand))
            });
            if better {
                best = Some(h);
            }
        }
        match best {
            Some(h) => [
                h.strand.clone(),
                (origin + h.start).to_string(),
                h.score.clone(),
                h.p.clone(),
            ],
            None => ["NA".into(), "NA".into(), "NA".into(), "NA".into()],
        }
    };
    let mut compared = 0;
    for (i, case) in cases.iter().enumerate() {
        for motif in &motif_ids {
            let want_ref = best(&format!("c{i}_ref"), motif, case.origin, case.changed[0]);
            let want_alt = best(&format!("c{i}_alt"), motif, case.origin, case.changed[1]);
            let row = motif_rows.iter().find(|r| {
                (&r["chrom"], &r["pos"], &r["alt"]) == (&case.key.0, &case.key.1, &case.key.2)
                    && &r["motif_id"] == motif
            });
            let Some(row) = row else {
                // --thresh 1: a row whenever either haplotype has a window
                assert_eq!((&want_ref[0][..], &want_alt[0][..]), ("NA", "NA"));
                continue;
            };
            let got_ref = ["strand", "ref_start", "ref_score", "ref_p"].map(|c| row[c].clone());
            let got_alt = ["alt_strand", "alt_start", "alt_score", "alt_p"].map(|c| row[c].clone());
            assert_eq!(got_ref, want_ref, "REF {motif} at {:?}", case.key);
            assert_eq!(got_alt, want_alt, "ALT {motif} at {:?}", case.key);
            let effect = match (&want_ref[0][..], &want_alt[0][..]) {
                (_, "NA") => "loss",
                ("NA", _) => "gain",
                _ if want_ref[2] == want_alt[2] => "none",
                _ => "change",
            };
            assert_eq!(row["effect"], effect, "{motif} at {:?}", case.key);
            compared += 1;
        }
    }
    assert_eq!(compared, motif_rows.len());
    assert!(compared >= 100, "{compared}");
}

/// Runs `glance variants` on a bad input and checks the failure: exit 1, one stderr
/// line `error: <vcf>: <where>...<what>`, no output (nor partial) file left.
fn fails(vcf: &Path, extra: &[&str], at: &str, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out");
    let mut args = vec!["--no-model"];
    args.extend_from_slice(extra);
    let (code, stderr) = variants(vcf, &args, &prefix);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    let head = format!("error: {}: {at}", vcf.display());
    assert!(
        stderr.starts_with(&head),
        "{stderr} does not start with {head}"
    );
    assert!(stderr.contains(what), "{stderr} does not contain {what}");
    assert!(
        files_in(dir.path()).is_empty(),
        "left behind: {:?}",
        files_in(dir.path())
    );
}

/// `line N: ` of the line holding `\tID\t` in a fixture.
fn line_of(vcf: &Path, id: &str) -> String {
    let text = std::fs::read_to_string(vcf).unwrap();
    let n = text
        .lines()
        .position(|l| l.contains(&format!("\t{id}\t")))
        .unwrap();
    format!("line {}: ", n + 1)
}

#[test]
fn non_numeric_pos_names_its_line() {
    let f = fixture("bad_pos.vcf");
    fails(&f, &[], &line_of(&f, "bad_pos"), "position");
}

#[test]
fn too_few_columns_names_its_line() {
    let f = fixture("few_columns.vcf");
    fails(&f, &[], &line_of(&f, "few_cols"), "");
}

#[test]
fn ref_mismatch_fails_or_is_counted() {
    let f = fixture("ref_mismatch.vcf");
    fails(
        &f,
        &[],
        &line_of(&f, "bad_ref"),
        "does not match the reference (Kp1084_1000001_1003000:200 is T)",
    );
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out");
    let stderr = variants_ok(&f, &["--no-model", "--skip-ref-mismatch"], &prefix);
    assert!(
        stderr.contains("4 alleles scored, 1 skipped (1 REF mismatch)"),
        "{stderr}"
    );
    let (_, rows) = tsv(&out(&prefix, "variants.tsv"));
    let status: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["id"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(
        status,
        [
            ("snv_start", "scored"),
            ("rs1", "scored"),
            ("bad_ref", "REF mismatch"),
            ("mnv1", "scored"),
            ("ins1", "scored")
        ]
    );
    // the record stays in the VCF, without annotations
    let text = gunzip(&out(&prefix, "vcf.gz"));
    let bad = records(&text)
        .into_iter()
        .find(|l| l.id == "bad_ref")
        .unwrap();
    assert!(!bad.info.contains("GLANCE_"), "{}", bad.info);
}

#[test]
fn contig_missing_from_the_reference_fails_even_when_skipping_mismatches() {
    let f = fixture("unknown_contig.vcf");
    for extra in [&[][..], &["--skip-ref-mismatch"][..]] {
        fails(
            &f,
            extra,
            &line_of(&f, "on_c"),
            "contig `C` is not in the reference",
        );
    }
}

#[test]
fn alt_with_a_non_base_letter_fails() {
    let f = fixture("bad_alt.vcf");
    fails(&f, &[], &line_of(&f, "bad_alt"), "ALT `R`");
}

#[test]
fn header_without_contigs_fails() {
    let f = fixture("no_contigs.vcf");
    fails(&f, &[], "", "declares no contigs");
}

#[test]
fn empty_file_fails() {
    let f = fixture("empty.vcf");
    fails(&f, &[], "", "empty file");
}

#[test]
fn bcf_name_over_other_bytes_fails() {
    let f = fixture("not_bcf.bcf");
    fails(&f, &[], "", "nor BCF");
}

#[test]
fn truncated_bcf_names_its_record() {
    let f = fixture("truncated.bcf");
    fails(&f, &[], "record 5: ", "");
}

#[test]
fn unsorted_input_gives_outputs_without_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("u");
    let stderr = variants_ok(&fixture("unsorted.vcf"), &["--no-model"], &prefix);
    assert_eq!(
        files_in(dir.path()),
        ["u.motifs.tsv", "u.variants.tsv", "u.vcf.gz"]
    );
    assert!(
        stderr.contains("input not sorted: no tabix index"),
        "{stderr}"
    );
    // the records are written in input order
    let ids: Vec<String> = records(&gunzip(&out(&prefix, "vcf.gz")))
        .into_iter()
        .map(|l| l.id)
        .collect();
    let input: Vec<String> = records(&std::fs::read_to_string(fixture("unsorted.vcf")).unwrap())
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(ids, input);
}

/// A one-record VCF on hts/ref.fa's first contig (POS 500) with ALT `alt_after_ref`
/// appended to the reference base; returns its path.
fn one_record(dir: &Path, alt_after_ref: &str) -> PathBuf {
    let contig = "Kp1084_1000001_1003000";
    let base = genome()[contig][499] as char;
    let text = format!(
        "##fileformat=VCFv4.2\n##contig=<ID={contig},length=3000>\n\
         #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
         {contig}\t500\tone\t{base}\t{base}{alt_after_ref}\t.\t.\t.\n"
    );
    let path = dir.join("one.vcf");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn glance_motif_entries_keep_alleles_that_hold_na() {
    let dir = tempfile::tempdir().unwrap();
    let vcf = one_record(dir.path(), "NAG");
    let prefix = dir.path().join("na");
    variants_ok(&vcf, &["--thresh", "1", "--no-model"], &prefix);
    let line = records(&gunzip(&out(&prefix, "vcf.gz"))).remove(0);
    let alt = &line.alts[0];
    assert!(alt.ends_with("NAG"));
    let entries = info(&line.info)["GLANCE_MOTIF"].clone();
    let entries: Vec<&str> = entries.split(',').collect();
    assert!(!entries.is_empty());
    for e in entries {
        let parts: Vec<&str> = e.split('|').collect();
        assert_eq!(parts.len(), 5, "{e}");
        assert_eq!(parts[0], alt, "{e}");
        assert!(
            parts[3..]
                .iter()
                .all(|p| *p == "." || p.parse::<f64>().is_ok()),
            "{e}"
        );
    }
}

#[test]
fn annotating_an_annotated_file_replaces_the_old_fields() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    variants_ok(
        &fixture("valid.vcf"),
        &["--thresh", "1", "--no-model"],
        &first,
    );
    let body = |prefix: &Path| {
        let text = gunzip(&out(prefix, "vcf.gz"));
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert!(body(&first).iter().any(|l| l.contains("GLANCE_MOTIF=")));
    // again at a stricter threshold: the same records as a first run at it
    let again = dir.path().join("again");
    variants_ok(&out(&first, "vcf.gz"), &["--no-model"], &again);
    let fresh = dir.path().join("fresh");
    variants_ok(&fixture("valid.vcf"), &["--no-model"], &fresh);
    assert_eq!(body(&again), body(&fresh));
    // nothing to add: the input's records without glance's fields
    let bare = dir.path().join("bare");
    variants_ok(
        &out(&first, "vcf.gz"),
        &["--no-model", "--thresh", "1e-30"],
        &bare,
    );
    let input: Vec<String> = records(&std::fs::read_to_string(fixture("valid.vcf")).unwrap())
        .into_iter()
        .map(|l| l.info)
        .collect();
    let infos: Vec<String> = records(&gunzip(&out(&bare, "vcf.gz")))
        .into_iter()
        .map(|l| l.info)
        .collect();
    assert_eq!(infos, input);
}

#[test]
fn bcf_the_decoder_cannot_handle_fails_in_one_line() {
    // noodles-bcf panics on it; glance reports the record
    let f = fixture("gt_int32.bcf");
    fails(&f, &[], "record 1: ", "cannot decode: ");
}

#[test]
fn bcf_record_claiming_gigabytes_fails_under_a_small_memory_limit() {
    // 0xFFFFFFF0 bytes twice, in a file of 481: under a 512 MiB address-space limit the
    // reader must not allocate what the lengths claim
    let f = fixture("huge_record.bcf");
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 524288 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_glance"))
        .args([
            "variants",
            "--no-model",
            "--no-motifs",
            "--threads",
            "1",
            "--ref",
        ])
        .arg(data("hts/ref.fa"))
        .arg("--vcf")
        .arg(&f)
        .arg("-o")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: {}: record 1: the record declares 8589934560 bytes, the file ends after 49",
            f.display()
        )
    );
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn bcf_header_with_a_huge_idx_fails_without_allocating_it() {
    // noodles sizes its dictionaries by IDX: 10^16 entries aborted the process
    let f = fixture("huge_idx.bcf");
    fails(
        &f,
        &[],
        "BCF header: IDX=10400000000000000 is larger than",
        "",
    );
}

#[test]
fn bcf_record_with_more_samples_than_the_header_fails() {
    // noodles allocated by the record's claim (2^24 - 1) before decoding
    let f = fixture("many_samples.bcf");
    fails(
        &f,
        &[],
        "record 1: the record has 16777215 samples, the header names 1",
        "",
    );
}

#[test]
fn a_model_without_a_k_mer_grid_is_refused_in_one_line() {
    // Nucleotide Transformer tokenizes by longest match: variants re-tokenize on a grid
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("nt");
    let model = data("models/nt_v1_k6");
    let (code, stderr) = variants(
        &fixture("valid.vcf"),
        &["--model", model.to_str().unwrap()],
        &prefix,
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("tokenizes by longest match"), "{stderr}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no output"
    );
}

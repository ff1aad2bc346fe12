//! MEME minimal text format: version line, optional `ALPHABET=`, `strands:`, background
//! block, then `MOTIF id [alt]`, a `letter-probability matrix:` line with `alength=`, `w=`,
//! `nsites=`, its rows, and an optional `URL` line. Also the writer.

use std::io::Write;

use super::{number, MotifFile};
use crate::error::{parse_err, MotifError};
use crate::motif::Motif;

/// Parses MEME text; returns the file and the 1-based line of each motif.
pub(super) fn parse(text: &str) -> Result<(MotifFile, Vec<usize>), MotifError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut motifs = Vec::new();
    let mut starts = Vec::new();
    let mut background = None;
    let mut seen_version = false;
    let mut i = 0;
    while i < lines.len() {
        let ln = i + 1;
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("MEME version") {
            seen_version = true;
        } else if let Some(rest) = line.strip_prefix("ALPHABET") {
            let alph = rest.trim_start_matches(['=', ' ', '\t']).trim();
            if !alph.eq_ignore_ascii_case("ACGT") {
                return Err(parse_err(
                    ln,
                    format!("unsupported alphabet {alph:?}: glance scans DNA motifs (ACGT)"),
                ));
            }
        } else if line.starts_with("Background letter frequencies") {
            let (bg, next) = parse_background(&lines, i)?;
            background = Some(bg);
            i = next;
        } else if let Some(rest) = line.strip_prefix("MOTIF") {
            if !seen_version {
                return Err(parse_err(ln, "MOTIF before the 'MEME version' line"));
            }
            let mut words = rest.split_whitespace();
            let id = words
                .next()
                .ok_or_else(|| parse_err(ln, "MOTIF line without an id"))?
                .to_string();
            let alt_id = words.next().unwrap_or("").to_string();
            let (motif, next) = parse_motif_body(&lines, i, id, alt_id, ln)?;
            motifs.push(motif);
            starts.push(ln);
            i = next;
        } else if line.starts_with("strands:") {
            // FIMO scans both strands unless --norc; the declaration does not change that.
        } else if !seen_version {
            return Err(parse_err(
                ln,
                "not a MEME motif file (no 'MEME version' line)",
            ));
        }
    }
    if !seen_version {
        return Err(parse_err(
            1,
            "not a MEME motif file (no 'MEME version' line)",
        ));
    }
    Ok((MotifFile { motifs, background }, starts))
}

/// Reads `A p C p G p T p` pairs (over one or more lines) starting at line index `i`.
fn parse_background(lines: &[&str], mut i: usize) -> Result<([f64; 4], usize), MotifError> {
    let mut bg = [f64::NAN; 4];
    let mut found = 0;
    while found < 4 && i < lines.len() {
        let ln = i + 1;
        let toks: Vec<&str> = lines[i].split_whitespace().collect();
        i += 1;
        if toks.is_empty() {
            continue;
        }
        if !toks.len().is_multiple_of(2) {
            return Err(parse_err(ln, "background: expected letter/frequency pairs"));
        }
        for pair in toks.chunks(2) {
            let idx = match pair[0] {
                "A" | "a" => 0,
                "C" | "c" => 1,
                "G" | "g" => 2,
                "T" | "t" | "U" | "u" => 3,
                other => {
                    return Err(parse_err(
                        ln,
                        format!("background: letter {other:?} is not in the ACGT alphabet"),
                    ))
                }
            };
            bg[idx] = number(pair[1], ln)?;
            found += 1;
        }
    }
    if bg.iter().any(|v| v.is_nan()) {
        return Err(parse_err(
            i,
            "background: expected frequencies of A, C, G and T",
        ));
    }
    Ok((bg, i))
}

/// Parses one motif's body starting after its MOTIF line.
fn parse_motif_body(
    lines: &[&str],
    mut i: usize,
    id: String,
    alt_id: String,
    motif_line: usize,
) -> Result<(Motif, usize), MotifError> {
    let mut probs: Vec<[f64; 4]> = Vec::new();
    let mut nsites = None;
    let mut url = None;
    let mut have_matrix = false;
    while i < lines.len() {
        let ln = i + 1;
        let line = lines[i].trim();
        if line.starts_with("MOTIF") {
            break;
        }
        i += 1;
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("letter-probability matrix:") {
            have_matrix = true;
            let (alength, w, n) = parse_matrix_header(rest, ln)?;
            if let Some(a) = alength {
                if a != 4 {
                    return Err(parse_err(
                        ln,
                        format!("motif {id}: alength= {a}, but glance reads DNA (4 letters)"),
                    ));
                }
            }
            let width = w;
            nsites = n;
            // rows follow
            while i < lines.len() {
                let rl = lines[i].trim();
                if rl.is_empty() {
                    if width.is_some_and(|w| probs.len() < w) {
                        i += 1;
                        continue;
                    }
                    break;
                }
                if !rl.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-') {
                    break;
                }
                let toks: Vec<&str> = rl.split_whitespace().collect();
                if toks.len() != 4 {
                    return Err(parse_err(
                        i + 1,
                        format!(
                            "motif {id}: ragged matrix: row has {} values, expected 4",
                            toks.len()
                        ),
                    ));
                }
                let mut row = [0.0; 4];
                for (k, t) in toks.iter().enumerate() {
                    row[k] = number(t, i + 1)?;
                }
                probs.push(row);
                i += 1;
                if width.is_some_and(|w| probs.len() == w) {
                    break;
                }
            }
            if let Some(w) = width {
                if probs.len() != w {
                    return Err(parse_err(
                        ln,
                        format!("motif {id}: w= {w} but {} rows follow", probs.len()),
                    ));
                }
            }
        } else if line.starts_with("log-odds matrix:") {
            // Skip the scores; FIMO rebuilds them from the probabilities.
            while i < lines.len() {
                let rl = lines[i].trim();
                if rl.is_empty()
                    || rl.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-')
                {
                    i += 1;
                } else {
                    break;
                }
            }
        } else if let Some(rest) = line.strip_prefix("URL") {
            url = Some(rest.trim().to_string());
        } else {
            return Err(parse_err(
                ln,
                format!("motif {id}: unexpected line {line:?}"),
            ));
        }
    }
    if !have_matrix {
        return Err(parse_err(
            motif_line,
            format!("motif {id}: no letter-probability matrix"),
        ));
    }
    let mut motif = Motif {
        id,
        alt_id,
        probs,
        nsites,
        url,
    };
    motif.validate(motif_line)?;
    motif.normalize();
    Ok((motif, i))
}

/// `alength=`, `w=` and `nsites=` of a matrix header, when present.
type MatrixHeader = (Option<usize>, Option<usize>, Option<f64>);

/// Reads `alength=`, `w=` and `nsites=` from a matrix header.
fn parse_matrix_header(rest: &str, ln: usize) -> Result<MatrixHeader, MotifError> {
    let toks: Vec<&str> = rest
        .split(|c: char| c.is_whitespace() || c == '=')
        .filter(|t| !t.is_empty())
        .collect();
    let (mut alength, mut w, mut nsites) = (None, None, None);
    let mut k = 0;
    while k + 1 < toks.len() {
        match toks[k] {
            "alength" => alength = Some(number(toks[k + 1], ln)? as usize),
            "w" => w = Some(number(toks[k + 1], ln)? as usize),
            "nsites" => nsites = Some(number(toks[k + 1], ln)?),
            _ => {}
        }
        k += 2;
    }
    Ok((alength, w, nsites))
}

/// Writes motifs in MEME minimal format with the given background.
pub fn write_meme(
    out: &mut dyn Write,
    motifs: &[Motif],
    background: [f64; 4],
) -> std::io::Result<()> {
    writeln!(out, "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n")?;
    writeln!(out, "Background letter frequencies")?;
    writeln!(
        out,
        "A {} C {} G {} T {}\n",
        background[0], background[1], background[2], background[3]
    )?;
    for m in motifs {
        if m.alt_id.is_empty() {
            writeln!(out, "MOTIF {}", m.id)?;
        } else {
            writeln!(out, "MOTIF {} {}", m.id, m.alt_id)?;
        }
        write!(
            out,
            "letter-probability matrix: alength= 4 w= {}",
            m.width()
        )?;
        if let Some(n) = m.nsites {
            write!(out, " nsites= {n}")?;
        }
        writeln!(out, " E= 0")?;
        for row in &m.probs {
            writeln!(out, " {} {} {} {}", row[0], row[1], row[2], row[3])?;
        }
        if let Some(url) = &m.url {
            writeln!(out, "URL {url}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

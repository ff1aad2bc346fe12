//! JASPAR formats: `.jaspar` (`>ID name` then rows `A [ c1 c2 ... ]` for A, C, G, T) and
//! `.pfm` (optional `>ID name` header, then four rows of numbers in A, C, G, T order).

use super::{columns_from_rows, content_lines, motif_from_matrix, number, MotifFile};
use crate::error::{parse_err, MotifError};

/// Splits `>ID name...` into id and alternative name.
fn header(line: &str, ln: usize) -> Result<(String, String), MotifError> {
    let mut words = line[1..].split_whitespace();
    let id = words
        .next()
        .ok_or_else(|| parse_err(ln, "header '>' without a motif id"))?
        .to_string();
    let alt = words.collect::<Vec<_>>().join(" ");
    Ok((id, alt))
}

/// A motif being read: id, alternative name, first line, rows A, C, G, T.
type PendingMatrix = (String, String, usize, [Option<Vec<f64>>; 4]);

/// Parses `.jaspar` text.
pub(super) fn parse_jaspar(text: &str) -> Result<(MotifFile, Vec<usize>), MotifError> {
    let mut motifs = Vec::new();
    let mut starts = Vec::new();
    let mut current: Option<PendingMatrix> = None;
    let finish = |cur: PendingMatrix,
                  motifs: &mut Vec<_>,
                  starts: &mut Vec<usize>|
     -> Result<(), MotifError> {
        let (id, alt, ln, rows) = cur;
        let mut full: [Vec<f64>; 4] = Default::default();
        for (k, r) in rows.into_iter().enumerate() {
            full[k] = r.ok_or_else(|| {
                parse_err(
                    ln,
                    format!("motif {id}: missing row {}", "ACGT".as_bytes()[k] as char),
                )
            })?;
        }
        let cols = columns_from_rows(&full, &id, ln)?;
        motifs.push(motif_from_matrix(id, alt, cols, None, ln)?);
        starts.push(ln);
        Ok(())
    };
    for (ln, line) in content_lines(text) {
        let line = line.trim_start();
        if line.starts_with('>') {
            if let Some(cur) = current.take() {
                finish(cur, &mut motifs, &mut starts)?;
            }
            let (id, alt) = header(line, ln)?;
            current = Some((id, alt, ln, Default::default()));
            continue;
        }
        let Some(cur) = current.as_mut() else {
            return Err(parse_err(ln, "matrix row before any '>' header"));
        };
        let letter = line.chars().next().unwrap_or(' ');
        let k = match letter.to_ascii_uppercase() {
            'A' => 0,
            'C' => 1,
            'G' => 2,
            'T' | 'U' => 3,
            _ => {
                return Err(parse_err(
                    ln,
                    format!("row letter {letter:?} is not in the ACGT alphabet"),
                ))
            }
        };
        if cur.3[k].is_some() {
            return Err(parse_err(
                ln,
                format!("motif {}: row {letter} repeated", cur.0),
            ));
        }
        let body = line[letter.len_utf8()..].replace(['[', ']'], " ");
        let vals = body
            .split_whitespace()
            .map(|t| number(t, ln))
            .collect::<Result<Vec<_>, _>>()?;
        cur.3[k] = Some(vals);
    }
    if let Some(cur) = current.take() {
        finish(cur, &mut motifs, &mut starts)?;
    }
    Ok((
        MotifFile {
            motifs,
            background: None,
        },
        starts,
    ))
}

/// Parses `.pfm` text (headerless single matrix named `default_id`, or `>`-headed ones).
pub(super) fn parse_pfm(
    text: &str,
    default_id: &str,
) -> Result<(MotifFile, Vec<usize>), MotifError> {
    let mut motifs = Vec::new();
    let mut starts = Vec::new();
    let mut id = default_id.to_string();
    let mut alt = String::new();
    let mut start = 1;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut seen_any = false;
    let mut flush =
        |id: &str, alt: &str, start: usize, rows: &mut Vec<Vec<f64>>| -> Result<(), MotifError> {
            if rows.is_empty() {
                return Ok(());
            }
            if rows.len() != 4 {
                return Err(parse_err(
                    start,
                    format!("motif {id}: {} rows, expected 4 (A, C, G, T)", rows.len()),
                ));
            }
            let four: [Vec<f64>; 4] = [
                std::mem::take(&mut rows[0]),
                std::mem::take(&mut rows[1]),
                std::mem::take(&mut rows[2]),
                std::mem::take(&mut rows[3]),
            ];
            rows.clear();
            let cols = columns_from_rows(&four, id, start)?;
            motifs.push(motif_from_matrix(
                id.to_string(),
                alt.to_string(),
                cols,
                None,
                start,
            )?);
            starts.push(start);
            Ok(())
        };
    for (ln, line) in content_lines(text) {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with('>') {
            flush(&id, &alt, start, &mut rows)?;
            (id, alt) = header(line, ln)?;
            start = ln;
            seen_any = true;
            continue;
        }
        if !seen_any {
            seen_any = true;
            start = ln;
        }
        let vals = line
            .split_whitespace()
            .map(|t| number(t, ln))
            .collect::<Result<Vec<_>, _>>()?;
        if rows.len() == 4 {
            return Err(parse_err(ln, format!("motif {id}: more than 4 rows")));
        }
        rows.push(vals);
    }
    flush(&id, &alt, start, &mut rows)?;
    Ok((
        MotifFile {
            motifs,
            background: None,
        },
        starts,
    ))
}

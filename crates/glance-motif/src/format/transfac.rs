//! TRANSFAC matrix format: two-letter tags (`AC`, `ID`, `NA`, `BF`, ...), a `P0`/`PO`
//! line naming the letter columns, numbered rows of counts or probabilities (an optional
//! trailing consensus letter), `XX` separators and `//` between matrices.

use super::{content_lines, motif_from_matrix, number, MotifFile};
use crate::error::{parse_err, MotifError};

#[derive(Default)]
struct Pending {
    ac: Option<String>,
    id: Option<String>,
    name: Option<String>,
    order: Option<[usize; 4]>,
    rows: Vec<[f64; 4]>,
    line: usize,
}

/// Parses TRANSFAC text.
pub(super) fn parse(text: &str) -> Result<(MotifFile, Vec<usize>), MotifError> {
    let mut motifs = Vec::new();
    let mut starts = Vec::new();
    let mut cur = Pending::default();
    let mut finish = |cur: &mut Pending| -> Result<(), MotifError> {
        let p = std::mem::take(cur);
        if p.rows.is_empty() && p.ac.is_none() && p.id.is_none() {
            return Ok(());
        }
        let id =
            p.ac.clone()
                .or_else(|| p.id.clone())
                .ok_or_else(|| parse_err(p.line, "matrix without AC or ID"))?;
        let alt = match (&p.ac, &p.id, &p.name) {
            (_, _, Some(n)) => n.clone(),
            (Some(_), Some(i), None) => i.clone(),
            _ => String::new(),
        };
        if p.rows.is_empty() {
            return Err(parse_err(p.line, format!("motif {id}: no matrix rows")));
        }
        motifs.push(motif_from_matrix(id, alt, p.rows, None, p.line)?);
        starts.push(p.line);
        Ok(())
    };
    for (ln, line) in content_lines(text) {
        if line.starts_with("//") {
            finish(&mut cur)?;
            continue;
        }
        let (tag, rest) = match line.find(|c: char| c.is_whitespace()) {
            Some(p) => (&line[..p], line[p..].trim()),
            None => (line, ""),
        };
        if cur.line == 0 {
            cur.line = ln;
        }
        match tag {
            "AC" => cur.ac = Some(rest.to_string()),
            "ID" => cur.id = Some(rest.to_string()),
            "NA" => cur.name = Some(rest.to_string()),
            "P0" | "PO" => {
                let mut order = [usize::MAX; 4];
                let letters: Vec<&str> = rest.split_whitespace().collect();
                if letters.len() != 4 {
                    return Err(parse_err(
                        ln,
                        format!(
                            "expected 4 letter columns (A C G T), found {}",
                            letters.len()
                        ),
                    ));
                }
                for (col, l) in letters.iter().enumerate() {
                    let k = match l.to_ascii_uppercase().as_str() {
                        "A" => 0,
                        "C" => 1,
                        "G" => 2,
                        "T" | "U" => 3,
                        other => {
                            return Err(parse_err(
                                ln,
                                format!("column letter {other:?} is not in the ACGT alphabet"),
                            ))
                        }
                    };
                    order[col] = k;
                }
                let mut seen = [false; 4];
                for &k in &order {
                    seen[k] = true;
                }
                if seen.iter().any(|s| !s) {
                    return Err(parse_err(ln, "P0 line must name A, C, G and T once each"));
                }
                cur.order = Some(order);
            }
            t if t.chars().all(|c| c.is_ascii_digit()) => {
                let order = cur
                    .order
                    .ok_or_else(|| parse_err(ln, "matrix row before the P0 line"))?;
                let toks: Vec<&str> = rest.split_whitespace().collect();
                if toks.len() < 4 || toks.len() > 5 {
                    return Err(parse_err(
                        ln,
                        format!("ragged matrix: row has {} values, expected 4", toks.len()),
                    ));
                }
                let mut row = [0.0; 4];
                for (col, t) in toks[..4].iter().enumerate() {
                    row[order[col]] = number(t, ln)?;
                }
                cur.rows.push(row);
            }
            _ => {} // XX, BF, DE, CC, ... carry no matrix data
        }
    }
    finish(&mut cur)?;
    Ok((
        MotifFile {
            motifs,
            background: None,
        },
        starts,
    ))
}

//! HOMER `.motif` format: `>CONSENSUS<TAB>NAME<TAB>log-odds threshold...` then one row of
//! four probabilities (A C G T) per position.

use super::{content_lines, motif_from_matrix, number, MotifFile};
use crate::error::{parse_err, MotifError};

/// Parses HOMER text.
pub(super) fn parse(text: &str) -> Result<(MotifFile, Vec<usize>), MotifError> {
    let mut motifs = Vec::new();
    let mut starts = Vec::new();
    let mut current: Option<(String, String, usize, Vec<[f64; 4]>)> = None;
    let mut finish =
        |cur: Option<(String, String, usize, Vec<[f64; 4]>)>| -> Result<(), MotifError> {
            if let Some((id, alt, ln, rows)) = cur {
                if rows.is_empty() {
                    return Err(parse_err(ln, format!("motif {id}: no matrix rows")));
                }
                motifs.push(motif_from_matrix(id, alt, rows, None, ln)?);
                starts.push(ln);
            }
            Ok(())
        };
    for (ln, line) in content_lines(text) {
        if let Some(rest) = line.strip_prefix('>') {
            finish(current.take())?;
            let fields: Vec<&str> = rest.split('\t').collect();
            let consensus = fields[0].trim();
            let name = fields.get(1).map(|s| s.trim()).unwrap_or("");
            // HOMER names are often "NAME/source/..."; the id is the name, the
            // alternative id the consensus.
            let (id, alt) = if name.is_empty() {
                (consensus.to_string(), String::new())
            } else {
                (name.to_string(), consensus.to_string())
            };
            if id.is_empty() {
                return Err(parse_err(ln, "header '>' without a motif name"));
            }
            current = Some((id, alt, ln, Vec::new()));
            continue;
        }
        let Some(cur) = current.as_mut() else {
            return Err(parse_err(ln, "matrix row before any '>' header"));
        };
        let toks: Vec<&str> = line.split_whitespace().collect();
        if toks.len() != 4 {
            return Err(parse_err(
                ln,
                format!(
                    "motif {}: ragged matrix: row has {} values, expected 4",
                    cur.0,
                    toks.len()
                ),
            ));
        }
        let mut row = [0.0; 4];
        for (k, t) in toks.iter().enumerate() {
            row[k] = number(t, ln)?;
        }
        cur.3.push(row);
    }
    finish(current.take())?;
    Ok((
        MotifFile {
            motifs,
            background: None,
        },
        starts,
    ))
}

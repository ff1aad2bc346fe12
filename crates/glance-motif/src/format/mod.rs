//! Motif file formats: MEME (minimal text format), JASPAR (`.jaspar` counts and `.pfm`),
//! TRANSFAC and HOMER `.motif`; format detection and the MEME writer.

mod homer;
mod jaspar;
mod meme;
mod transfac;

pub use meme::write_meme;

use crate::error::{parse_err, MotifError};
use crate::motif::{check_unique_ids, Motif};

/// A motif file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotifFormat {
    /// MEME minimal text format (`.meme`).
    Meme,
    /// JASPAR count matrices with letter rows (`.jaspar`).
    Jaspar,
    /// JASPAR/raw position frequency matrices: four numeric rows A, C, G, T (`.pfm`).
    Pfm,
    /// TRANSFAC matrix format (`.transfac`, `.dat`).
    Transfac,
    /// HOMER `.motif`: a `>` header then one row of four probabilities per position.
    Homer,
}

impl MotifFormat {
    /// Guesses the format from a file extension (lower case, without the dot).
    pub fn from_extension(ext: &str) -> Option<MotifFormat> {
        match ext.to_ascii_lowercase().as_str() {
            "meme" => Some(MotifFormat::Meme),
            "jaspar" => Some(MotifFormat::Jaspar),
            "pfm" => Some(MotifFormat::Pfm),
            "transfac" | "dat" => Some(MotifFormat::Transfac),
            "motif" | "motifs" | "homer" => Some(MotifFormat::Homer),
            _ => None,
        }
    }

    /// Guesses the format from the text.
    pub fn detect(text: &str) -> Option<MotifFormat> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next()?;
        if first.starts_with("MEME version") {
            return Some(MotifFormat::Meme);
        }
        if first.starts_with("AC ")
            || first.starts_with("ID ")
            || first.starts_with("VV ")
            || first.starts_with("P0")
            || first.starts_with("PO")
            || first.starts_with("DE ")
        {
            return Some(MotifFormat::Transfac);
        }
        if first.starts_with('>') {
            let second = lines.next()?;
            if second.starts_with(['A', 'C', 'G', 'T']) {
                return Some(MotifFormat::Jaspar);
            }
            let n = second.split_whitespace().count();
            return Some(if n == 4 {
                MotifFormat::Homer
            } else {
                MotifFormat::Pfm
            });
        }
        if first.split_whitespace().all(|t| t.parse::<f64>().is_ok()) {
            return Some(MotifFormat::Pfm);
        }
        None
    }
}

/// Motifs read from one file, with the background the file declares (MEME only).
#[derive(Debug, Clone, PartialEq)]
pub struct MotifFile {
    /// The motifs in file order.
    pub motifs: Vec<Motif>,
    /// The file's background letter frequencies (A, C, G, T), when it has one.
    pub background: Option<[f64; 4]>,
}

/// Parses motifs in `format`; `default_id` names a headerless `.pfm` matrix. Checks every
/// matrix, rejects duplicate ids and an empty set.
pub fn parse_motifs(
    text: &str,
    format: MotifFormat,
    default_id: &str,
) -> Result<MotifFile, MotifError> {
    let (file, lines) = match format {
        MotifFormat::Meme => meme::parse(text)?,
        MotifFormat::Jaspar => jaspar::parse_jaspar(text)?,
        MotifFormat::Pfm => jaspar::parse_pfm(text, default_id)?,
        MotifFormat::Transfac => transfac::parse(text)?,
        MotifFormat::Homer => homer::parse(text)?,
    };
    if file.motifs.is_empty() {
        return Err(MotifError::Empty);
    }
    check_unique_ids(&file.motifs, &lines)?;
    for (m, &line) in file.motifs.iter().zip(&lines) {
        m.validate(line)?;
    }
    Ok(file)
}

/// Reads a motif file, choosing the format from the extension (then the content).
pub fn read_motifs(path: &std::path::Path) -> Result<MotifFile, MotifError> {
    let text = std::fs::read_to_string(path)?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "motif".to_string());
    let format = path
        .extension()
        .and_then(|e| MotifFormat::from_extension(&e.to_string_lossy()))
        .or_else(|| MotifFormat::detect(&text))
        .ok_or_else(|| {
            parse_err(
                1,
                "cannot tell the motif format (MEME, JASPAR, .pfm, TRANSFAC or HOMER)",
            )
        })?;
    parse_motifs(&text, format, &stem)
}

/// The lines of `text` that are not blank, with their numbers (from 1) and without
/// trailing white space.
pub(crate) fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, raw)| (i + 1, raw.trim_end()))
        .filter(|(_, line)| !line.trim().is_empty())
}

/// Parses a number, naming the line on failure.
pub(crate) fn number(tok: &str, line: usize) -> Result<f64, MotifError> {
    let v: f64 = tok
        .parse()
        .map_err(|_| parse_err(line, format!("not a number: {tok:?}")))?;
    if !v.is_finite() {
        return Err(parse_err(line, format!("not a finite number: {tok:?}")));
    }
    Ok(v)
}

/// Builds the matrix of a motif given as four rows (A, C, G, T) of equal length.
pub(crate) fn columns_from_rows(
    rows: &[Vec<f64>; 4],
    id: &str,
    line: usize,
) -> Result<Vec<[f64; 4]>, MotifError> {
    let w = rows[0].len();
    if rows.iter().any(|r| r.len() != w) {
        return Err(parse_err(
            line,
            format!(
                "motif {id}: ragged matrix (rows of {}, {}, {}, {} values)",
                rows[0].len(),
                rows[1].len(),
                rows[2].len(),
                rows[3].len()
            ),
        ));
    }
    if w == 0 {
        return Err(parse_err(line, format!("motif {id}: empty matrix")));
    }
    Ok((0..w)
        .map(|i| [rows[0][i], rows[1][i], rows[2][i], rows[3][i]])
        .collect())
}

/// Decides whether a matrix holds counts (some row sums far from 1) or probabilities.
pub(crate) fn looks_like_counts(rows: &[[f64; 4]]) -> bool {
    rows.iter()
        .any(|r| (r.iter().sum::<f64>() - 1.0).abs() > crate::motif::ROW_SUM_TOLERANCE)
        && rows.iter().all(|r| r.iter().sum::<f64>() >= 2.0)
}

/// Builds a motif from rows that are either counts or probabilities.
pub(crate) fn motif_from_matrix(
    id: String,
    alt_id: String,
    rows: Vec<[f64; 4]>,
    nsites: Option<f64>,
    line: usize,
) -> Result<Motif, MotifError> {
    if looks_like_counts(&rows) {
        Motif::from_counts(id, alt_id, &rows, line)
    } else {
        let mut m = Motif {
            id,
            alt_id,
            probs: rows,
            nsites,
            url: None,
        };
        m.validate(line)?;
        m.normalize();
        Ok(m)
    }
}

//! The motif model: a DNA position probability matrix (rows = positions, columns A C G T)
//! with its id, alternative name, site count and URL, and the checks every format shares.

use crate::error::MotifError;

/// Rows whose sum differs from 1 by more than this are rejected as malformed.
pub const ROW_SUM_TOLERANCE: f64 = 0.02;

/// Rows whose sum differs from 1 by more than this (but within [`ROW_SUM_TOLERANCE`]) are
/// rescaled to sum to 1, as the MEME suite's reader does (`normalize_motif`, 1e-5).
pub const RENORMALIZE_TOLERANCE: f64 = 0.00001;

/// A DNA motif as a position probability matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Motif {
    /// Identifier (MEME's first MOTIF word, JASPAR's matrix id), e.g. `MA0139.2`.
    pub id: String,
    /// Alternative name (MEME's second MOTIF word), e.g. `CTCF`; may be empty.
    pub alt_id: String,
    /// One row per position: probabilities of A, C, G, T.
    pub probs: Vec<[f64; 4]>,
    /// Number of sites the matrix was built from, when the format gives it.
    pub nsites: Option<f64>,
    /// A URL describing the motif, when given.
    pub url: Option<String>,
}

impl Motif {
    /// Motif width (number of positions).
    pub fn width(&self) -> usize {
        self.probs.len()
    }

    /// Builds a motif from a count matrix (rows = positions): each row is divided by its
    /// sum and `nsites` is the largest row sum (how the JASPAR MEME export does it).
    pub fn from_counts(
        id: String,
        alt_id: String,
        counts: &[[f64; 4]],
        line: usize,
    ) -> Result<Motif, MotifError> {
        let mut probs = Vec::with_capacity(counts.len());
        let mut nsites: f64 = 0.0;
        for (i, row) in counts.iter().enumerate() {
            if row.iter().any(|&c| !c.is_finite() || c < 0.0) {
                return Err(MotifError::Motif {
                    id,
                    message: format!("position {}: negative or invalid count", i + 1),
                });
            }
            let sum: f64 = row.iter().sum();
            if sum <= 0.0 {
                return Err(MotifError::Motif {
                    id,
                    message: format!("position {}: counts sum to zero", i + 1),
                });
            }
            nsites = nsites.max(sum);
            probs.push([row[0] / sum, row[1] / sum, row[2] / sum, row[3] / sum]);
        }
        let motif = Motif {
            id,
            alt_id,
            probs,
            nsites: Some(nsites),
            url: None,
        };
        motif.validate(line)?;
        Ok(motif)
    }

    /// Checks the matrix (non-empty, finite, non-negative, rows summing to 1 within
    /// [`ROW_SUM_TOLERANCE`]) and rescales rows that are off by more than
    /// [`RENORMALIZE_TOLERANCE`], as FIMO does when it reads a motif.
    pub fn validate(&self, _line: usize) -> Result<(), MotifError> {
        let err = |message: String| MotifError::Motif {
            id: self.id.clone(),
            message,
        };
        if self.probs.is_empty() {
            return Err(err("matrix has no positions".into()));
        }
        for (i, row) in self.probs.iter().enumerate() {
            if row.iter().any(|&p| !p.is_finite() || p < 0.0) {
                return Err(err(format!(
                    "position {}: negative or invalid probability",
                    i + 1
                )));
            }
            let sum: f64 = row.iter().sum();
            if (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
                return Err(err(format!(
                    "position {}: probabilities sum to {sum} (expected 1)",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    /// Rescales rows whose sum is off by more than [`RENORMALIZE_TOLERANCE`]
    /// (MEME suite `normalize_subarray` semantics: leave the row alone when close enough).
    pub fn normalize(&mut self) {
        for row in &mut self.probs {
            let total: f64 = row.iter().sum();
            if !(1.0 - RENORMALIZE_TOLERANCE..=1.0 + RENORMALIZE_TOLERANCE).contains(&total) {
                for p in row.iter_mut() {
                    *p /= total;
                }
            }
        }
    }
}

/// Checks that motif ids are unique; `lines` gives the 1-based line where each motif
/// starts (same order as `motifs`).
pub fn check_unique_ids(motifs: &[Motif], lines: &[usize]) -> Result<(), MotifError> {
    let mut seen = std::collections::HashSet::with_capacity(motifs.len());
    for (m, &line) in motifs.iter().zip(lines) {
        if !seen.insert(m.id.as_str()) {
            return Err(MotifError::DuplicateId {
                id: m.id.clone(),
                line,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_become_frequencies_with_nsites_the_largest_column_sum() {
        let m = Motif::from_counts(
            "X".into(),
            "".into(),
            &[[1.0, 1.0, 1.0, 1.0], [0.0, 8.0, 0.0, 0.0]],
            1,
        )
        .unwrap();
        assert_eq!(m.probs[0], [0.25; 4]);
        assert_eq!(m.probs[1], [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(m.nsites, Some(8.0));
    }

    #[test]
    fn rows_not_summing_to_one_are_rejected() {
        let m = Motif {
            id: "B".into(),
            alt_id: String::new(),
            probs: vec![[0.5, 0.5, 0.5, 0.0]],
            nsites: None,
            url: None,
        };
        let e = m.validate(3).unwrap_err().to_string();
        assert!(e.contains("sum to 1.5"), "{e}");
    }

    #[test]
    fn slightly_off_rows_are_renormalized_like_meme() {
        let mut m = Motif {
            id: "B".into(),
            alt_id: String::new(),
            probs: vec![[0.25, 0.25, 0.25, 0.2501], [0.25, 0.25, 0.25, 0.250001]],
            nsites: None,
            url: None,
        };
        m.normalize();
        assert!((m.probs[0].iter().sum::<f64>() - 1.0).abs() < 1e-15);
        // within 1e-5: left exactly as read
        assert_eq!(m.probs[1][3], 0.250001);
    }
}

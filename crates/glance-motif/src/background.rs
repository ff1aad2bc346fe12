//! Background letter frequencies as FIMO resolves them: NRDB (default), uniform, a MEME
//! background file (`--bfile`) or the motif file's own block; averaged with the
//! complement when both strands are scanned, then smoothed with a tiny pseudocount
//! (5e-7), exactly in the order of operations of the MEME suite (`set_pseudo_bg`).

use crate::error::{parse_err, MotifError};

/// The NRDB DNA frequencies (A, C, G, T) the MEME suite uses by default.
pub const NRDB_DNA: [f64; 4] = [0.281774, 0.222020, 0.228876, 0.267330];

/// The pseudocount the MEME suite adds to every background letter (`normalize_frequencies`).
const BG_PSEUDO: f64 = 0.0000005;

/// Where the background comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum BackgroundSource {
    /// NRDB frequencies (FIMO's default, `--bfile --nrdb--`).
    Nrdb,
    /// 0.25 each (`--bfile --uniform--`).
    Uniform,
    /// The background block of the motif file (`--bfile --motif--`); uniform when absent.
    MotifFile(Option<[f64; 4]>),
    /// Order-0 frequencies read from a MEME background file.
    Frequencies([f64; 4]),
}

/// MEME suite `normalize_subarray(0, 4, tolerance, f)`: rescale unless the sum is within
/// `tolerance` of 1.
fn normalize_subarray(f: &mut [f64; 4], tolerance: f64) {
    let mut total = 0.0;
    for v in f.iter() {
        total += *v;
    }
    if !(1.0 - tolerance > total || 1.0 + tolerance < total) {
        return;
    }
    for v in f.iter_mut() {
        *v /= total;
    }
}

impl BackgroundSource {
    /// Reads FIMO's `--bfile` argument: `--nrdb--`, `--uniform--`, `--motif--` (the
    /// motif file's own block, `motif_file_background`) or the path of a MEME background
    /// file, which is read here; errors name the file.
    pub fn from_bfile_arg(
        arg: &str,
        motif_file_background: Option<[f64; 4]>,
    ) -> Result<Self, MotifError> {
        Ok(match arg {
            "--nrdb--" => BackgroundSource::Nrdb,
            "--uniform--" => BackgroundSource::Uniform,
            "--motif--" => BackgroundSource::MotifFile(motif_file_background),
            path => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| MotifError::Invalid(format!("{path}: cannot read: {e}")))?;
                let freqs = parse_background_file(&text)
                    .map_err(|e| MotifError::Invalid(format!("{path}: {e}")))?;
                BackgroundSource::Frequencies(freqs)
            }
        })
    }

    /// The background FIMO uses for pseudocounts, PSSM log-odds and p-values.
    /// `both_strands` averages each letter with its complement (A with T, C with G).
    pub fn resolve(&self, both_strands: bool) -> Result<[f64; 4], MotifError> {
        let mut f = match self {
            BackgroundSource::Nrdb => {
                let mut f = NRDB_DNA;
                normalize_subarray(&mut f, 0.0);
                f
            }
            BackgroundSource::Uniform => [1.0 / 4.0; 4],
            BackgroundSource::MotifFile(None) => [1.0 / 4.0; 4],
            BackgroundSource::MotifFile(Some(bg)) => {
                let mut f = *bg;
                check(&f)?;
                normalize_subarray(&mut f, 0.0);
                f
            }
            BackgroundSource::Frequencies(bg) => {
                check(bg)?;
                *bg
            }
        };
        if both_strands {
            let at = (f[0] + f[3]) / 2.0;
            f[0] = at;
            f[3] = at;
            let cg = (f[1] + f[2]) / 2.0;
            f[1] = cg;
            f[2] = cg;
        }
        let mut sum = BG_PSEUDO * 4.0;
        for v in &f {
            sum += *v;
        }
        for v in f.iter_mut() {
            *v = (*v + BG_PSEUDO) / sum;
        }
        normalize_subarray(&mut f, 0.0);
        Ok(f)
    }
}

fn check(f: &[f64; 4]) -> Result<(), MotifError> {
    if f.iter().any(|v| !v.is_finite() || *v <= 0.0 || *v > 1.0) {
        return Err(MotifError::Background(format!(
            "frequencies must lie in (0, 1], got {f:?}"
        )));
    }
    Ok(())
}

/// Parses a MEME background file: lines `A 0.3` (order-0 entries; longer tuples of a
/// higher-order Markov model are allowed and ignored, as FIMO ignores them), `#` comments.
pub fn parse_background_file(text: &str) -> Result<[f64; 4], MotifError> {
    let mut f = [f64::NAN; 4];
    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let toks: Vec<&str> = line.split_whitespace().collect();
        if toks.len() != 2 {
            return Err(parse_err(ln, "expected 'LETTER(S) PROBABILITY'"));
        }
        let p: f64 = toks[1]
            .parse()
            .map_err(|_| parse_err(ln, format!("not a probability: {:?}", toks[1])))?;
        if !(p > 0.0 && p <= 1.0) {
            return Err(parse_err(
                ln,
                format!("probability {p} of {} must lie in (0, 1]", toks[0]),
            ));
        }
        if toks[0].len() > 1 {
            continue;
        }
        let k = match toks[0] {
            "A" => 0,
            "C" => 1,
            "G" => 2,
            "T" => 3,
            other => {
                return Err(parse_err(
                    ln,
                    format!("letter {other:?} is not in the ACGT alphabet"),
                ))
            }
        };
        if !f[k].is_nan() {
            return Err(parse_err(ln, format!("letter {} listed twice", toks[0])));
        }
        f[k] = p;
    }
    if f.iter().any(|v| v.is_nan()) {
        return Err(MotifError::Background(
            "file must list A, C, G and T".to_string(),
        ));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nrdb_symmetric_matches_pymemesuite_bits() {
        // pymemesuite MotifFile(symmetrical=True).background (MEME 5.4.1 C code).
        let f = BackgroundSource::Nrdb.resolve(true).unwrap();
        assert_eq!(f[0], 0.27455195089609824);
        assert_eq!(f[1], 0.22544804910390176);
        assert_eq!(f[2], 0.22544804910390176);
        assert_eq!(f[3], 0.27455195089609824);
    }

    #[test]
    fn background_file_parses_order0_and_skips_longer_tuples() {
        let f = parse_background_file("# order 0\nA 0.3\nC 0.2\nG 0.2\nT 0.3\nAA 0.09\n").unwrap();
        assert_eq!(f, [0.3, 0.2, 0.2, 0.3]);
        assert!(parse_background_file("A 0.3\nC 0.2\nG 0.5\n").is_err());
        assert!(parse_background_file("A 0\nC 0.2\nG 0.5\nT 0.3\n").is_err());
        assert!(parse_background_file("A 0.3\nN 0.2\nG 0.5\nT 0.3\n").is_err());
    }
}

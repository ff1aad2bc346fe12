//! Region motif scores: for one region and motif, the best window (FIMO score and
//! p-value), the number of windows at the p-value threshold, and the attention-pooled
//! affinity `tau * ln(sum_i exp(s_i / tau))` over every scoreable window of both
//! strands (a softmax attention whose query is the PWM: `s_i` is the log2-odds score of
//! window i), with the attention-weighted mean window centre.

use crate::scan::prep::Prepared;
use crate::scan::Scanner;

/// Scores of one region for one motif.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionScore {
    /// Best FIMO score of a window in the region (NaN if none is scoreable).
    pub best_score: f64,
    /// p-value of the best window (NaN if none).
    pub best_pvalue: f64,
    /// Windows (per strand) with p-value `<= thresh`.
    pub hits: u32,
    /// `tau * ln(sum_i exp(s_i / tau))` over all scoreable windows and strands (NaN if
    /// none); tends to the best score as tau -> 0 and to the best score plus
    /// `tau * ln(count)` for a flat profile.
    pub affinity: f64,
    /// Attention-weighted mean of the windows' centres, 1-based (NaN if none).
    pub position: f64,
}

impl Scanner {
    /// Scores region `[start, end)` (positions in the record) for motif `m`; `prep`
    /// holds the record's bases from position `prep_offset`.
    pub fn score_region(
        &self,
        m: usize,
        prep: &Prepared,
        prep_offset: u64,
        start: u64,
        end: u64,
        tau: f64,
    ) -> RegionScore {
        let cm = &self.motifs()[m];
        let w = cm.width() as u64;
        let mut best: Option<(f64, usize, i32)> = None;
        let mut hits = 0u32;
        let (mut mx, mut sum, mut wpos) = (f64::NEG_INFINITY, 0.0f64, 0.0f64);
        let first = start.max(prep_offset);
        let last_end = end.min(prep_offset + prep.len() as u64);
        if last_end >= first + w {
            for pos in first..=last_end - w {
                let i = (pos - prep_offset) as usize;
                if usize::from(prep.valid_run[i]) < cm.width() {
                    continue;
                }
                let centre = pos as f64 + (w as f64 - 1.0) / 2.0 + 1.0;
                for (s, t) in cm.strands.iter().enumerate() {
                    let Some(sc) = t.score(prep, i) else { continue };
                    let pssm = cm.pssm(s);
                    let raw = f64::from(sc) / pssm.scale + (w as f64) * pssm.offset;
                    if sc >= cm.threshold {
                        hits += 1;
                    }
                    if best.is_none_or(|b| raw > b.0) {
                        best = Some((raw, s, sc));
                    }
                    let x = raw / tau;
                    if x > mx {
                        let r = (mx - x).exp();
                        sum = sum * r + 1.0;
                        wpos = wpos * r + centre;
                        mx = x;
                    } else {
                        let e = (x - mx).exp();
                        sum += e;
                        wpos += e * centre;
                    }
                }
            }
        }
        match best {
            None => RegionScore {
                best_score: f64::NAN,
                best_pvalue: f64::NAN,
                hits: 0,
                affinity: f64::NAN,
                position: f64::NAN,
            },
            Some((_, s, sc)) => RegionScore {
                best_score: cm.pssm(s).score(sc),
                best_pvalue: cm.pssm(s).pvalue(sc),
                hits,
                affinity: tau * (mx + sum.ln()),
                position: wpos / sum,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{BackgroundSource, Motif, ScanOptions, Scanner};

    fn scanner() -> Scanner {
        let m = Motif {
            id: "M".into(),
            alt_id: "m".into(),
            probs: vec![
                [0.97, 0.01, 0.01, 0.01],
                [0.97, 0.01, 0.01, 0.01],
                [0.97, 0.01, 0.01, 0.01],
                [0.01, 0.97, 0.01, 0.01],
                [0.01, 0.97, 0.01, 0.01],
            ],
            nsites: Some(100.0),
            url: None,
        };
        let bg = BackgroundSource::Uniform.resolve(true).unwrap();
        let opts = ScanOptions {
            thresh: 1e-2,
            ..ScanOptions::default()
        };
        Scanner::new(&[m], bg, opts).unwrap()
    }

    #[test]
    fn affinity_is_a_soft_maximum_and_points_at_the_site() {
        let sc = scanner();
        let seq = b"TTTTTTTTTTTTTTTTTTTTAAACCTTTTTTTTTTTTTTTTTTTTT";
        let mut prep = crate::scan::prep::Prepared::default();
        sc.prepare(seq, &mut prep);
        let r = sc.score_region(0, &prep, 0, 0, seq.len() as u64, 1.0);
        assert!(r.affinity >= r.best_score - 1e-6);
        let small = sc.score_region(0, &prep, 0, 0, seq.len() as u64, 0.01);
        assert!(
            (small.affinity - small.best_score).abs() < 1e-3,
            "{small:?}"
        );
        // AAACC at 0-based 20..25: centre 23 (1-based)
        assert!((small.position - 23.0).abs() < 1e-6, "{small:?}");
        assert_eq!(r.hits, 1);
        // a region without the site
        let none = sc.score_region(0, &prep, 0, 0, 18, 1.0);
        assert_eq!(none.hits, 0);
        assert!(none.best_score < r.best_score);
        // all N: nothing scoreable
        let n = b"NNNNNNNNNN";
        sc.prepare(n, &mut prep);
        let e = sc.score_region(0, &prep, 0, 0, 10, 1.0);
        assert!(e.affinity.is_nan() && e.best_score.is_nan() && e.hits == 0);
    }
}

//! Motif gain and loss: for each motif, the best site among the windows that overlap
//! the changed bases, on both strands, in the REF and in the ALT haplotype, scored with
//! the scanner's own PSSMs and FIMO-exact p-value tables (so a site's score and p-value
//! are those `glance scan` reports for it on that haplotype).
//!
//! A window overlaps the change when it holds a changed base, or, where the change adds
//! no base to that haplotype (REF of an insertion, ALT of a deletion), when it holds
//! both bases around the junction. Windows with a base other than ACGT are not scored,
//! as FIMO skips them. Ties go to the leftmost window, forward strand first.

use glance_motif::scan::prep::base_code;
use glance_motif::Scanner;

use crate::haplotype::Haplotypes;

/// The best window of one motif in one haplotype.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Site {
    /// 1-based position of the window's first base (ALT: in ALT coordinates, see
    /// `haplotype`).
    pub start: u64,
    /// On the reverse strand.
    pub reverse: bool,
    /// The PSSM's integer score.
    pub scaled: i32,
    /// The log-odds score FIMO reports (bits).
    pub score: f64,
    /// Its p-value.
    pub pvalue: f64,
}

/// What the variant does to a motif at the p-value threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A site passes in REF and not in ALT.
    Loss,
    /// A site passes in ALT and not in REF.
    Gain,
    /// Sites pass in both, with different scores.
    Change,
    /// Sites pass in both with the same score.
    None,
}

impl Effect {
    /// The word written in the outputs.
    pub fn name(self) -> &'static str {
        match self {
            Effect::Loss => "loss",
            Effect::Gain => "gain",
            Effect::Change => "change",
            Effect::None => "none",
        }
    }
}

/// One motif's effect: written when a site passes the threshold in either haplotype.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotifEffect {
    /// Index of the motif in the scanner.
    pub motif: usize,
    /// Best REF site (`None` when no window was scoreable).
    pub reference: Option<Site>,
    /// Best ALT site.
    pub alternate: Option<Site>,
    /// The effect at the threshold.
    pub effect: Effect,
}

impl MotifEffect {
    /// ALT score minus REF score (bits); NaN when either has no site.
    pub fn delta(&self) -> f64 {
        match (self.reference, self.alternate) {
            (Some(r), Some(a)) => a.score - r.score,
            _ => f64::NAN,
        }
    }
}

/// Base codes of a haplotype and where its change is.
struct Coded {
    codes: Vec<u8>,
    /// First and one-past-last window start that overlaps the change, before
    /// subtracting the motif width (see [`Coded::starts`]).
    changed: (usize, usize),
    origin: u64,
}

impl Coded {
    fn new(bases: &[u8], changed: &std::ops::Range<usize>, origin: u64) -> Coded {
        Coded {
            codes: bases.iter().map(|&b| base_code(b)).collect(),
            changed: (changed.start, changed.end),
            origin,
        }
    }

    /// Window starts of width `w` overlapping the change.
    fn starts(&self, w: usize) -> std::ops::Range<usize> {
        let (a, b) = self.changed;
        // a window [i, i + w) holds a changed base when i < b and i + w > a; with no
        // changed base it must hold a - 1 and a: i < a and i + w > a
        let last = if b > a { b } else { a };
        let first = (a + 1).saturating_sub(w);
        let end = last.min((self.codes.len() + 1).saturating_sub(w));
        first..end.max(first)
    }

    /// The best window of motif `m` (both strands the scanner scans).
    fn best(&self, scanner: &Scanner, m: usize) -> Best {
        let motif = &scanner.motifs()[m];
        let w = motif.width();
        let mut best = Best::default();
        for i in self.starts(w) {
            let window = &self.codes[i..i + w];
            for s in 0..strands(scanner) {
                best.offer(motif.pssm(s).plain_score(window), i, s);
            }
        }
        best
    }
}

/// How many strands the scanner scans.
fn strands(scanner: &Scanner) -> usize {
    if scanner.options().both_strands {
        2
    } else {
        1
    }
}

/// The best window seen so far: (scaled score, start, strand).
#[derive(Default)]
struct Best(Option<(i32, usize, usize)>);

impl Best {
    fn offer(&mut self, score: Option<i32>, start: usize, strand: usize) {
        if let Some(v) = score {
            if self.0.is_none_or(|(b, _, _)| v > b) {
                self.0 = Some((v, start, strand));
            }
        }
    }

    fn site(&self, scanner: &Scanner, m: usize, origin: u64) -> Option<Site> {
        self.0.map(|(scaled, i, s)| {
            let pssm = scanner.motifs()[m].pssm(s);
            Site {
                start: origin + i as u64 + 1,
                reverse: s == 1,
                scaled,
                score: pssm.score(scaled),
                pvalue: pssm.pvalue(scaled),
            }
        })
    }
}

/// The best REF and ALT sites of motif `m` for a substitution, whose windows align:
/// an ALT window's score is its REF score with the changed columns swapped, so each
/// window is summed once (windows holding a base other than ACGT are summed again).
fn best_substitution(
    scanner: &Scanner,
    m: usize,
    reference: &Coded,
    alternate: &Coded,
) -> (Best, Best) {
    let motif = &scanner.motifs()[m];
    let w = motif.width();
    let (a, b) = reference.changed;
    let (mut best_ref, mut best_alt) = (Best::default(), Best::default());
    for i in reference.starts(w) {
        let (ref_window, alt_window) = (&reference.codes[i..i + w], &alternate.codes[i..i + w]);
        for s in 0..strands(scanner) {
            let pssm = motif.pssm(s);
            let r = pssm.plain_score(ref_window);
            let alt = match r {
                Some(r) if (a..b).all(|p| alternate.codes[p] < 4) => {
                    let columns = a.max(i)..b.min(i + w);
                    Some(columns.fold(r, |acc, p| {
                        let row = &pssm.matrix[p - i];
                        acc - row[reference.codes[p] as usize] + row[alternate.codes[p] as usize]
                    }))
                }
                _ => pssm.plain_score(alt_window),
            };
            best_ref.offer(r, i, s);
            best_alt.offer(alt, i, s);
        }
    }
    (best_ref, best_alt)
}

/// The effects of a variant on every motif of `scanner` for which a site passes
/// `thresh` in either haplotype, in motif order. The haplotypes need at least
/// `scanner.max_width() - 1` bases of flank. The scanner must keep full p-value tables
/// (`ScanOptions::full_pvalue_tables`) so that sites below the threshold have p-values.
pub fn motif_effects(scanner: &Scanner, haps: &Haplotypes, thresh: f64) -> Vec<MotifEffect> {
    let reference = Coded::new(&haps.reference, &haps.ref_changed, haps.origin);
    let alternate = Coded::new(&haps.alternate, &haps.alt_changed, haps.origin);
    let substitution = haps.ref_changed == haps.alt_changed && !haps.ref_changed.is_empty();
    // At the scanner's own threshold a site passes when its score reaches the score
    // `glance scan` calls a hit at; otherwise by its p-value.
    let at_scan_threshold = thresh == scanner.options().thresh;
    (0..scanner.motifs().len())
        .filter_map(|m| {
            let motif = &scanner.motifs()[m];
            let passes = |b: &Best| {
                b.0.is_some_and(|(v, _, s)| {
                    if at_scan_threshold {
                        v >= motif.threshold
                    } else {
                        motif.pssm(s).pvalue(v) <= thresh
                    }
                })
            };
            let (r, a) = if substitution {
                best_substitution(scanner, m, &reference, &alternate)
            } else {
                (reference.best(scanner, m), alternate.best(scanner, m))
            };
            let effect = match (passes(&r), passes(&a)) {
                (false, false) => return None,
                (true, false) => Effect::Loss,
                (false, true) => Effect::Gain,
                (true, true) if r.0.map(|b| b.0) == a.0.map(|b| b.0) => Effect::None,
                (true, true) => Effect::Change,
            };
            Some(MotifEffect {
                motif: m,
                reference: r.site(scanner, m, reference.origin),
                alternate: a.site(scanner, m, alternate.origin),
                effect,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_overlapping_a_change_or_a_junction() {
        let c = Coded::new(b"AAAAAAAAAA", &(4..5), 0);
        assert_eq!(c.starts(3), 2..5); // [2,5) [3,6) [4,7) hold base 4
        let ins = Coded::new(b"AAAAAAAAAA", &(4..4), 0);
        assert_eq!(ins.starts(3), 2..4); // hold bases 3 and 4
        assert_eq!(ins.starts(1), 4..4); // a single base cannot span a junction
        let edge = Coded::new(b"AAAAA", &(4..5), 0);
        assert_eq!(edge.starts(3), 2..3); // the window must fit in the sequence
        let short = Coded::new(b"AA", &(1..2), 0);
        assert!(short.starts(3).is_empty());
    }
}

//! [`Variant`]: one ALT allele of a VCF record against its REF, and what glance does
//! with it: substitutions (SNVs, MNVs) and indels up to [`MAX_INDEL`] bases are scored;
//! symbolic, breakend, missing and longer alleles are skipped with a [`Skip`] reason.

/// The longest indel scored (bases added or removed).
pub const MAX_INDEL: usize = 50;

/// One ALT allele of a VCF record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Contig.
    pub chrom: String,
    /// 0-based position of REF's first base.
    pub pos: u64,
    /// The record's ID column (`.` when none).
    pub id: String,
    /// REF bases, upper case.
    pub reference: Vec<u8>,
    /// ALT bases, upper case.
    pub alternate: Vec<u8>,
    /// The VCF line (1-based) or BCF record number, for messages.
    pub line: u64,
}

/// Why an ALT allele is not scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Skip {
    /// A symbolic allele (`<DEL>`, `<*>`, ...).
    Symbolic,
    /// A breakend (`]chr:pos]A`, ...).
    Breakend,
    /// A missing (`.`) or spanning-deletion (`*`) allele.
    Missing,
    /// An indel of more than [`MAX_INDEL`] bases.
    TooLong,
    /// ALT equals REF.
    NoChange,
}

impl Skip {
    /// The reason as the summary prints it.
    pub fn name(self) -> &'static str {
        match self {
            Skip::Symbolic => "symbolic",
            Skip::Breakend => "breakend",
            Skip::Missing => "missing",
            Skip::TooLong => "indel over 50 bp",
            Skip::NoChange => "ALT equals REF",
        }
    }
}

/// What kind of change a scored allele is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariantClass {
    /// One base replaced.
    Snv,
    /// Several bases replaced, length kept.
    Mnv,
    /// Length changed.
    Indel,
}

/// Whether an ALT allele (as written in the VCF) is scored; `Ok` gives its class.
/// Bases other than ACGTN in a sequence allele are the caller's to reject.
pub fn classify(reference: &[u8], alternate: &[u8]) -> Result<VariantClass, Skip> {
    if alternate.is_empty() || alternate == b"." || alternate == b"*" {
        return Err(Skip::Missing);
    }
    if alternate.starts_with(b"<") {
        return Err(Skip::Symbolic);
    }
    if alternate.contains(&b'[') || alternate.contains(&b']') || alternate.starts_with(b".") {
        return Err(Skip::Breakend);
    }
    if alternate.eq_ignore_ascii_case(reference) {
        return Err(Skip::NoChange);
    }
    if reference.len() == alternate.len() {
        return Ok(if reference.len() == 1 {
            VariantClass::Snv
        } else {
            VariantClass::Mnv
        });
    }
    if reference.len().abs_diff(alternate.len()) > MAX_INDEL {
        return Err(Skip::TooLong);
    }
    Ok(VariantClass::Indel)
}

impl Variant {
    /// The changed part: `(prefix, ref_len, alt_len)` after removing the bases REF and
    /// ALT share at both ends (first the end, then the start, as VCF normalisation
    /// anchors indels on their left base). REF bases `pos + prefix .. + ref_len` become
    /// the ALT bases `prefix .. prefix + alt_len`; either length may be 0.
    pub fn changed(&self) -> (usize, usize, usize) {
        let (r, a) = (&self.reference, &self.alternate);
        let mut suffix = 0;
        while suffix < r.len().min(a.len()) && r[r.len() - 1 - suffix] == a[a.len() - 1 - suffix] {
            suffix += 1;
        }
        let (r, a) = (&r[..r.len() - suffix], &a[..a.len() - suffix]);
        let mut prefix = 0;
        while prefix < r.len().min(a.len()) && r[prefix] == a[prefix] {
            prefix += 1;
        }
        (prefix, r.len() - prefix, a.len() - prefix)
    }

    /// Whether REF and ALT have the same length.
    pub fn is_substitution(&self) -> bool {
        self.reference.len() == self.alternate.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(r: &str, a: &str) -> Variant {
        Variant {
            chrom: "c".into(),
            pos: 10,
            id: ".".into(),
            reference: r.into(),
            alternate: a.into(),
            line: 1,
        }
    }

    #[test]
    fn classes_and_skips() {
        assert_eq!(classify(b"A", b"G"), Ok(VariantClass::Snv));
        assert_eq!(classify(b"AC", b"GT"), Ok(VariantClass::Mnv));
        assert_eq!(classify(b"A", b"AT"), Ok(VariantClass::Indel));
        assert_eq!(classify(b"A", b"<DEL>"), Err(Skip::Symbolic));
        assert_eq!(classify(b"A", b"A]chr2:5]"), Err(Skip::Breakend));
        assert_eq!(classify(b"A", b".A"), Err(Skip::Breakend));
        assert_eq!(classify(b"A", b"*"), Err(Skip::Missing));
        assert_eq!(classify(b"A", b"a"), Err(Skip::NoChange));
        let long = "A".repeat(52);
        assert_eq!(classify(b"A", long.as_bytes()), Err(Skip::TooLong));
        assert_eq!(
            classify(b"A", &long.as_bytes()[..51]),
            Ok(VariantClass::Indel)
        );
    }

    #[test]
    fn changed_part_trims_shared_ends() {
        assert_eq!(v("A", "G").changed(), (0, 1, 1));
        assert_eq!(v("A", "ATT").changed(), (1, 0, 2));
        assert_eq!(v("ATT", "A").changed(), (1, 2, 0));
        assert_eq!(v("ACGT", "ATGT").changed(), (1, 1, 1));
        // a repeat: the shared end is trimmed first, so the change sits at the left
        assert_eq!(v("AAA", "AA").changed(), (0, 1, 0));
    }
}

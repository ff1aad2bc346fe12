//! [`Haplotypes`]: the REF and ALT sequences of a window around a variant, the REF
//! checked against the reference, with the changed bases located in each.
//!
//! ALT coordinates: the ALT haplotype is the reference with REF replaced by ALT, so its
//! positions equal the reference's left of the variant and are shifted by the length
//! difference to its right.

use std::ops::Range;

use crate::allele::Variant;
use crate::error::VariantError;
use crate::reference::Reference;

/// REF and ALT sequences of one window (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Haplotypes {
    /// Contig position (0-based) of both windows' first base.
    pub origin: u64,
    /// Reference bases of the window, upper case.
    pub reference: Vec<u8>,
    /// The same window with REF replaced by ALT, upper case.
    pub alternate: Vec<u8>,
    /// The changed bases in `reference` (window coordinates; empty for an insertion,
    /// which then sits between bases `start - 1` and `start`).
    pub ref_changed: Range<usize>,
    /// The changed bases in `alternate` (empty for a deletion).
    pub alt_changed: Range<usize>,
}

/// Checks the variant against the reference: the contig exists, REF fits in it and
/// equals the reference's bases (either case; an N in the reference matches any REF
/// base, as bcftools norm lets it). Returns the contig's length.
pub fn check_ref(reference: &mut dyn Reference, v: &Variant) -> Result<u64, VariantError> {
    let len = reference
        .contig_len(&v.chrom)
        .ok_or_else(|| VariantError::UnknownContig {
            line: v.line,
            chrom: v.chrom.clone(),
        })?;
    let end = v.pos + v.reference.len() as u64;
    if end > len {
        return Err(VariantError::OutOfContig {
            line: v.line,
            chrom: v.chrom.clone(),
            pos: v.pos + 1,
            len,
        });
    }
    let genome = reference.fetch(&v.chrom, v.pos, end)?;
    let same = genome
        .iter()
        .zip(&v.reference)
        .all(|(g, r)| g.eq_ignore_ascii_case(r) || matches!(g, b'N' | b'n'));
    if !same {
        return Err(VariantError::RefMismatch {
            line: v.line,
            chrom: v.chrom.clone(),
            pos: v.pos + 1,
            vcf: String::from_utf8_lossy(&v.reference).into_owned(),
            genome: String::from_utf8_lossy(&genome).to_ascii_uppercase(),
        });
    }
    Ok(len)
}

impl Haplotypes {
    /// The windows holding `flank` reference bases on each side of the changed part
    /// (fewer at a contig end). REF is checked first ([`check_ref`]).
    pub fn build(
        reference: &mut dyn Reference,
        v: &Variant,
        flank: u64,
    ) -> Result<Haplotypes, VariantError> {
        let len = check_ref(reference, v)?;
        let (prefix, ref_len, alt_len) = v.changed();
        let changed_start = v.pos + prefix as u64;
        let changed_end = changed_start + ref_len as u64;
        let origin = changed_start.saturating_sub(flank);
        let end = changed_end.saturating_add(flank).min(len);
        let mut window = reference.fetch(&v.chrom, origin, end)?;
        window.make_ascii_uppercase();
        let a = (changed_start - origin) as usize;
        let b = a + ref_len;
        let inserted = &v.alternate[prefix..prefix + alt_len];
        let mut alternate = Vec::with_capacity(window.len() + alt_len);
        alternate.extend_from_slice(&window[..a]);
        alternate.extend(inserted.iter().map(u8::to_ascii_uppercase));
        alternate.extend_from_slice(&window[b..]);
        Ok(Haplotypes {
            origin,
            reference: window,
            alternate,
            ref_changed: a..b,
            alt_changed: a..a + alt_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Contigs;

    fn genome() -> Contigs {
        let mut c = Contigs::default();
        c.0.insert("c".into(), b"ACGTACGTAC".to_vec());
        c
    }

    fn var(pos: u64, r: &str, a: &str) -> Variant {
        Variant {
            chrom: "c".into(),
            pos,
            id: ".".into(),
            reference: r.into(),
            alternate: a.into(),
            line: 7,
        }
    }

    #[test]
    fn windows_splice_alt_into_the_reference() {
        let h = Haplotypes::build(&mut genome(), &var(4, "A", "T"), 2).unwrap();
        assert_eq!(
            (h.origin, &h.reference[..], &h.alternate[..]),
            (2, &b"GTACG"[..], &b"GTTCG"[..])
        );
        assert_eq!((h.ref_changed.clone(), h.alt_changed.clone()), (2..3, 2..3));
        // insertion after the anchor base C (position 1): between windows bases
        let h = Haplotypes::build(&mut genome(), &var(1, "C", "CTT"), 3).unwrap();
        assert_eq!(&h.reference[..], b"ACGTA");
        assert_eq!(&h.alternate[..], b"ACTTGTA");
        assert_eq!((h.ref_changed.clone(), h.alt_changed.clone()), (2..2, 2..4));
        // deletion at the contig end
        let h = Haplotypes::build(&mut genome(), &var(7, "TAC", "T"), 4).unwrap();
        assert_eq!(
            (&h.reference[..], &h.alternate[..]),
            (&b"ACGTAC"[..], &b"ACGT"[..])
        );
        assert_eq!((h.ref_changed.clone(), h.alt_changed.clone()), (4..6, 4..4));
    }

    #[test]
    fn ref_is_checked_against_the_genome() {
        let err = Haplotypes::build(&mut genome(), &var(4, "G", "T"), 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 7: REF G does not match the reference (c:5 is A)"
        );
        let mut v = var(4, "A", "T");
        v.chrom = "x".into();
        assert!(matches!(
            Haplotypes::build(&mut genome(), &v, 2),
            Err(VariantError::UnknownContig { line: 7, .. })
        ));
        assert!(matches!(
            Haplotypes::build(&mut genome(), &var(9, "CA", "C"), 2),
            Err(VariantError::OutOfContig { .. })
        ));
        // lower case in the VCF is accepted
        assert!(Haplotypes::build(&mut genome(), &var(4, "a", "t"), 2).is_ok());
    }
}

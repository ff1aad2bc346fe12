//! Variant effects for glance. For each ALT allele of a VCF record ([`Variant`]):
//!
//! - [`Haplotypes`]: the REF and ALT sequences around it, REF checked against the
//!   reference ([`Reference`]: an indexed FASTA, contigs in memory, or a
//!   [`ReferenceSet`] of them);
//! - [`motif_effects`]: motif gain and loss, the best REF and ALT site of each motif
//!   with FIMO-exact scores and p-values;
//! - [`VariantEncoder`]: the shift of the window embedding and the masked-marginal
//!   log-likelihood ratio, re-encoding only the tokens whose outputs can change.
//!
//! [`VcfReader`] and [`VcfWriter`] read VCF/BCF and write annotated, indexed VCF
//! (noodles). This crate scores one allele at a time; the job over a whole file is
//! glance-workflow's `score_variants`. Nothing here panics on input.

mod allele;
mod encoding;
mod error;
mod haplotype;
mod motif_effect;
mod reference;
mod vcf;

pub use allele::{classify, Skip, Variant, VariantClass, MAX_INDEL};
pub use encoding::{EncodingEffect, RefSpan, VariantEncoder, Work};
pub use error::VariantError;
pub use haplotype::{check_ref, Haplotypes};
pub use motif_effect::{motif_effects, Effect, MotifEffect, Site};
pub use noodles_vcf;
pub use reference::{Contigs, Reference, ReferenceSet, Window};
pub use vcf::{InfoField, VcfReader, VcfWriter};

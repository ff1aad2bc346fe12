//! Motif scoring for glance: motif file formats, position weight matrices with FIMO's
//! arithmetic, exact p-values, q-values, fast scanning and region motif scores.

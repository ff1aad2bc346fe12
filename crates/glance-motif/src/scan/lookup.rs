//! Summing one k-mer table's entries over many windows at once (the p-value sample
//! behind q-values): `acc[j] += table[codes[j]]`, with AVX-512 gathers where the CPU
//! has them and a scalar loop elsewhere; both give the same sums.

/// Adds `table[codes[j]]` to `acc[j]` for every `j` below both lengths. Codes past the
/// table's end read its last entry (never so for a [`super::prep::Prepared`]'s codes and
/// a [`super::tables::KmerBlock`]'s table, whose last entry is the invalid k-mer's).
pub fn add_lookups(acc: &mut [i32], table: &[i32], codes: &[u16]) {
    let n = acc.len().min(codes.len());
    let (acc, codes) = (&mut acc[..n], &codes[..n]);
    let Some(last) = table.len().checked_sub(1) else {
        return;
    };
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && i32::try_from(last).is_ok() {
        // SAFETY: AVX-512F presence was checked at run time; `acc` and `codes` have the
        // same length and the table is non-empty with fewer than 2^31 entries.
        unsafe { add_lookups_avx512(acc, table, codes) };
        return;
    }
    for (a, &c) in acc.iter_mut().zip(codes) {
        *a += table[usize::from(c).min(last)];
    }
}

/// [`add_lookups`] with 16-lane gathers; `acc` and `codes` of equal length, `table`
/// non-empty with fewer than 2^31 entries.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn add_lookups_avx512(acc: &mut [i32], table: &[i32], codes: &[u16]) {
    use std::arch::x86_64::*;
    let last = table.len() - 1;
    let top = _mm512_set1_epi32(last as i32);
    let mut a_chunks = acc.chunks_exact_mut(16);
    let mut c_chunks = codes.chunks_exact(16);
    for (a, c) in (&mut a_chunks).zip(&mut c_chunks) {
        // SAFETY: both chunks hold 16 elements (unaligned loads and stores); every
        // gathered index is clamped to `last`, inside the table.
        unsafe {
            let idx = _mm512_cvtepu16_epi32(_mm256_loadu_si256(c.as_ptr().cast()));
            let idx = _mm512_min_epu32(idx, top);
            let v = _mm512_i32gather_epi32::<4>(idx, table.as_ptr().cast());
            let sum = _mm512_add_epi32(_mm512_loadu_si512(a.as_ptr().cast()), v);
            _mm512_storeu_si512(a.as_mut_ptr().cast(), sum);
        }
    }
    for (a, &c) in a_chunks
        .into_remainder()
        .iter_mut()
        .zip(c_chunks.remainder())
    {
        *a += table[usize::from(c).min(last)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector path (where the CPU has it) equals the definition, at every length.
    #[test]
    fn sums_follow_the_definition() {
        let table: Vec<i32> = (0..1025).map(|i| (i * 7919) % 1000 - 300).collect();
        for n in [0usize, 1, 15, 16, 17, 100, 1000] {
            let codes: Vec<u16> = (0..n).map(|i| ((i * 37) % 1100) as u16).collect();
            let mut acc: Vec<i32> = (0..n as i32).collect();
            let want: Vec<i32> = acc
                .iter()
                .zip(&codes)
                .map(|(&a, &c)| a + table[usize::from(c).min(1024)])
                .collect();
            add_lookups(&mut acc, &table, &codes);
            assert_eq!(acc, want, "n {n}");
        }
    }
}

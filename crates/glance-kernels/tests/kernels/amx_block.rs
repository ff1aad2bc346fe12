//! The AMX register block against a scalar product of the same bf16 operands (skipped,
//! with a note, on a CPU without AMX), and the bf16 rounding and pair layout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use glance_kernels::bf16::{from_bf16, pair, to_bf16, Kernel};

#[test]
fn pairs_put_the_even_element_low() {
    let w = pair(1.5, -2.0);
    assert_eq!(from_bf16(w as u16), 1.5);
    assert_eq!(from_bf16((w >> 16) as u16), -2.0);
    // 1 + 2^-8 is halfway between two bf16 values: ties to even (1.0).
    assert_eq!(to_bf16(1.0 + 1.0 / 256.0), to_bf16(1.0));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn amx_block_equals_the_scalar_product() {
    use glance_kernels::amx::{block, Tiles};
    if !Kernel::Amx.is_available() {
        eprintln!("note: no AMX on this CPU; the block is not run");
        return;
    }
    // A: 32 rows x 64 depth (32 pairs), B: two panels of 16 columns x 32 pairs.
    let pairs = 32;
    let val = |i: usize| ((i * 37 % 29) as f32 - 14.0) / 8.0; // exact in bf16
    let a: Vec<u32> = (0..32 * pairs)
        .map(|i| pair(val(2 * i), val(2 * i + 1)))
        .collect();
    let b: Vec<u32> = (0..2 * pairs * 16)
        .map(|i| pair(val(3 * i + 1), val(3 * i + 2)))
        .collect();
    let half = |w: u32, hi: bool| from_bf16(if hi { (w >> 16) as u16 } else { w as u16 });
    let mut want = vec![0f32; 32 * 32];
    for r in 0..32 {
        for c in 0..32 {
            let (panel, col) = (c / 16, c % 16);
            let mut acc = 1.0f64; // the block adds to `c`, which starts at 1
            for q in 0..pairs {
                let aw = a[r * pairs + q];
                let bw = b[(panel * pairs + q) * 16 + col];
                acc += f64::from(half(aw, false) * half(bw, false))
                    + f64::from(half(aw, true) * half(bw, true));
            }
            want[r * 32 + c] = acc as f32;
        }
    }
    let mut got = vec![1f32; 32 * 32];
    // SAFETY: AMX is available; `a` holds 32 rows of `pairs` words, each panel `pairs`
    // rows of 16 words, `got` 32 rows of 32 floats; `pairs` is a multiple of 16.
    unsafe {
        let _tiles = Tiles::load();
        block(
            (a.as_ptr(), pairs),
            (b.as_ptr(), b[pairs * 16..].as_ptr()),
            pairs,
            (got.as_mut_ptr(), 32),
            true,
        );
    }
    // Products and sums of these small dyadic values are exact in f32.
    assert_eq!(got, want);
}

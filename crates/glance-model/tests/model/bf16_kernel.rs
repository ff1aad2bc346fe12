//! The packed bf16 GEMM: the scalar definition against an f64 product (bf16-sized
//! error); the AVX512_BF16 kernel against the scalar definition, bit for bit, and the
//! AMX kernel within f32 rounding of it, on random shapes with odd depth, partial
//! register blocks and tiles and partial panels. The SIMD assertions are skipped (with a
//! note) on a CPU without the kernel's instructions.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use glance_model::kernels::bf16::{
    self, gemm, gemm_reference, gemm_with, GemmError, Kernel, PackedBf16,
};
use glance_model::layers::Linear;
use glance_model::ndarray::{Array1, Array2};
use glance_model::Precision;

fn random(seed: &mut u64, len: usize) -> Vec<f32> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

#[test]
fn rounding_is_nearest_even() {
    // 1 + 2^-8 lies halfway between two bf16 values: ties to the even one (1.0); just
    // above it rounds up.
    assert_eq!(bf16::to_bf16(1.0 + 1.0 / 256.0), bf16::to_bf16(1.0));
    assert_eq!(
        bf16::from_bf16(bf16::to_bf16(1.0 + 1.0 / 256.0 + 1.0 / 65536.0)),
        1.0 + 1.0 / 128.0
    );
    assert_eq!(bf16::from_bf16(bf16::to_bf16(-3.5)), -3.5);
}

#[test]
fn reference_is_a_bf16_accurate_product() {
    let mut seed = 0x1234_5678_9abc_def1;
    let (m, n, k) = (7, 21, 33);
    let (a, w) = (random(&mut seed, m * k), random(&mut seed, n * k));
    let b = PackedBf16::pack(&w, n, k).unwrap();
    let mut c = vec![0.5f32; m * n];
    gemm_reference(&a, m, &b, &mut c).unwrap();
    for r in 0..m {
        for j in 0..n {
            let exact: f64 = 0.5
                + (0..k)
                    .map(|i| a[r * k + i] as f64 * w[j * k + i] as f64)
                    .sum::<f64>();
            // Each input carries a relative rounding error <= 2^-9.
            let bound: f64 = (0..k)
                .map(|i| (a[r * k + i] as f64 * w[j * k + i] as f64).abs())
                .sum::<f64>()
                * 2.0f64.powi(-8);
            let got = c[r * n + j] as f64;
            assert!(
                (got - exact).abs() <= bound + 1e-6,
                "({r}, {j}): {got} vs {exact}"
            );
        }
    }
}

#[test]
fn shapes_are_checked() {
    let b = PackedBf16::pack(&[0.0; 6], 2, 3).unwrap();
    assert!(PackedBf16::pack(&[0.0; 5], 2, 3).is_none());
    let mut c = vec![0.0; 4];
    assert!(matches!(
        gemm_reference(&[0.0; 5], 2, &b, &mut c),
        Err(GemmError::Shape { .. })
    ));
    assert!(gemm(&[0.0; 6], 2, &b, &mut c[..3]).is_err());
}

/// Rows around MR (6), 32-row tiles and the packing blocks (96, 128); columns around
/// the 16-wide panels, 4-panel and 2-panel blocks; odd and even depths, 1 included.
const SHAPES: [(usize, usize, usize); 10] = [
    (1, 1, 1),
    (5, 17, 3),
    (6, 64, 256),
    (7, 63, 31),
    (13, 80, 64),
    (97, 100, 33),
    (200, 48, 130),
    (12, 256, 1024),
    (3, 15, 1000),
    (161, 33, 64),
];

/// Runs `kernel` and the definition on every shape; `check(got, want, scale)` with
/// `scale` the element's initial value plus its sum of absolute products. Also checks
/// that a row's result does not depend on the rows around it.
fn against_reference(kernel: Kernel, check: impl Fn(f32, f32, f32) -> bool) {
    if !kernel.is_available() {
        eprintln!("skipped: this CPU cannot run the {} kernel", kernel.name());
        return;
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for (m, n, k) in SHAPES {
        let (a, w) = (random(&mut seed, m * k), random(&mut seed, n * k));
        let c0 = random(&mut seed, m * n);
        let b = PackedBf16::pack(&w, n, k).unwrap();
        let (mut want, mut got) = (c0.clone(), c0.clone());
        gemm_reference(&a, m, &b, &mut want).unwrap();
        gemm_with(kernel, &a, m, &b, &mut got).unwrap();
        for (i, (g, e)) in got.iter().zip(&want).enumerate() {
            let (r, j) = (i / n, i % n);
            let scale = c0[i].abs()
                + (0..k)
                    .map(|x| (a[r * k + x] * w[j * k + x]).abs())
                    .sum::<f32>();
            assert!(
                check(*g, *e, scale),
                "{kernel:?} [{m}, {n}, {k}] element {i}: {g} vs {e}"
            );
        }
        let r = m - 1;
        let mut alone = c0[r * n..].to_vec();
        gemm_with(kernel, &a[r * k..], 1, &b, &mut alone).unwrap();
        assert_eq!(
            &alone[..],
            &got[r * n..],
            "{kernel:?} [{m}, {n}, {k}] last row alone"
        );
    }
}

#[test]
fn avx512_kernel_equals_the_scalar_definition_bit_for_bit() {
    against_reference(Kernel::Avx512, |g, e, _| g.to_bits() == e.to_bits());
}

#[test]
fn amx_kernel_equals_the_scalar_definition_within_f32_rounding() {
    // Another summation order: within a few f32 ulps of the sum of absolute terms.
    against_reference(Kernel::Amx, |g, e, scale| {
        (g - e).abs() <= scale * 4.0 * f32::EPSILON
    });
}

#[test]
fn the_best_kernel_is_detected_and_runs() {
    let best = Kernel::detect();
    assert_eq!(best.is_some(), bf16::available());
    let b = PackedBf16::pack(&[1.0, 2.0], 1, 2).unwrap();
    let mut c = [0.5];
    match best {
        Some(kernel) => {
            assert!(kernel.is_available());
            gemm(&[3.0, 4.0], 1, &b, &mut c).unwrap();
            assert_eq!(c, [11.5]);
        }
        None => assert!(matches!(
            gemm(&[3.0, 4.0], 1, &b, &mut c),
            Err(GemmError::Unavailable(_))
        )),
    }
}

#[test]
fn bf16_linear_runs_the_kernel_and_falls_back_to_f32() {
    let mut seed = 42;
    let (n_in, n_out, rows) = (40, 24, 9);
    let w = Array2::from_shape_vec((n_out, n_in), random(&mut seed, n_out * n_in)).unwrap();
    let bias = Array1::from_vec(random(&mut seed, n_out));
    let x = Array2::from_shape_vec((rows, n_in), random(&mut seed, rows * n_in)).unwrap();
    let mut lin = Linear::new(w.clone(), Some(bias.clone()));
    let f32_out = lin.forward(x.view());
    lin.set_precision(Precision::Bf16);
    assert_eq!(lin.precision(), Precision::Bf16.effective());
    let out = lin.forward(x.view());
    if lin.precision() == Precision::F32 {
        assert_eq!(out, f32_out, "the fallback is the f32 path");
        return;
    }
    // Exactly the best kernel with the bias as the initial accumulator.
    let b = PackedBf16::pack(w.as_slice().unwrap(), n_out, n_in).unwrap();
    let mut want: Vec<f32> = (0..rows).flat_map(|_| bias.iter().copied()).collect();
    gemm(x.as_slice().unwrap(), rows, &b, &mut want).unwrap();
    assert_eq!(out.as_slice().unwrap(), &want[..]);
    let err = (&out - &f32_out).iter().fold(0f32, |e, v| e.max(v.abs()));
    assert!(err > 0.0 && err < 0.05, "bf16 vs f32: {err}");
    // Split layers keep their precision; back to f32 gives the f32 result again.
    let (top, _) = lin.clone().split_rows(8);
    assert_eq!(top.precision(), Precision::Bf16);
    lin.set_precision(Precision::F32);
    assert_eq!(lin.forward(x.view()), f32_out);
}

//! The packed bf16 GEMM: the scalar definition against an f64 product (bf16-sized
//! error), and the AVX512_BF16 kernel against the scalar definition, bit for bit, on
//! random shapes with odd depth, partial register blocks and partial panels. The SIMD
//! assertions are skipped (with a note) on a CPU without AVX512_BF16.

use glance_model::kernels::bf16::{self, gemm, gemm_reference, GemmError, PackedBf16};
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

#[test]
fn simd_kernel_equals_the_scalar_definition() {
    if !bf16::available() {
        eprintln!("skipped: this CPU has no AVX512_BF16");
        return;
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    // Rows around MR (6) and MC (96) blocks; columns around the 16-wide panels and
    // 4-panel blocks; odd and even depths, 1 included.
    let shapes = [
        (1, 1, 1),
        (5, 17, 3),
        (6, 64, 256),
        (7, 63, 31),
        (13, 80, 64),
        (97, 100, 33),
        (200, 48, 130),
        (12, 256, 1024),
        (3, 15, 1000),
    ];
    for (m, n, k) in shapes {
        let (a, w) = (random(&mut seed, m * k), random(&mut seed, n * k));
        let c0 = random(&mut seed, m * n);
        let b = PackedBf16::pack(&w, n, k).unwrap();
        let (mut want, mut got) = (c0.clone(), c0);
        gemm_reference(&a, m, &b, &mut want).unwrap();
        gemm(&a, m, &b, &mut got).unwrap();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g.to_bits(),
                w.to_bits(),
                "[{m}, {n}, {k}] element {i}: {g} vs {w}"
            );
        }
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
    // Exactly the kernel's definition with the bias as the initial accumulator.
    let b = PackedBf16::pack(w.as_slice().unwrap(), n_out, n_in).unwrap();
    let mut want: Vec<f32> = (0..rows).flat_map(|_| bias.iter().copied()).collect();
    gemm_reference(x.as_slice().unwrap(), rows, &b, &mut want).unwrap();
    assert_eq!(out.as_slice().unwrap(), &want[..]);
    let err = (&out - &f32_out).iter().fold(0f32, |e, v| e.max(v.abs()));
    assert!(err > 0.0 && err < 0.05, "bf16 vs f32: {err}");
    // Split layers keep their precision; back to f32 gives the f32 result again.
    let (top, _) = lin.clone().split_rows(8);
    assert_eq!(top.precision(), Precision::Bf16);
    lin.set_precision(Precision::F32);
    assert_eq!(lin.forward(x.view()), f32_out);
}

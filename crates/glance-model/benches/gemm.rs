//! The encoder's GEMMs (criterion, one thread): [`Linear::forward`] in f32 (the packed
//! AVX2 kernel where preferred, else the `gemm` crate) against [`Precision::Bf16`] (the
//! packed `vdpbf16ps` kernel) on the shapes of a d_model 256 / FFN 1024 layer, 2048 rows
//! (`FeedForward`'s row block). Throughput is in elements = FLOP (2 m n k), so `elem/s`
//! reads as FLOP/s. Group `f32`: the packed f32 kernel (`kernels::packed_f32::gemm_into`)
//! against the `gemm` crate called as `Linear` calls it, into preallocated outputs, with
//! 2,048 and 16,384 rows (a whole chunk). Group `kernel`: the bf16 kernel alone
//! (`kernels::bf16::gemm` into a preallocated output, weights packed).
//! `cargo bench -p glance-model --bench gemm`. Without AVX512_BF16 the bf16 cases run
//! the f32 fallback; without AVX2 and FMA the packed f32 cases are left out.

// Benches may unwrap (clippy.toml allows it outside library code).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::mem::MaybeUninit;

use glance_model::kernels::bf16::{self, PackedBf16};
use glance_model::kernels::packed_f32::{self, PackedF32};
use glance_model::layers::Linear;
use glance_model::ndarray::{Array1, Array2};
use glance_model::Precision;

const ROWS: usize = 2048;
/// (in, out): q/k/v/o projections, FFN up, FFN down.
const SHAPES: [(usize, usize); 3] = [(256, 256), (256, 1024), (1024, 256)];

fn unit(i: usize) -> f32 {
    ((i as f32) * 0.618_034).fract() - 0.5
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("linear");
    for (n_in, n_out) in SHAPES {
        let w = Array2::from_shape_fn((n_out, n_in), |(j, i)| unit(j * n_in + i + 7));
        let b = Array1::from_shape_fn(n_out, unit);
        let x = Array2::from_shape_fn((ROWS, n_in), |(r, i)| unit(r * n_in + i + 3));
        group.throughput(Throughput::Elements((2 * ROWS * n_in * n_out) as u64));
        for precision in [Precision::F32, Precision::Bf16] {
            let mut lin = Linear::new(w.clone(), Some(b.clone()));
            lin.set_precision(precision);
            let id = format!("{}/{ROWS}x{n_in}x{n_out}", precision.name());
            group.bench_function(id, |bench| bench.iter(|| lin.forward(x.view())));
        }
    }
    group.finish();
    f32_kernels(c);
    if !bf16::available() {
        return;
    }
    let mut group = c.benchmark_group("kernel");
    for (n_in, n_out) in SHAPES {
        let w: Vec<f32> = (0..n_out * n_in).map(unit).collect();
        let x: Vec<f32> = (0..ROWS * n_in).map(|i| unit(i + 3)).collect();
        let packed = PackedBf16::pack(&w, n_out, n_in).unwrap();
        let mut y = vec![0f32; ROWS * n_out];
        group.throughput(Throughput::Elements((2 * ROWS * n_in * n_out) as u64));
        group.bench_function(format!("bf16/{ROWS}x{n_in}x{n_out}"), |bench| {
            bench.iter(|| bf16::gemm(&x, ROWS, &packed, &mut y).unwrap())
        });
    }
    group.finish();
}

/// The packed f32 kernel against the `gemm` crate, both writing a fresh product.
fn f32_kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("f32");
    for rows in [ROWS, 8 * ROWS] {
        for (n_in, n_out) in SHAPES {
            let w: Vec<f32> = (0..n_out * n_in).map(unit).collect();
            let x: Vec<f32> = (0..rows * n_in).map(|i| unit(i + 3)).collect();
            let mut y = vec![0f32; rows * n_out];
            group.throughput(Throughput::Elements((2 * rows * n_in * n_out) as u64));
            let shape = format!("{rows}x{n_in}x{n_out}");
            if packed_f32::available() {
                let packed = PackedF32::pack(&w, n_out, n_in).unwrap();
                let mut out = vec![MaybeUninit::new(0f32); rows * n_out];
                group.bench_function(format!("packed/{shape}"), |bench| {
                    bench.iter(|| packed_f32::gemm_into(&x, rows, &packed, &mut out).unwrap())
                });
            }
            group.bench_function(format!("gemm-crate/{shape}"), |bench| {
                // SAFETY: x is [rows, in], w is [out, in] and y is [rows, out], all
                // row-major and live for the call; y is written without being read.
                bench.iter(|| unsafe {
                    gemm::gemm(
                        rows,
                        n_out,
                        n_in,
                        y.as_mut_ptr(),
                        1,
                        n_out as isize,
                        false,
                        x.as_ptr(),
                        1,
                        n_in as isize,
                        w.as_ptr(),
                        n_in as isize,
                        1,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);

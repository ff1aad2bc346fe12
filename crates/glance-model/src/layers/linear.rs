//! [`Linear`]: `y = x W^T + b` in f32 on the packed AVX2 kernel
//! ([`crate::kernels::packed_f32`], the weight packed once when the layer is built) where
//! the CPU prefers it, else on the `gemm` crate's kernels (AVX-512 or baseline, picked at
//! run time); in [`Precision::Bf16`] on the packed bf16 kernel ([`crate::kernels::bf16`])
//! with the weight converted once when the precision is set.

use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use crate::error::ModelError;
use crate::kernels::bf16::{self, PackedBf16};
use crate::kernels::elementwise;
use crate::kernels::packed_f32::{self, PackedF32};
use crate::schedule::{self, ROW_BLOCK};
use crate::weights::Weights;
use crate::Precision;

/// Rows per block when several products of one input run on one thread
/// ([`Linear::products`]): 16 of the packed kernel's 72-row blocks, 1.1 MiB of a
/// 256-wide input, which stays in the last-level cache while every layer passes over it
/// (with the query, key and value projections so, the encoder is 2.5% faster on a Zen 2
/// than with one pass over the whole chunk per projection: docs/benchmarks.md, session
/// 18).
const SHARED_ROWS: usize = 1152;

/// A dense layer; mirrors PyTorch's `torch.nn.Linear` (weight `[out, in]`, bias `[out]`).
#[derive(Debug, Clone)]
pub struct Linear {
    weight: F32Weight,
    bias: Option<Array1<f32>>,
    /// The weight in bf16, packed for the kernel, when the layer runs in bf16 (shared
    /// by clones).
    packed: Option<Arc<PackedBf16>>,
}

/// The f32 weight `[out, in]`, held once, in the layout of the kernel that runs it.
#[derive(Debug, Clone)]
enum F32Weight {
    /// Row-major as in the checkpoint, for the `gemm` crate.
    Rows(Array2<f32>),
    /// Packed for [`packed_f32`] (shared by clones).
    Panels(Arc<PackedF32>),
}

impl Linear {
    /// A layer from its parts; `bias` must have `weight.nrows()` entries. Where the CPU
    /// prefers the packed f32 kernel ([`packed_f32::preferred`]) the weight is packed
    /// here and kept only in that layout.
    pub fn new(weight: Array2<f32>, bias: Option<Array1<f32>>) -> Self {
        debug_assert!(bias.as_ref().is_none_or(|b| b.len() == weight.nrows()));
        let (out, input) = weight.dim();
        let panels = packed_f32::preferred()
            .then(|| PackedF32::pack(weight.as_standard_layout().as_slice()?, out, input))
            .flatten();
        Linear {
            weight: match panels {
                Some(p) => F32Weight::Panels(Arc::new(p)),
                None => F32Weight::Rows(weight),
            },
            bias,
            packed: None,
        }
    }

    /// The f32 weight `[out, in]`, row-major (unpacked into a copy when held packed).
    fn rows(&self) -> Cow<'_, Array2<f32>> {
        match &self.weight {
            F32Weight::Rows(w) => Cow::Borrowed(w),
            F32Weight::Panels(p) => Cow::Owned(
                Array2::from_shape_vec((p.n(), p.k()), p.unpack())
                    .unwrap_or_else(|_| unreachable!("n * k values for [n, k]")),
            ),
        }
    }

    /// Loads `{prefix}.weight` (`[out, in]`) and, when `bias`, `{prefix}.bias`.
    pub fn load(
        w: &Weights,
        prefix: &str,
        input: usize,
        output: usize,
        bias: bool,
    ) -> Result<Self, ModelError> {
        let weight = w.matrix(&format!("{prefix}.weight"), output, input)?;
        let bias = if bias {
            Some(w.vector(&format!("{prefix}.bias"), output)?)
        } else {
            None
        };
        Ok(Linear::new(weight, bias))
    }

    /// Splits a fused projection by output rows: the first `n` outputs, then the rest.
    pub fn split_rows(self, n: usize) -> (Linear, Linear) {
        let n = n.min(self.output());
        let weight = self.rows();
        let part = |rows: std::ops::Range<usize>| {
            Linear::new(
                weight.slice(ndarray::s![rows.clone(), ..]).to_owned(),
                self.bias
                    .as_ref()
                    .map(|b| b.slice(ndarray::s![rows]).to_owned()),
            )
        };
        let precision = self.precision();
        let (mut a, mut b) = (part(0..n), part(n..self.output()));
        a.set_precision(precision);
        b.set_precision(precision);
        (a, b)
    }

    /// Runs the layer in `precision` from now on. `Bf16` converts and packs the weight
    /// (once; the f32 weight is kept as the reference) and takes effect only where
    /// [`Precision::effective`] allows it.
    pub fn set_precision(&mut self, precision: Precision) {
        match precision.effective() {
            Precision::F32 => self.packed = None,
            Precision::Bf16 => {
                if self.packed.is_none() {
                    let rows = self.rows();
                    let w = rows.as_standard_layout();
                    self.packed = w
                        .as_slice()
                        .and_then(|w| PackedBf16::pack(w, self.output(), self.input()))
                        .map(Arc::new);
                }
            }
        }
    }

    /// The precision the layer runs in.
    pub fn precision(&self) -> Precision {
        if self.packed.is_some() {
            Precision::Bf16
        } else {
            Precision::F32
        }
    }

    /// Input width.
    pub fn input(&self) -> usize {
        match &self.weight {
            F32Weight::Rows(w) => w.ncols(),
            F32Weight::Panels(p) => p.k(),
        }
    }

    /// Output width.
    pub fn output(&self) -> usize {
        match &self.weight {
            F32Weight::Rows(w) => w.nrows(),
            F32Weight::Panels(p) => p.n(),
        }
    }

    /// Number of parameters.
    pub fn parameters(&self) -> usize {
        self.input() * self.output() + self.bias.as_ref().map_or(0, |b| b.len())
    }

    /// The bias (`[out]`), if the layer has one.
    pub fn bias(&self) -> Option<&[f32]> {
        self.bias.as_ref().and_then(|b| b.as_slice())
    }

    /// `x` is `[n, in]`; returns `x W^T + b` (`[n, out]`). Deterministic: on the calling
    /// thread, or split into fixed row blocks on the pool when the encoder's job may
    /// use the whole pool ([`crate::schedule`]), with the same result.
    pub fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let Some(b) = self.bias() else {
            return self.product(x);
        };
        // the product's starting value: the bias in every row (written once, not zeroed
        // first)
        let mut y = Array2::from_shape_vec((x.nrows(), self.output()), b.repeat(x.nrows()))
            .unwrap_or_else(|_| unreachable!("n * out values for [n, out]"));
        self.accumulate(x, &mut y.view_mut());
        y
    }

    /// `x W^T` without the bias (`[n, out]`), for callers that fold the bias into a
    /// pass of their own over the result ([`Linear::bias`]). In f32 the product is
    /// written straight into fresh memory, with no zeroing or bias pass first.
    pub fn product(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let [y] = Linear::products([self], x);
        y
    }

    /// [`Linear::product`] of several layers over the same input (query, key and value
    /// projections), each result the same bits as its own `product`. With more than one
    /// layer the rows go in blocks of [`SHARED_ROWS`] (of [`ROW_BLOCK`] on the pool), each
    /// block through every layer while its rows of `x` are still in cache, so that `x`
    /// is read from memory once, not once per layer.
    pub fn products<const N: usize>(layers: [&Linear; N], x: ArrayView2<f32>) -> [Array2<f32>; N] {
        let n = x.nrows();
        let direct = |l: &Linear| l.packed.is_none() && l.output() > 0 && l.input() > 0;
        if n == 0 || !layers.into_iter().all(direct) {
            return layers.map(|l| {
                let mut y = Array2::zeros((n, l.output()));
                l.accumulate(x, &mut y.view_mut());
                y
            });
        }
        for l in layers {
            assert_eq!(x.ncols(), l.input(), "Linear input width");
        }
        let x = x.as_standard_layout();
        let mut ys = layers.map(|l| Array2::<f32>::uninit((n, l.output())));
        let write = |l: &Linear, x: ArrayView2<f32>, mut y: ArrayViewMut2<MaybeUninit<f32>>| {
            match &l.weight {
                F32Weight::Panels(p) => {
                    let (xs, ys) = (x.as_slice(), y.as_slice_mut());
                    let done = xs
                        .zip(ys)
                        .map(|(xs, ys)| packed_f32::gemm_into(xs, x.nrows(), p, ys));
                    // A panic, never uninitialised output: the shapes were checked above,
                    // the blocks are row ranges of standard-layout arrays, and the weight
                    // is packed only where the CPU runs the kernel.
                    assert!(matches!(done, Some(Ok(()))), "packed f32 product: {done:?}");
                }
                // SAFETY: `y` is a standard-layout [rows, out] block of a fresh array and
                // `x` its rows of the input; with `read_dst` false and every size positive
                // the gemm writes each element of the block without reading any.
                F32Weight::Rows(w) => unsafe {
                    gemm_f32(x, w, y.as_mut_ptr().cast(), l.output() as isize, 1, false)
                },
            }
        };
        let on_pool = schedule::rows_on_pool();
        let rows = if on_pool && n > ROW_BLOCK {
            ROW_BLOCK
        } else if N > 1 && n > SHARED_ROWS {
            SHARED_ROWS
        } else {
            n
        };
        let mut outputs: Vec<_> = ys
            .iter_mut()
            .map(|y| y.axis_chunks_iter_mut(Axis(0), rows))
            .collect();
        let blocks: Vec<_> = x
            .axis_chunks_iter(Axis(0), rows)
            .map(|x| {
                let ys: Vec<_> = outputs.iter_mut().filter_map(Iterator::next).collect();
                (x, ys)
            })
            .collect();
        let run = |(x, ys): (ArrayView2<f32>, Vec<ArrayViewMut2<MaybeUninit<f32>>>)| {
            for (l, y) in layers.iter().zip(ys) {
                write(l, x, y);
            }
        };
        if on_pool {
            blocks.into_par_iter().for_each(run);
        } else {
            blocks.into_iter().for_each(run);
        }
        // SAFETY: every row block of every `y` was written in full above.
        ys.map(|y| unsafe { y.assume_init() })
    }

    /// `acc += x W^T + b` (`acc` is `[n, out]`): a residual connection folded into the
    /// product, so the sublayer's output is never materialised on its own.
    pub fn add_to(&self, x: ArrayView2<f32>, mut acc: ArrayViewMut2<f32>) {
        self.accumulate(x, &mut acc);
        if let (Some(b), Some(all)) = (self.bias(), acc.as_slice_mut()) {
            elementwise::add_bias_rows(all, b);
        } else if let Some(b) = &self.bias {
            acc += b;
        }
    }

    /// `acc += x W^T` on the layer's kernel; inside a job that may use the whole pool
    /// ([`schedule::rows_on_pool`]) in blocks of [`ROW_BLOCK`] rows on the pool.
    fn accumulate(&self, x: ArrayView2<f32>, acc: &mut ArrayViewMut2<f32>) {
        let (n, input) = x.dim();
        let out = self.output();
        assert_eq!(input, self.input(), "Linear input width");
        assert_eq!(acc.dim(), (n, out), "Linear output shape");
        if n == 0 || out == 0 || input == 0 {
            return;
        }
        if schedule::rows_on_pool() && n > ROW_BLOCK {
            let blocks: Vec<_> = x
                .axis_chunks_iter(Axis(0), ROW_BLOCK)
                .zip(acc.axis_chunks_iter_mut(Axis(0), ROW_BLOCK))
                .collect();
            blocks
                .into_par_iter()
                .for_each(|(x, mut acc)| self.accumulate_rows(x, &mut acc));
        } else {
            self.accumulate_rows(x, acc);
        }
    }

    /// [`Linear::accumulate`] on the calling thread (shapes checked, none empty).
    fn accumulate_rows(&self, x: ArrayView2<f32>, acc: &mut ArrayViewMut2<f32>) {
        let n = x.nrows();
        let x = x.as_standard_layout();
        if let (Some(packed), Some(xs), Some(ys)) = (&self.packed, x.as_slice(), acc.as_slice_mut())
        {
            // Only fails on shapes (checked above) or a CPU without AVX512_BF16 (checked
            // when packed); then acc is untouched and the f32 path below runs.
            if bf16::gemm(xs, n, packed, ys).is_ok() {
                return;
            }
        }
        let weight = match &self.weight {
            F32Weight::Panels(p) => {
                match (x.as_slice(), acc.as_slice_mut()) {
                    (Some(xs), Some(ys)) => {
                        let done = packed_f32::gemm_add(xs, n, p, ys);
                        assert!(done.is_ok(), "packed f32 product: {done:?}");
                    }
                    // an output that is not one standard-layout block (no caller has one)
                    _ => *acc += &self.product(x.view()),
                }
                return;
            }
            F32Weight::Rows(w) => w,
        };
        let (rs, cs) = (acc.strides()[0], acc.strides()[1]);
        // SAFETY: `acc` is a live, mutably borrowed [n, out] array described by its own
        // strides; the gemm reads and writes only its elements.
        unsafe { gemm_f32(x.view(), weight, acc.as_mut_ptr(), rs, cs, true) }
    }
}

/// `dst = x W^T` (`read_dst` false) or `dst += x W^T` on the `gemm` crate's f32 kernels.
/// `x` is `[n, in]` in standard layout, `w` the row-major `[out, in]` weight.
///
/// # Safety
/// `dst` must point to `n * out` writable elements laid out with row stride `rs` and
/// column stride `cs`, not aliasing `x` or the weight, and initialised when `read_dst`
/// is true.
unsafe fn gemm_f32(
    x: ArrayView2<f32>,
    w: &Array2<f32>,
    dst: *mut f32,
    rs: isize,
    cs: isize,
    read_dst: bool,
) {
    let (n, input) = x.dim();
    // SAFETY: x is [n, in] row-major (standard layout, live for the call), W^T is read
    // from the row-major [out, in] weight, and dst is as the caller guarantees.
    unsafe {
        gemm::gemm(
            n,
            w.nrows(),
            input,
            dst,
            cs,
            rs,
            read_dst,
            x.as_ptr(),
            1,
            input as isize,
            w.as_ptr(),
            input as isize,
            1,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matches_naive_product() {
        let w = Array2::from_shape_fn((5, 7), |(i, j)| (i as f32 * 0.3 - j as f32 * 0.1).sin());
        let b = Array1::from_shape_fn(5, |i| i as f32 * 0.01);
        let x = Array2::from_shape_fn((9, 7), |(i, j)| (i * 7 + j) as f32 * 0.02 - 0.5);
        let y = Linear::new(w.clone(), Some(b.clone())).forward(x.view());
        let naive = x.dot(&w.t()) + &b;
        for (a, e) in y.iter().zip(naive.iter()) {
            assert!((a - e).abs() < 1e-5, "{a} vs {e}");
        }
        let no_bias = Linear::new(array![[1.0, 2.0]], None).forward(array![[3.0, 4.0]].view());
        assert_eq!(no_bias, array![[11.0]]);
    }

    fn bits(a: &Array2<f32>) -> Vec<u32> {
        a.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn rows_split_over_the_pool_give_the_same_bits() {
        let (n, input, out) = (3 * ROW_BLOCK + 17, 40, 24);
        let w = Array2::from_shape_fn((out, input), |(i, j)| {
            (i as f32 * 0.7 - j as f32 * 0.3).sin()
        });
        let b = Array1::from_shape_fn(out, |i| i as f32 * 0.05 - 0.4);
        let x = Array2::from_shape_fn((n, input), |(i, j)| ((i * 13 + j * 5) as f32 * 0.01).cos());
        let f32_layer = Linear::new(w, Some(b));
        let mut bf16_layer = f32_layer.clone();
        bf16_layer.set_precision(Precision::Bf16);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for layer in [&f32_layer, &bf16_layer] {
            let run = || {
                let mut acc = Array2::from_elem((n, out), 0.25f32);
                layer.add_to(x.view(), acc.view_mut());
                [layer.forward(x.view()), layer.product(x.view()), acc]
            };
            let alone = pool.install(|| schedule::run_job(8, run));
            let split = pool.install(|| {
                schedule::run_job(1, || {
                    assert!(schedule::rows_on_pool());
                    run()
                })
            });
            for (a, s) in alone.iter().zip(&split) {
                assert_eq!(bits(a), bits(s), "{:?}", layer.precision());
            }
        }
    }

    /// Several layers over one input, in shared row blocks (on the calling thread and
    /// on the pool), give each layer's own product bit for bit: widths that differ,
    /// rows not a multiple of a block, an f32 and a bf16 set.
    #[test]
    fn products_of_one_input_equal_each_product() {
        let (n, input) = (2 * SHARED_ROWS + 37, 48);
        let layer = |out: usize, seed: f32| {
            let w = Array2::from_shape_fn((out, input), |(i, j)| {
                (i as f32 * 0.37 + j as f32 * seed).sin()
            });
            Linear::new(w, Some(Array1::from_elem(out, seed)))
        };
        let x = Array2::from_shape_fn((n, input), |(i, j)| ((i * 7 + j * 3) as f32 * 0.01).cos());
        let f32_set = [layer(16, 0.11), layer(40, 0.23), layer(3, 0.31)];
        let mut bf16_set = f32_set.clone();
        for l in &mut bf16_set {
            l.set_precision(Precision::Bf16);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for [a, b, c] in [&f32_set, &bf16_set].map(|s| [&s[0], &s[1], &s[2]]) {
            let each = [a, b, c].map(|l| l.product(x.view()));
            let shared = Linear::products([a, b, c], x.view());
            let on_pool =
                pool.install(|| schedule::run_job(1, || Linear::products([a, b, c], x.view())));
            for ((e, s), p) in each.iter().zip(&shared).zip(&on_pool) {
                assert_eq!(e.dim(), s.dim());
                assert_eq!(bits(e), bits(s), "{:?}", a.precision());
                assert_eq!(bits(e), bits(p), "{:?} on the pool", a.precision());
            }
        }
    }
}

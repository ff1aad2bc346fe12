//! Properties of the approximate patterns that do not need a reference: the formulas
//! written out naively in f64, the block form of Linformer, streaming with a halo,
//! bit-identical results for any thread count, and typed errors.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{max_abs_err, random3, random_qkv, Rng};
use glance_attn::reference::{FullRows, Reference};
use glance_attn::{attend_approx, Approx, ApproxOptions, ApproxWeights, AttnError, Spec};
use ndarray::{s, Array2, Array3, ArrayView2};
use proptest::prelude::*;

fn approx(spec: &str) -> Approx {
    match spec.parse::<Spec>().unwrap() {
        Spec::Approx(a) => a,
        Spec::Exact(p) => panic!("{p} is exact"),
    }
}

fn run(
    q: &Array3<f32>,
    k: &Array3<f32>,
    v: &Array3<f32>,
    spec: &str,
    opts: &ApproxOptions,
) -> Array3<f32> {
    attend_approx(q.view(), k.view(), v.view(), &approx(spec), opts).unwrap()
}

/// Performer written out per row in f64 (`phi` as in performer-pytorch).
fn performer_naive(
    q: &Array3<f32>,
    k: &Array3<f32>,
    v: &Array3<f32>,
    w: ArrayView2<f32>,
    causal: bool,
) -> Array3<f64> {
    let (heads, n, d) = q.dim();
    let m = w.nrows();
    let c = (d as f64).powf(-0.25);
    let ratio = (m as f64).powf(-0.5);
    let dash = |x: &[f64]| -> Vec<f64> {
        (0..m)
            .map(|j| (0..d).map(|t| c * x[t] * f64::from(w[[j, t]])).sum())
            .collect()
    };
    let mut out = Array3::<f64>::zeros((heads, n, d));
    for h in 0..heads {
        let row = |a: &Array3<f32>, i: usize| -> Vec<f64> {
            (0..d).map(|t| f64::from(a[[h, i, t]])).collect()
        };
        let kd: Vec<Vec<f64>> = (0..n).map(|j| dash(&row(k, j))).collect();
        let kmax = kd
            .iter()
            .flatten()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let phi = |x: &[f64], dd: &[f64], s: f64| -> Vec<f64> {
            let diag = c * c * x.iter().map(|v| v * v).sum::<f64>() / 2.0;
            dd.iter()
                .map(|a| ratio * ((a - diag - s).exp() + 1e-4))
                .collect()
        };
        let pk: Vec<Vec<f64>> = (0..n).map(|j| phi(&row(k, j), &kd[j], kmax)).collect();
        for i in 0..n {
            let qd = dash(&row(q, i));
            let qmax = qd.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let pq = phi(&row(q, i), &qd, qmax);
            let last = if causal { i + 1 } else { n };
            let (mut num, mut den) = (vec![0.0; d], 0.0);
            for j in 0..last {
                let a: f64 = pq.iter().zip(&pk[j]).map(|(x, y)| x * y).sum();
                den += a;
                for t in 0..d {
                    num[t] += a * f64::from(v[[h, j, t]]);
                }
            }
            if causal {
                den += 1e-6 * pq.iter().sum::<f64>();
            }
            for t in 0..d {
                out[[h, i, t]] = num[t] / den;
            }
        }
    }
    out
}

#[test]
fn performer_equals_its_formula_in_f64() {
    let mut rng = Rng::new(11);
    let (q, k, v) = random_qkv(&mut rng, 2, 70, 12);
    let w = Array2::from_shape_simple_fn((30, 12), || rng.normal());
    for causal in [false, true] {
        let spec = if causal {
            "performer:m=30,causal"
        } else {
            "performer:m=30"
        };
        let opts = ApproxOptions {
            weights: Some(ApproxWeights::Performer { features: w.view() }),
            ..Default::default()
        };
        let got = run(&q, &k, &v, spec, &opts);
        let want = performer_naive(&q, &k, &v, w.view(), causal);
        assert!(
            max_abs_err(got.view(), want.view()) < 1e-4,
            "{spec}: {}",
            max_abs_err(got.view(), want.view())
        );
    }
}

#[test]
fn lsh_with_two_buckets_is_full_attention_without_self() {
    // n = 2 * bucket, nb = 2 and one round: each of the two chunks looks back at the
    // other, so every query sees every key (unit-normalised), itself only at -5e4.
    // (With more rounds a round's first chunk looks back into the previous round.)
    let mut rng = Rng::new(5);
    let (heads, n, d) = (2, 32, 8);
    let (q, v) = (
        random3(&mut rng, heads, n, d),
        random3(&mut rng, heads, n, d),
    );
    for spec in ["lsh:bucket=16,hashes=1", "lsh:bucket=16,hashes=1,nb=2"] {
        let got = run(
            &q,
            &q,
            &v,
            spec,
            &ApproxOptions {
                seed: 9,
                ..Default::default()
            },
        );
        let mut want = Array3::<f64>::zeros((heads, n, d));
        for h in 0..heads {
            for i in 0..n {
                let scores: Vec<f64> = (0..n)
                    .map(|j| {
                        let kn = (0..d)
                            .map(|t| f64::from(q[[h, j, t]]).powi(2))
                            .sum::<f64>()
                            .sqrt();
                        let dot: f64 = (0..d)
                            .map(|t| f64::from(q[[h, i, t]]) * f64::from(q[[h, j, t]]))
                            .sum();
                        if i == j {
                            -5e4
                        } else {
                            dot / kn / (d as f64).sqrt()
                        }
                    })
                    .collect();
                let mx = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = scores.iter().map(|s| (s - mx).exp()).sum();
                for (j, s) in scores.iter().enumerate() {
                    for t in 0..d {
                        want[[h, i, t]] += (s - mx).exp() / total * f64::from(v[[h, j, t]]);
                    }
                }
            }
        }
        assert!(
            max_abs_err(got.view(), want.view()) < 1e-5,
            "{spec}: {}",
            max_abs_err(got.view(), want.view())
        );
    }
}

#[test]
fn linformer_block_form_projects_each_block_on_its_own() {
    let mut rng = Rng::new(8);
    let (heads, n, d, kk, b) = (2, 100, 8, 6, 32);
    let (q, k, v) = random_qkv(&mut rng, heads, n, d);
    let e = Array2::from_shape_simple_fn((b, kk), || rng.unit());
    let f = Array2::from_shape_simple_fn((b, kk), || rng.unit());
    let opts = ApproxOptions {
        weights: Some(ApproxWeights::Linformer {
            e: e.view(),
            f: Some(f.view()),
        }),
        ..Default::default()
    };
    let whole = run(&q, &k, &v, &format!("linformer:k={kk},b={b}"), &opts);
    for lo in (0..n).step_by(b) {
        let hi = (lo + b).min(n);
        let part = |a: &Array3<f32>| a.slice(s![.., lo..hi, ..]).to_owned();
        let one = run(
            &part(&q),
            &part(&k),
            &part(&v),
            &format!("linformer:k={kk}"),
            &opts,
        );
        assert_eq!(whole.slice(s![.., lo..hi, ..]), one, "block at {lo}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// A chunk of a stream with a halo of b - 1 rows on each side and the right offset
    /// gives exactly the rows of the whole sequence.
    #[test]
    fn linformer_blocks_stream_with_a_halo(n in 40usize..160, b in 3usize..40, start in 0usize..40, len in 1usize..40, seed in 0u64..1000) {
        let start = start.min(n - 1);
        let end = (start + len).min(n);
        let mut rng = Rng::new(seed);
        let (q, k, v) = random_qkv(&mut rng, 2, n, 4);
        let spec = format!("linformer:k=5,b={b},share_kv");
        let whole = run(&q, &k, &v, &spec, &ApproxOptions { seed, ..Default::default() });
        let (lo, hi) = (start.saturating_sub(b - 1), (end + b - 1).min(n));
        let part = |a: &Array3<f32>| a.slice(s![.., lo..hi, ..]).to_owned();
        let chunk = run(&part(&q), &part(&k), &part(&v), &spec, &ApproxOptions { seed, offset: lo, ..Default::default() });
        prop_assert_eq!(whole.slice(s![.., start..end, ..]), chunk.slice(s![.., start - lo..end - lo, ..]));
    }
}

#[test]
fn identical_for_any_thread_count() {
    let mut rng = Rng::new(21);
    let n = 4096;
    let (q, k, v) = random_qkv(&mut rng, 2, n, 16);
    for spec in [
        "linformer:k=32",
        "linformer:k=16,b=1000",
        "performer:m=24",
        "performer:m=24,causal",
        "lsh:bucket=16,hashes=2",
        "lsh:bucket=32,hashes=3,nb=8",
    ] {
        let results: Vec<Vec<u32>> = [1, 2, 3]
            .iter()
            .map(|&t| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap();
                let out = pool.install(|| {
                    run(
                        &q,
                        &k,
                        &v,
                        spec,
                        &ApproxOptions {
                            seed: 4,
                            ..Default::default()
                        },
                    )
                });
                out.iter().map(|x| x.to_bits()).collect()
            })
            .collect();
        assert!(results.windows(2).all(|w| w[0] == w[1]), "{spec}");
        assert!(
            results[0].iter().all(|&b| f32::from_bits(b).is_finite()),
            "{spec}"
        );
    }
}

#[test]
fn approximations_get_closer_to_full_attention_with_more_features() {
    // Small-scale scores, where all three are reasonable approximations of softmax.
    let mut rng = Rng::new(2);
    let (heads, n, d) = (1, 256, 16);
    let scaled = |rng: &mut Rng| random3(rng, heads, n, d).mapv(|x| 0.5 * x);
    let (q, k, v) = (
        scaled(&mut rng),
        scaled(&mut rng),
        random3(&mut rng, heads, n, d),
    );
    // n <= SAMPLE_ROWS: the reference holds every row.
    let full = FullRows::compute(q.view(), k.view(), v.view(), Reference::Full).unwrap();
    let rel = |spec: &str| {
        let got = run(
            &q,
            &k,
            &v,
            spec,
            &ApproxOptions {
                seed: 1,
                ..Default::default()
            },
        );
        full.relative_error(got.view()).unwrap()
    };
    let (few, many) = (rel("performer:m=8"), rel("performer:m=512"));
    assert!(
        many < few && many < 0.5,
        "performer: m=8 {few}, m=512 {many}"
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    let mut rng = Rng::new(1);
    let q = random3(&mut rng, 2, 48, 8);
    let call = |spec: &str, opts: &ApproxOptions| {
        attend_approx(q.view(), q.view(), q.view(), &approx(spec), opts)
    };
    let default = ApproxOptions::default();
    assert!(matches!(
        call("lsh:bucket=5,hashes=1", &default),
        Err(AttnError::Option(_))
    ));
    assert!(
        matches!(
            call("lsh:bucket=16,hashes=1", &default),
            Err(AttnError::Option(_))
        ),
        "48/16 = 3 buckets is odd"
    );
    let e = Array2::<f32>::zeros((40, 4));
    let short = ApproxOptions {
        weights: Some(ApproxWeights::Linformer {
            e: e.view(),
            f: None,
        }),
        ..Default::default()
    };
    assert!(
        matches!(
            call("linformer:k=4,share_kv", &short),
            Err(AttnError::Shape(_))
        ),
        "E has 40 < 48 rows"
    );
    let e = Array2::<f32>::zeros((48, 4));
    let no_f = ApproxOptions {
        weights: Some(ApproxWeights::Linformer {
            e: e.view(),
            f: None,
        }),
        ..Default::default()
    };
    assert!(matches!(
        call("linformer:k=4", &no_f),
        Err(AttnError::Option(_))
    ));
    assert!(matches!(
        call("performer:m=4", &no_f),
        Err(AttnError::Option(_))
    ));
    let w = Array2::<f32>::zeros((4, 7));
    let bad_w = ApproxOptions {
        weights: Some(ApproxWeights::Performer { features: w.view() }),
        ..Default::default()
    };
    assert!(matches!(
        call("performer:m=4", &bad_w),
        Err(AttnError::Shape(_))
    ));
    let k = random3(&mut rng, 2, 47, 8);
    assert!(matches!(
        attend_approx(
            q.view(),
            k.view(),
            q.view(),
            &approx("performer:m=4"),
            &default
        ),
        Err(AttnError::Shape(_))
    ));
}

#[test]
fn drawn_weights_give_the_seeded_output_bit_for_bit() {
    let mut rng = Rng::new(13);
    let (heads, n, d) = (2, 256, 16);
    let (q, k, v) = random_qkv(&mut rng, heads, n, d);
    for spec in [
        "linformer:k=16",
        "linformer:k=8,b=100,share_kv",
        "performer:m=20",
        "lsh:bucket=16,hashes=2",
    ] {
        let a = approx(spec);
        let seeded = run(
            &q,
            &k,
            &v,
            spec,
            &ApproxOptions {
                seed: 77,
                ..Default::default()
            },
        );
        let w = glance_attn::draw_weights(&a, n, d, 77).unwrap();
        let given = run(
            &q,
            &k,
            &v,
            spec,
            &ApproxOptions {
                weights: Some(w.view()),
                ..Default::default()
            },
        );
        assert_eq!(seeded, given, "{spec}");
    }
}

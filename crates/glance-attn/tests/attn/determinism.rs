//! Bit-identical results for any thread count, with the query tiles kept on the calling
//! thread ([`on_calling_thread`]) or spread over the pool, and for any chunking of a
//! sequence with a halo of `local_radius` (what streaming inference relies on).

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{random_qkv, Rng};
use glance_attn::{attend, on_calling_thread, AttendOptions, Isa, Pattern};
use ndarray::{s, Array3};

const PATTERNS: [&str; 6] = [
    "sliding:r=37",
    "sliding:r=64,causal",
    "dilated:r=9,d=3",
    "block:b=50,n=1",
    "block:b=64,n=0",
    "full:causal",
];

fn run(
    q: &Array3<f32>,
    k: &Array3<f32>,
    v: &Array3<f32>,
    p: &Pattern,
    opts: &AttendOptions,
) -> Array3<f32> {
    attend(q.view(), k.view(), v.view(), p, opts).unwrap()
}

fn bits(a: &Array3<f32>) -> Vec<u32> {
    a.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn identical_for_any_thread_count() {
    let mut rng = Rng::new(3);
    let (q, k, v) = random_qkv(&mut rng, 3, 517, 40);
    for spec in PATTERNS.iter().chain(&[
        "sliding:r=20+global:every=97",
        "dilated:r=5,d=2+global:first",
        "bigbird:b=16,random=3",
    ]) {
        let p: Pattern = spec.parse().unwrap();
        let opts = AttendOptions::default();
        let results: Vec<Vec<u32>> = [1, 2, 3]
            .iter()
            .map(|&t| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap();
                bits(&pool.install(|| run(&q, &k, &v, &p, &opts)))
            })
            .collect();
        assert!(results.windows(2).all(|w| w[0] == w[1]), "{spec}");
    }
}

#[test]
fn tiles_on_the_calling_thread_equal_tiles_on_the_pool() {
    let mut rng = Rng::new(7);
    let (q, k, v) = random_qkv(&mut rng, 2, 613, 32);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    for isa in Isa::available() {
        for spec in PATTERNS.iter().chain(&["sliding:r=20+global:every=97"]) {
            let p: Pattern = spec.parse().unwrap();
            let opts = AttendOptions {
                isa: Some(isa),
                offset: 5,
                ..Default::default()
            };
            let spread = pool.install(|| run(&q, &k, &v, &p, &opts));
            let own = pool.install(|| on_calling_thread(|| run(&q, &k, &v, &p, &opts)));
            assert_eq!(bits(&own), bits(&spread), "{spec} {isa:?}");
        }
    }
}

#[test]
fn chunks_with_halo_equal_the_whole_sequence_bit_for_bit() {
    let mut rng = Rng::new(11);
    let n = 900;
    let (q, k, v) = random_qkv(&mut rng, 2, n, 24);
    for isa in Isa::available() {
        for spec in PATTERNS.iter().filter(|s| !s.starts_with("full")) {
            let p: Pattern = spec.parse().unwrap();
            let halo = p.local_radius().unwrap();
            let opts = AttendOptions {
                isa: Some(isa),
                ..Default::default()
            };
            let whole = run(&q, &k, &v, &p, &opts);
            for (start, end) in [(0usize, 130usize), (130, 411), (411, 777), (777, 900)] {
                let lo = start.saturating_sub(halo);
                let hi = (end + halo).min(n);
                let chunk = |a: &Array3<f32>| a.slice(s![.., lo..hi, ..]).to_owned();
                let chunk_opts = AttendOptions {
                    offset: lo,
                    ..opts.clone()
                };
                let part = run(&chunk(&q), &chunk(&k), &chunk(&v), &p, &chunk_opts);
                let got = part.slice(s![.., start - lo..end - lo, ..]).to_owned();
                let want = whole.slice(s![.., start..end, ..]).to_owned();
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "{isa:?} {spec} chunk {start}..{end}"
                );
            }
        }
    }
}

//! The bf16 attention path ([`Precision::Bf16`]): against the dense f64 reference
//! within a bf16 tolerance on several patterns, shapes and offsets (tiles cut short,
//! head widths that are not a multiple of 32), bit-identical across thread counts and
//! chunkings, and the f32 fallback (no AMX, forced AVX512_BF16, global tokens, key
//! padding, biases) equal to the f32 kernel bit for bit. The AMX assertions are skipped
//! (with a note) on a CPU without AMX; the fallback ones run everywhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{random_padding, random_qkv, Rng};
use glance_attn::{
    attend, on_calling_thread, reference, runs_bf16_tiles, AttendOptions, Bf16Kernel, Pattern,
    PositionBias, Precision,
};
use ndarray::{s, Array3};

/// Max abs error allowed against the f64 reference on unit-scale inputs: q, k, v and
/// the probabilities are rounded to bf16 (relative error 2^-9 each), the sums are f32.
const TOLERANCE: f32 = 2e-2;

const PATTERNS: [&str; 8] = [
    "sliding:r=37",
    "sliding:r=16,causal",
    "dilated:r=9,d=3",
    "block:b=24,n=1",
    "block:b=40,n=0",
    "full",
    "full:causal",
    "sliding:r=300",
];

fn amx() -> bool {
    let yes = Bf16Kernel::Amx.is_available();
    if !yes {
        eprintln!("note: this CPU has no AMX; the bf16 kernel's assertions are skipped");
    }
    yes
}

fn bf16_opts<'a>(offset: usize, kernel: Option<Bf16Kernel>) -> AttendOptions<'a> {
    AttendOptions {
        offset,
        precision: Precision::Bf16,
        bf16_kernel: kernel,
        ..Default::default()
    }
}

fn max_abs(a: &Array3<f32>, b: &Array3<f64>) -> f32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - y).abs() as f32)
        .fold(0.0, f32::max)
}

#[test]
fn bf16_tiles_match_the_f64_reference() {
    if !amx() {
        return;
    }
    let mut rng = Rng::new(21);
    for (heads, n, d, offset) in [
        (2, 301, 64, 7),
        (1, 20, 64, 0),
        (2, 97, 40, 33),
        (1, 75, 128, 1000),
        (1, 50, 7, 3),
        (3, 64, 32, 64),
    ] {
        let (q, k, v) = random_qkv(&mut rng, heads, n, d);
        for spec in PATTERNS {
            let pattern: Pattern = spec.parse().unwrap();
            let opts = bf16_opts(offset, Some(Bf16Kernel::Amx));
            assert!(runs_bf16_tiles(&pattern, n, heads, &opts).unwrap());
            let want =
                reference::attend_f64(q.view(), k.view(), v.view(), &pattern, &opts).unwrap();
            let got = attend(q.view(), k.view(), v.view(), &pattern, &opts).unwrap();
            let err = max_abs(&got, &want);
            assert!(
                err <= TOLERANCE,
                "{spec}, [{heads}, {n}, {d}], offset {offset}: max abs error {err:e}"
            );
        }
    }
}

#[test]
fn bf16_tiles_are_bit_identical_across_thread_counts() {
    if !amx() {
        return;
    }
    let mut rng = Rng::new(5);
    let (q, k, v) = random_qkv(&mut rng, 3, 700, 64);
    for spec in ["sliding:r=128", "dilated:r=20,d=4", "full"] {
        let pattern: Pattern = spec.parse().unwrap();
        let opts = bf16_opts(11, None);
        let runs: Vec<Array3<f32>> = [1, 2, 5]
            .into_iter()
            .map(|threads| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| attend(q.view(), k.view(), v.view(), &pattern, &opts).unwrap())
            })
            .collect();
        assert!(runs.iter().all(|r| *r == runs[0]), "{spec}");
        let own =
            on_calling_thread(|| attend(q.view(), k.view(), v.view(), &pattern, &opts).unwrap());
        assert!(own == runs[0], "{spec}: tiles on the calling thread");
    }
}

#[test]
fn bf16_tiles_of_a_window_equal_those_of_the_whole_sequence() {
    if !amx() {
        return;
    }
    let mut rng = Rng::new(8);
    let (heads, n, d) = (2, 900, 64);
    let (q, k, v) = random_qkv(&mut rng, heads, n, d);
    // (pattern, its reach, windows): rows at least the reach from a window's inner
    // edges see the same keys as in the whole sequence and must come out bit for bit
    // the same. Windows start anywhere (not tile-aligned); r = 260 takes key chunks.
    let short = [(123, 555), (301, 900), (0, 417), (77, 200)];
    for (spec, r, windows) in [
        ("sliding:r=50", 50, &short[..]),
        ("sliding:r=50,causal", 50, &short[..]),
        ("dilated:r=12,d=4", 48, &short[..]),
        (
            "sliding:r=260",
            260,
            &[(0, 700), (150, 900), (101, 800)][..],
        ),
    ] {
        let pattern: Pattern = spec.parse().unwrap();
        let whole = attend(q.view(), k.view(), v.view(), &pattern, &bf16_opts(0, None)).unwrap();
        for &(start, end) in windows {
            let win = s![.., start..end, ..];
            let part = attend(
                q.slice(win),
                k.slice(win),
                v.slice(win),
                &pattern,
                &bf16_opts(start, None),
            )
            .unwrap();
            let lo = if start == 0 { 0 } else { r };
            let hi = if end == n {
                end - start
            } else {
                end - start - r
            };
            assert_eq!(
                part.slice(s![.., lo..hi, ..]),
                whole.slice(s![.., start + lo..start + hi, ..]),
                "{spec}, window {start}..{end}"
            );
        }
    }
}

/// Whatever the CPU: a bf16 call that the AMX kernel does not take equals the f32
/// kernel bit for bit.
#[test]
fn calls_without_the_amx_kernel_run_the_f32_kernel() {
    let mut rng = Rng::new(13);
    let (heads, n, d) = (2, 120, 32);
    let (q, k, v) = random_qkv(&mut rng, heads, n, d);
    let padding = random_padding(&mut rng, n, 10);
    let f32_of = |pattern: &Pattern, opts: &AttendOptions| {
        let f32_opts = AttendOptions {
            precision: Precision::F32,
            bf16_kernel: None,
            ..opts.clone()
        };
        attend(q.view(), k.view(), v.view(), pattern, &f32_opts).unwrap()
    };
    let sliding: Pattern = "sliding:r=20".parse().unwrap();
    let mut cases: Vec<(Pattern, AttendOptions)> = vec![
        (
            "sliding:r=20+global:every=30".parse().unwrap(),
            bf16_opts(0, None),
        ),
        ("bigbird:b=8,random=2".parse().unwrap(), bf16_opts(0, None)),
        (
            sliding.clone(),
            AttendOptions {
                key_padding: Some(padding.view()),
                ..bf16_opts(0, None)
            },
        ),
        (
            sliding.clone(),
            AttendOptions {
                bias: Some(PositionBias::Alibi {
                    slopes: vec![0.5, 0.25],
                }),
                ..bf16_opts(0, None)
            },
        ),
    ];
    if Bf16Kernel::Avx512.is_available() {
        cases.push((sliding.clone(), bf16_opts(0, Some(Bf16Kernel::Avx512))));
    }
    if !Bf16Kernel::Amx.is_available() {
        cases.push((sliding.clone(), bf16_opts(0, None)));
    }
    for (pattern, opts) in &cases {
        assert!(
            !runs_bf16_tiles(pattern, n, heads, opts).unwrap(),
            "{pattern:?}"
        );
        let got = attend(q.view(), k.view(), v.view(), pattern, opts).unwrap();
        assert_eq!(got, f32_of(pattern, opts), "{pattern:?}");
    }
}

#[test]
fn an_unavailable_bf16_kernel_is_an_error() {
    let mut rng = Rng::new(2);
    let (q, k, v) = random_qkv(&mut rng, 1, 10, 8);
    let pattern: Pattern = "full".parse().unwrap();
    for kernel in [Bf16Kernel::Amx, Bf16Kernel::Avx512] {
        let got = attend(
            q.view(),
            k.view(),
            v.view(),
            &pattern,
            &bf16_opts(0, Some(kernel)),
        );
        assert_eq!(got.is_ok(), kernel.is_available(), "{kernel:?}");
    }
}

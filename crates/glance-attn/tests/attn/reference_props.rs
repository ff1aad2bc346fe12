//! Property tests: `attend` equals the dense f64 reference (max abs error <= 1e-5) for
//! random shapes, every pattern (BigBird's block-0 multiplicity included), global tokens,
//! padding, biases and per-head dilation, on every instruction set this CPU has.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{max_abs_err, random3, random_padding, random_qkv, Rng};
use glance_attn::{
    attend, reference, AttendOptions, Global, GlobalQkv, Isa, Local, Pattern, PositionBias,
};
use ndarray::Array2;
use proptest::prelude::*;

fn local_strategy() -> impl Strategy<Value = Local> {
    prop_oneof![
        any::<bool>().prop_map(|causal| Local::Full { causal }),
        (0usize..70, any::<bool>()).prop_map(|(radius, causal)| Local::Sliding { radius, causal }),
        (0usize..20, 1usize..6, any::<bool>()).prop_map(|(radius, dilation, causal)| {
            Local::Dilated {
                radius,
                dilation,
                causal,
            }
        }),
        (1usize..70, 0usize..3).prop_map(|(size, neighbours)| Local::Block { size, neighbours }),
        (1usize..40, 0usize..4).prop_map(|(block, random)| Local::BigBird { block, random }),
    ]
}

fn global_strategy() -> impl Strategy<Value = Option<Global>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(Global::First)),
        1 => (1usize..60).prop_map(|k| Some(Global::Every(k))),
        1 => proptest::collection::vec(0usize..400, 0..6).prop_map(|mut t| {
            t.sort_unstable();
            t.dedup();
            Some(Global::Tokens(t))
        }),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    heads: usize,
    n: usize,
    d: usize,
    offset: usize,
    pattern: Pattern,
    seed: u64,
    padding_percent: u64,
    bias: u8,
    per_head_dilation: bool,
    global_projections: bool,
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        (1usize..4, 1usize..230, 1usize..72, 0usize..300),
        (local_strategy(), global_strategy()),
        (any::<u64>(), prop_oneof![Just(0u64), 1u64..40, Just(100)]),
        (0u8..3, any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |((heads, n, d, offset), (local, global), (seed, padding_percent), (bias, phd, gp))| {
                // BigBird counts blocks from row 0 and has its own global blocks.
                let bigbird = matches!(local, Local::BigBird { .. });
                Case {
                    heads,
                    n,
                    d,
                    offset: if bigbird { 0 } else { offset },
                    pattern: Pattern {
                        local,
                        global: if bigbird { None } else { global },
                    },
                    seed,
                    padding_percent,
                    bias,
                    per_head_dilation: phd,
                    global_projections: gp,
                }
            },
        )
}

fn check_case(c: &Case) -> Result<(), TestCaseError> {
    let mut rng = Rng::new(c.seed);
    let (q, k, v) = random_qkv(&mut rng, c.heads, c.n, c.d);
    let (gq, gk, gv) = random_qkv(&mut rng, c.heads, c.n, c.d);
    let padding = random_padding(&mut rng, c.n, c.padding_percent);
    let bias = match c.bias {
        1 => Some(PositionBias::Alibi {
            slopes: (0..c.heads).map(|h| 0.5f32.powi(h as i32 + 1)).collect(),
        }),
        2 => Some(PositionBias::Relative {
            max_distance: 9,
            values: Array2::from_shape_simple_fn((c.heads, 19), || rng.unit()),
        }),
        _ => None,
    };
    let head_dilation = match c.pattern.local {
        Local::Dilated { .. } if c.per_head_dilation => Some(
            (0..c.heads)
                .map(|h| 1 + (h * 2 + c.seed as usize) % 5)
                .collect(),
        ),
        _ => None,
    };
    let base = AttendOptions {
        offset: c.offset,
        key_padding: (c.padding_percent > 0).then(|| padding.view()),
        bias,
        head_dilation,
        global_qkv: c.global_projections.then(|| GlobalQkv {
            q: gq.view(),
            k: gk.view(),
            v: gv.view(),
        }),
        ..Default::default()
    };
    let want = reference::attend_f64(q.view(), k.view(), v.view(), &c.pattern, &base)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    for isa in Isa::available() {
        let opts = AttendOptions {
            isa: Some(isa),
            ..base.clone()
        };
        let got = attend(q.view(), k.view(), v.view(), &c.pattern, &opts)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let err = max_abs_err(got.view(), want.view());
        prop_assert!(err <= 1e-5, "{isa:?}: max abs error {err:e} for {c:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn attend_matches_dense_f64_reference(c in case_strategy()) {
        check_case(&c)?;
    }
}

#[test]
fn fully_padded_rows_are_zero() {
    let mut rng = Rng::new(7);
    let (q, k, v) = random_qkv(&mut rng, 2, 50, 8);
    let padding = ndarray::Array1::from_shape_fn(50, |j| j < 30);
    let opts = AttendOptions {
        key_padding: Some(padding.view()),
        ..Default::default()
    };
    let pattern: Pattern = "sliding:r=3".parse().unwrap();
    let out = attend(q.view(), k.view(), v.view(), &pattern, &opts).unwrap();
    // Rows 0..=26 see only keys < 30: all padding.
    assert!(out
        .slice(ndarray::s![.., ..27, ..])
        .iter()
        .all(|&x| x == 0.0));
    assert!(out
        .slice(ndarray::s![.., 27.., ..])
        .iter()
        .any(|&x| x != 0.0));
}

#[test]
fn extreme_or_invalid_patterns_error_or_work_without_panicking() {
    let mut rng = Rng::new(5);
    let (q, k, v) = random_qkv(&mut rng, 1, 40, 4);
    let full = attend(
        q.view(),
        k.view(),
        v.view(),
        &"full".parse().unwrap(),
        &AttendOptions::default(),
    )
    .unwrap();
    let huge = [
        Local::Sliding {
            radius: usize::MAX,
            causal: false,
        },
        Local::Dilated {
            radius: usize::MAX,
            dilation: 1,
            causal: false,
        },
        Local::Block {
            size: usize::MAX,
            neighbours: usize::MAX,
        },
        Local::Block {
            size: 1,
            neighbours: usize::MAX,
        },
        // One block, every row global.
        Local::BigBird {
            block: usize::MAX,
            random: usize::MAX,
        },
    ];
    for local in huge {
        let out = attend(
            q.view(),
            k.view(),
            v.view(),
            &Pattern::local(local),
            &AttendOptions::default(),
        )
        .unwrap();
        assert!(
            max_abs_err(out.view(), full.mapv(f64::from).view()) <= 1e-6,
            "{local:?}"
        );
    }
    let invalid = [
        Pattern::local(Local::Block {
            size: 0,
            neighbours: 1,
        }),
        Pattern::local(Local::Dilated {
            radius: 2,
            dilation: 0,
            causal: false,
        }),
        Pattern {
            local: Local::Full { causal: false },
            global: Some(Global::Every(0)),
        },
        Pattern::local(Local::BigBird {
            block: 0,
            random: 1,
        }),
        Pattern {
            local: Local::BigBird {
                block: 4,
                random: 1,
            },
            global: Some(Global::First),
        },
    ];
    for p in invalid {
        assert!(
            attend(q.view(), k.view(), v.view(), &p, &AttendOptions::default()).is_err(),
            "{p:?}"
        );
        assert!(
            reference::attend_f64(q.view(), k.view(), v.view(), &p, &AttendOptions::default())
                .is_err()
        );
    }
    let short = ndarray::Array1::from_elem(39, false);
    let opts = AttendOptions {
        key_padding: Some(short.view()),
        ..Default::default()
    };
    assert!(attend(
        q.view(),
        k.view(),
        v.view(),
        &"full".parse().unwrap(),
        &opts
    )
    .is_err());
    let bad_k = random3(&mut rng, 1, 41, 4);
    assert!(attend(
        q.view(),
        bad_k.view(),
        v.view(),
        &"full".parse().unwrap(),
        &AttendOptions::default()
    )
    .is_err());
}

#[test]
fn bigbird_without_random_blocks_is_block_attention_with_global_end_blocks() {
    let mut rng = Rng::new(21);
    let (q, k, v) = random_qkv(&mut rng, 2, 100, 8);
    let bigbird: Pattern = "bigbird:b=16,random=0".parse().unwrap();
    // Blocks 0..16 and 96..100 (the short last block) are global.
    let tokens: Vec<usize> = (0..16).chain(96..100).collect();
    let block = Pattern {
        local: Local::Block {
            size: 16,
            neighbours: 1,
        },
        global: Some(Global::Tokens(tokens)),
    };
    let opts = AttendOptions::default();
    let a = attend(q.view(), k.view(), v.view(), &bigbird, &opts).unwrap();
    let b = reference::attend_f64(q.view(), k.view(), v.view(), &block, &opts).unwrap();
    assert!(max_abs_err(a.view(), b.view()) <= 1e-5);
    // With random blocks, only the non-global rows that see block 0 change.
    let r3: Pattern = "bigbird:b=16,random=3".parse().unwrap();
    let c = attend(q.view(), k.view(), v.view(), &r3, &opts).unwrap();
    for i in 0..100 {
        let same = (0..2).all(|h| (0..8).all(|x| a[[h, i, x]] == c[[h, i, x]]));
        assert_eq!(same, !(16..96).contains(&i), "row {i}");
    }
    let shifted = AttendOptions {
        offset: 16,
        ..Default::default()
    };
    let err = attend(q.view(), k.view(), v.view(), &r3, &shifted).unwrap_err();
    assert!(err.to_string().contains("offset must be 0"), "{err}");
}

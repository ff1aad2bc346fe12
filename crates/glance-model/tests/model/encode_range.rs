//! `encode_range`: the rows of any token range equal those of encoding the whole record
//! with the stream (chunked models: sliding, dilated, block layers with RoPE or ALiBi;
//! learned-position models in windows, with and without overlap), while only the
//! tokens the range needs are encoded.

// Tests unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::ops::Range;

use crate::common::{bases, max_abs_diff, model_dir, tokens};
use glance_model::{encode_range, encode_tokens, load, StreamOptions};
use ndarray::s;

/// Where this file's sequences have an N (`common::bases`): at `i % 89 == 40`.
const N_AT: (usize, usize) = (89, 40);

/// Checks every listed range of one model against the whole-record rows, and returns
/// the most tokens one call asked for.
fn check(model: &str, opts: &StreamOptions, ranges: &[Range<u64>]) -> u64 {
    let enc = load(&model_dir(model)).unwrap();
    let ids = tokens(&enc, &bases(900, 11, N_AT));
    let n = ids.len() as u64;
    let whole = encode_tokens(&enc, &ids, opts).unwrap();
    let asked = Cell::new(0u64);
    let fetch = |r: Range<u64>| {
        asked.set(asked.get().max(r.end - r.start));
        ids[r.start as usize..r.end as usize].to_vec()
    };
    for r in ranges {
        let r = r.start.min(n)..r.end.min(n);
        let got = encode_range(&enc, n, r.clone(), opts, &fetch).unwrap();
        let want = whole
            .slice(s![r.start as usize..r.end as usize, ..])
            .to_owned();
        assert_eq!(got.dim(), want.dim(), "{model} {r:?}");
        let err = max_abs_diff(&got, &want);
        assert!(err <= 1e-5, "{model} {r:?}: max abs error {err}");
    }
    asked.get()
}

#[test]
fn chunked_ranges_equal_the_whole_record_and_need_only_their_halo() {
    let ranges = [
        0..1,
        0..40,
        100..101,
        250..300,
        500..898,
        897..898,
        300..300,
    ];
    for model in ["native_mixed", "native_alibi"] {
        let enc = load(&model_dir(model)).unwrap();
        let halo = enc.receptive_radius().unwrap() as u64;
        let opts = StreamOptions {
            chunk_tokens: 64,
            ..StreamOptions::default()
        };
        let asked = check(model, &opts, &ranges);
        // the longest range plus a halo on each side, never the whole record
        assert!(asked <= 398 + 2 * halo, "{model}: asked for {asked} tokens");
    }
}

#[test]
fn window_ranges_equal_the_whole_record_with_and_without_overlap() {
    let ranges = [0..1, 0..30, 30..31, 37..80, 100..300, 600..898, 897..898];
    for model in ["native_learned", "bert_k3"] {
        for overlap in [0, 5] {
            let opts = StreamOptions {
                overlap,
                ..StreamOptions::default()
            };
            let asked = check(model, &opts, &ranges);
            assert!(asked < 898, "{model}: one job at a time, not the record");
        }
    }
}

#[test]
fn a_range_past_the_record_is_refused() {
    let enc = load(&model_dir("native_mixed")).unwrap();
    let opts = StreamOptions::default();
    let err = encode_range(&enc, 10, 5..11, &opts, &|_| Vec::new()).unwrap_err();
    assert!(
        err.to_string().contains("outside a record of 10 tokens"),
        "{err}"
    );
}

#[test]
fn editing_a_span_recomputes_only_the_receptive_field_and_equals_the_edited_record() {
    let encoders = [
        ("native_mixed", load(&model_dir("native_mixed")).unwrap()),
        ("native_alibi", load(&model_dir("native_alibi")).unwrap()),
        ("default", glance_model::load_bundled().unwrap()),
    ];
    for (dir, enc) in encoders {
        let halo = enc.receptive_radius().unwrap() as u64;
        let ids = tokens(&enc, &bases(3000, 5, N_AT));
        let n = ids.len() as u64;
        let opts = StreamOptions::default();
        let span = glance_model::SpanStates::encode(&enc, &ids, 0).unwrap();
        for edited in [0..1, n / 2..n / 2 + 1, n / 3..n / 3 + 6, n - 3..n] {
            let mut changed = ids.clone();
            let new: Vec<u32> = (edited.start..edited.end)
                .map(|t| if ids[t as usize] == 7 { 8 } else { 7 })
                .collect();
            changed.splice(
                edited.start as usize..edited.end as usize,
                new.iter().copied(),
            );
            let got = span.edit(&enc, edited.clone(), &new).unwrap();
            let want = encode_tokens(&enc, &changed, &opts).unwrap();
            let f = got.tokens.clone();
            assert_eq!(
                f,
                edited.start.saturating_sub(halo)..(edited.end + halo).min(n),
                "{dir:?}"
            );
            let want_rows = want
                .slice(s![f.start as usize..f.end as usize, ..])
                .to_owned();
            let err = max_abs_diff(&got.rows, &want_rows);
            assert!(err <= 1e-5, "{dir:?} {edited:?}: max abs error {err}");
            // outside the field the edited record's outputs are the original ones
            let base = span.outputs(&enc, 0..n).unwrap();
            for t in [f.start.checked_sub(1), (f.end < n).then_some(f.end)]
                .into_iter()
                .flatten()
            {
                let d = (&base.row(t as usize) - &want.row(t as usize))
                    .fold(0f32, |m, v| m.max(v.abs()));
                assert!(
                    d <= 1e-5,
                    "{dir:?}: token {t} outside the field changed by {d}"
                );
            }
        }
    }
}

#[test]
fn editing_refuses_learned_positions() {
    let enc = load(&model_dir("native_learned")).unwrap();
    assert!(glance_model::SpanStates::encode(&enc, &[5, 6, 7], 0).is_err());
}

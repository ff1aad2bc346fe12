//! Streaming semantics: chunked encoding with halos equals whole-sequence encoding
//! (1e-5) for any chunk size, is bit-identical across thread counts, reading from a
//! sequence source equals encoding in memory, and overlapping windows are averaged.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{bases, max_abs_diff, model_dir, tokens};
use glance_model::{
    encode_source, encode_tokens, load, Encoder, ModelError, StreamOptions, TokenSink,
};
use glance_seq::SeqReader;
use ndarray::{concatenate, s, Array2, ArrayView2, Axis};

/// Where this file's sequences have an N (`common::bases`): at `i % 97 == 50`.
const N_AT: (usize, usize) = (97, 50);

fn opts(chunk_tokens: usize) -> StreamOptions {
    StreamOptions {
        chunk_tokens,
        ..StreamOptions::default()
    }
}

#[test]
fn chunked_equals_whole_for_any_chunk_size() {
    for model in ["native_mixed", "native_alibi"] {
        let enc = load(&model_dir(model)).unwrap();
        let ids = tokens(&enc, &bases(700, 7, N_AT));
        let whole = enc.forward(&ids, 0).unwrap();
        for chunk in [1, 5, 16, 64, 1000] {
            let got = encode_tokens(&enc, &ids, &opts(chunk)).unwrap();
            let err = max_abs_diff(&got, &whole);
            assert!(err <= 1e-5, "{model}, chunk {chunk}: max abs error {err}");
        }
    }
}

#[test]
fn too_small_halo_would_differ() {
    // Guards the test above: without the halo the block and dilated layers see other
    // keys near chunk edges, and the error is far above the tolerance.
    let enc = load(&model_dir("native_mixed")).unwrap();
    let ids = tokens(&enc, &bases(300, 3, N_AT));
    let whole = enc.forward(&ids, 0).unwrap();
    let radius = enc.receptive_radius().unwrap();
    assert_eq!(radius, 3 + 2 * 3 + (8 * 2 - 1));
    let pieces: Vec<Array2<f32>> = (0..ids.len())
        .step_by(32)
        .map(|c| enc.forward(&ids[c..(c + 32).min(ids.len())], c).unwrap())
        .collect();
    let views: Vec<ArrayView2<f32>> = pieces.iter().map(|p| p.view()).collect();
    let naive = concatenate(Axis(0), &views).unwrap();
    assert!(max_abs_diff(&naive, &whole) > 1e-3);
}

#[test]
fn bit_identical_across_thread_counts() {
    let enc = load(&model_dir("native_mixed")).unwrap();
    let ids = tokens(&enc, &bases(900, 11, N_AT));
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| encode_tokens(&enc, &ids, &opts(40)).unwrap())
    };
    let one = run(1);
    for threads in [2, 3] {
        assert!(one
            .iter()
            .zip(run(threads).iter())
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

/// Collects every record's rows, checking that token indices are contiguous.
#[derive(Default)]
struct Records {
    out: Vec<(String, Array2<f32>, u64)>,
    next: u64,
}

impl TokenSink for Records {
    fn begin_record(&mut self, name: &str, origin: u64) -> Result<(), ModelError> {
        assert_eq!(origin, 0);
        self.out.push((name.to_string(), Array2::zeros((0, 0)), 0));
        self.next = 0;
        Ok(())
    }

    fn tokens(
        &mut self,
        first: u64,
        spans: &[std::ops::Range<u64>],
        rows: ArrayView2<f32>,
    ) -> Result<(), ModelError> {
        assert_eq!(first, self.next, "tokens arrive in order, once");
        assert_eq!(spans.len(), rows.nrows(), "one span per row");
        self.next += rows.nrows() as u64;
        let last = self.out.last_mut().unwrap();
        last.1 = if last.1.nrows() == 0 {
            rows.to_owned()
        } else {
            concatenate(Axis(0), &[last.1.view(), rows]).unwrap()
        };
        Ok(())
    }

    fn end_record(&mut self, len: u64) -> Result<(), ModelError> {
        self.out.last_mut().unwrap().2 = len;
        Ok(())
    }
}

fn stream(enc: &Encoder, fasta: &[(String, Vec<u8>)], o: &StreamOptions) -> Records {
    let mut text = Vec::new();
    for (name, seq) in fasta {
        text.extend_from_slice(format!(">{name}\n").as_bytes());
        for line in seq.chunks(61) {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
    }
    let reader = SeqReader::from_reader(std::io::Cursor::new(text)).unwrap();
    let mut sink = Records::default();
    let mut seen = 0;
    encode_source(enc, reader, o, &mut sink, &mut |n| seen += n).unwrap();
    sink
}

#[test]
fn streaming_a_source_equals_encoding_in_memory() {
    for model in ["native_mixed", "native_alibi", "native_learned", "bert_k3"] {
        let enc = load(&model_dir(model)).unwrap();
        let fasta = vec![
            ("a".to_string(), bases(500, 1, N_AT)),
            ("b".to_string(), bases(2, 2, N_AT)),
            ("c".to_string(), bases(333, 3, N_AT)),
        ];
        let o = StreamOptions {
            chunk_tokens: 37,
            batch: 3,
            ..StreamOptions::default()
        };
        let got = stream(&enc, &fasta, &o);
        assert_eq!(got.out.len(), 3);
        for ((name, seq), (got_name, rows, len)) in fasta.iter().zip(&got.out) {
            assert_eq!((name, seq.len() as u64), (got_name, *len));
            let want = encode_tokens(&enc, &tokens(&enc, seq), &o).unwrap();
            if want.nrows() == 0 {
                assert_eq!(rows.nrows(), 0);
            } else {
                assert!(max_abs_diff(rows, &want) == 0.0, "{model}/{name}");
            }
        }
    }
}

#[test]
fn overlapping_windows_are_averaged() {
    let enc = load(&model_dir("native_learned")).unwrap();
    // 22 content tokens per window; overlap 6 -> windows start every 16 tokens.
    let ids = tokens(&enc, &bases(60, 5, N_AT));
    let n = ids.len();
    let o = StreamOptions {
        overlap: 6,
        ..StreamOptions::default()
    };
    let got = encode_tokens(&enc, &ids, &o).unwrap();
    let window = |start: usize| {
        let end = (start + 22).min(n);
        let mut w = vec![2];
        w.extend_from_slice(&ids[start..end]);
        w.push(3);
        let h = enc.forward(&w, 0).unwrap();
        h.slice(s![1..h.nrows() - 1, ..]).to_owned()
    };
    let (w0, w1) = (window(0), window(16));
    for t in 0..n.min(32) {
        let want = match t {
            0..16 => w0.row(t).to_owned(),
            16..22 => (&w0.row(t) + &w1.row(t - 16)) * 0.5,
            _ => w1.row(t - 16).to_owned(),
        };
        let err = (&got.row(t) - &want)
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()));
        assert!(err < 1e-6, "token {t}: {err}");
    }
    let streamed = stream(&enc, &[("x".into(), bases(60, 5, N_AT))], &o);
    assert_eq!(max_abs_diff(&streamed.out[0].1, &got), 0.0);
}

#[test]
fn unbounded_patterns_run_whole_records_up_to_a_limit() {
    let mut enc = load(&model_dir("native_mixed")).unwrap();
    for layer in &mut enc.layers {
        layer.attention.pattern = "sliding:r=2+global:every=50".parse().unwrap();
    }
    assert_eq!(enc.run_mode().unwrap(), glance_model::RunMode::Whole);
    let ids = tokens(&enc, &bases(200, 9, N_AT));
    let o = StreamOptions {
        max_whole_tokens: 250,
        ..opts(16)
    };
    let got = encode_tokens(&enc, &ids, &o).unwrap();
    assert_eq!(max_abs_diff(&got, &enc.forward(&ids, 0).unwrap()), 0.0);
    let short = StreamOptions {
        max_whole_tokens: 100,
        ..o
    };
    let err = encode_tokens(&enc, &ids, &short).unwrap_err().to_string();
    assert!(err.contains("longer than 100 tokens"), "{err}");
    let reader = SeqReader::from_reader(std::io::Cursor::new(
        b">x\nACGT\n>y\n"
            .iter()
            .copied()
            .chain(bases(200, 9, N_AT))
            .collect::<Vec<u8>>(),
    ))
    .unwrap();
    let err = encode_source(&enc, reader, &short, &mut Records::default(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("longer than 100 tokens"), "{err}");
}

/// `Encoder::forward_kept` drops, after each layer, the rows the later layers cannot
/// reach from the kept range; the kept rows stay bit-identical to the whole forward
/// pass's, at any offset (RoPE and block patterns read absolute positions), at the
/// sequence's edges, and for a range narrower than a layer's reach.
#[test]
fn kept_rows_equal_the_whole_forward_pass_bit_for_bit() {
    for model in ["native_mixed", "native_alibi", "modernbert_mixed"] {
        let enc = load(&model_dir(model)).unwrap();
        let ids = tokens(&enc, &bases(400, 13, N_AT));
        let n = ids.len();
        for offset in [0, 37] {
            let whole = enc.forward(&ids, offset).unwrap();
            for keep in [
                0..n,
                0..1,
                5..60,
                n / 2..n / 2 + 1,
                n / 4..3 * n / 4,
                n - 9..n,
                42..42,
            ] {
                let kept = enc.forward_kept(&ids, offset, keep.clone()).unwrap();
                let want = whole.slice(s![keep.clone(), ..]);
                assert_eq!(kept.dim(), want.dim(), "{model} {offset} {keep:?}");
                assert!(
                    kept.iter()
                        .zip(want.iter())
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{model} offset {offset} rows {keep:?}: max abs error {}",
                    max_abs_diff(&kept, &want.to_owned())
                );
            }
        }
        assert!(enc.forward_kept(&ids, 0, n - 1..n + 1).is_err());
    }
}

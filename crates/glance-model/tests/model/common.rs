//! Helpers shared by the integration tests: fixture paths, the fixture sequences and
//! their expected hidden states (written by scripts/model_fixtures.py).

#![allow(dead_code)]

use std::ops::Range;
use std::path::PathBuf;

use glance_model::{
    encode_tokens, load, Encoder, ModelError, PooledRegion, RowSink, StreamOptions, TokenSink,
    Weights,
};
use glance_seq::{Record, SeqReader};
use ndarray::{concatenate, s, Array2, ArrayView2, Axis};

/// test-data/models/<name>.
pub fn model_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-data/models")
        .join(name)
}

/// The fixture sequences of scripts/model_fixtures.py (name, bases).
pub fn sequences() -> Vec<(String, Vec<u8>)> {
    records("sequences.fa")
}

/// The records (name, bases) of the FASTA file test-data/models/<file>.
pub fn records(file: &str) -> Vec<(String, Vec<u8>)> {
    let mut reader = SeqReader::open(model_dir(file)).unwrap();
    let mut rec = Record::default();
    let mut out = Vec::new();
    while reader.read_record(&mut rec).unwrap() {
        out.push((rec.name.clone(), rec.sequence.clone()));
    }
    out
}

/// Expected token ids and hidden states (None when the sequence has no token).
pub fn expected(model: &str, seq: &str) -> (Vec<u32>, Option<Array2<f32>>) {
    let w = Weights::open(&model_dir(model).join("expected.safetensors")).unwrap();
    let n = w.shape(&format!("{seq}.ids")).unwrap()[0];
    let ids = w
        .tensor(&format!("{seq}.ids"), &[n])
        .unwrap()
        .into_iter()
        .map(|v| v as u32)
        .collect();
    let name = format!("{seq}.hidden");
    let hidden = w.shape(&name).map(|s| {
        let (r, c) = (s[0], s[1]);
        w.matrix(&name, r, c).unwrap()
    });
    (ids, hidden)
}

/// A deterministic pseudo-random sequence of `n` bases from `seed`, with an N at every
/// position `i` where `i % n_at.0 == n_at.1`.
pub fn bases(n: usize, seed: u64, n_at: (usize, usize)) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if i % n_at.0 == n_at.1 {
                b'N'
            } else {
                b"ACGT"[(x >> 33) as usize % 4]
            }
        })
        .collect()
}

/// The token ids of `seq` with `enc`'s tokenizer.
pub fn tokens(enc: &Encoder, seq: &[u8]) -> Vec<u32> {
    let mut ids = Vec::new();
    enc.make_tokenizer().unwrap().tokenize_into(seq, &mut ids);
    ids
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim(), "shapes differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The 1-d tensor `name` of a fixture file, as f32.
pub fn column(w: &Weights, name: &str) -> Vec<f32> {
    let n = w.shape(name).unwrap()[0];
    w.tensor(name, &[n]).unwrap()
}

/// The 2-d tensor `name` of a fixture file, if it has one.
pub fn table(w: &Weights, name: &str) -> Option<Array2<f32>> {
    let shape = w.shape(name)?.to_vec();
    Some(w.matrix(name, shape[0], shape[1]).unwrap())
}

/// The reference outputs a fixture script wrote beside model `model`
/// (`expected.safetensors`).
pub fn reference(model: &str) -> Weights {
    Weights::open(&model_dir(model).join("expected.safetensors")).unwrap()
}

/// The 2-d tensor `name` of a fixture file.
pub fn matrix(w: &Weights, name: &str) -> Array2<f32> {
    table(w, name).unwrap()
}

/// The token ids `{name}.ids` of a fixture file.
pub fn ids(w: &Weights, name: &str) -> Vec<u32> {
    column(w, &format!("{name}.ids"))
        .into_iter()
        .map(|v| v as u32)
        .collect()
}

/// The tokens' base spans `{name}.starts` .. `{name}.ends` of a fixture file.
pub fn spans(w: &Weights, name: &str) -> Vec<Range<u64>> {
    let starts = column(w, &format!("{name}.starts"));
    let ends = column(w, &format!("{name}.ends"));
    starts
        .into_iter()
        .zip(ends)
        .map(|(s, e)| s as u64..e as u64)
        .collect()
}

/// A copy of fixture directory `model` whose `file` is rewritten by `edit` (which must
/// change it).
pub fn edited(model: &str, file: &str, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(model_dir(model)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let new = edit(text.clone());
    assert_ne!(new, text, "{model}/{file}: the edit changed nothing");
    std::fs::write(&path, new).unwrap();
    dir
}

/// One streamed record: its rows, their tokens' spans and its length.
pub struct StreamedRecord {
    pub name: String,
    pub rows: Array2<f32>,
    pub spans: Vec<Range<u64>>,
    pub len: u64,
}

/// A [`TokenSink`] that keeps every streamed record, checking that tokens arrive in
/// order, once.
#[derive(Default)]
pub struct Streamed {
    pub records: Vec<StreamedRecord>,
}

impl TokenSink for Streamed {
    fn begin_record(&mut self, name: &str, _origin: u64) -> Result<(), ModelError> {
        self.records.push(StreamedRecord {
            name: name.to_string(),
            rows: Array2::zeros((0, 0)),
            spans: Vec::new(),
            len: 0,
        });
        Ok(())
    }

    fn tokens(
        &mut self,
        first: u64,
        spans: &[Range<u64>],
        rows: ArrayView2<f32>,
    ) -> Result<(), ModelError> {
        let rec = self.records.last_mut().unwrap();
        assert_eq!(
            first,
            rec.spans.len() as u64,
            "tokens arrive in order, once"
        );
        rec.rows = if rec.rows.nrows() == 0 {
            rows.to_owned()
        } else {
            concatenate(Axis(0), &[rec.rows.view(), rows]).unwrap()
        };
        rec.spans.extend_from_slice(spans);
        Ok(())
    }

    fn end_record(&mut self, len: u64) -> Result<(), ModelError> {
        self.records.last_mut().unwrap().len = len;
        Ok(())
    }
}

/// A [`RowSink`] that keeps every pooled row.
#[derive(Default)]
pub struct PooledRows(pub Vec<(PooledRegion, Vec<f32>)>);

impl RowSink for &mut PooledRows {
    fn row(&mut self, region: &PooledRegion, values: &[f32]) -> Result<(), ModelError> {
        self.0.push((region.clone(), values.to_vec()));
        Ok(())
    }
}

/// Asserts that fixture model `model` gives the reference's last hidden states (within
/// 1e-4) for the token ids of every record in `names`, and the reference's MLM
/// log-probabilities (within 1e-3) for record `short`.
pub fn check_hidden_states_and_log_probs(model: &str, names: &[String]) {
    let enc = load(&model_dir(model)).unwrap();
    let want = reference(model);
    let mut worst = 0f32;
    for name in names {
        let got = encode_tokens(&enc, &ids(&want, name), &StreamOptions::default()).unwrap();
        let err = max_abs_diff(&got, &matrix(&want, &format!("{name}.hidden")));
        assert!(err <= 1e-4, "{model} {name}: hidden max abs error {err}");
        worst = worst.max(err);
        if name == "short" {
            let lp = matrix(&want, "short.log_probs");
            let head = enc.mlm_head.as_ref().unwrap();
            let err = max_abs_diff(&head.log_probs(got.slice(s![..lp.nrows(), ..])), &lp);
            assert!(err <= 1e-3, "{model}: log-prob max abs error {err}");
        }
    }
    eprintln!("{model}: last hidden states max abs error {worst:e}");
}

/// Asserts that every pooled row of record `name` in `rows` is the mean of the
/// reference's hidden states of the tokens whose first base lies in its region (within
/// 1e-4), with the right token count; returns how many non-empty bins were checked.
pub fn check_bins_pool_the_reference_by_span(
    rows: &PooledRows,
    want: &Weights,
    name: &str,
) -> usize {
    let hidden = matrix(want, &format!("{name}.hidden"));
    let sp = spans(want, name);
    let mut checked = 0;
    for (region, values) in rows.0.iter().filter(|(r, _)| r.chrom == name) {
        // a token belongs to the bin holding its first base
        let members: Vec<usize> = (0..sp.len())
            .filter(|&t| (region.start..region.end).contains(&sp[t].start))
            .collect();
        assert_eq!(
            region.tokens,
            members.len() as u64,
            "{name} {}",
            region.start
        );
        if members.is_empty() {
            continue;
        }
        let mut mean = vec![0f32; hidden.ncols()];
        for &t in &members {
            for (m, v) in mean.iter_mut().zip(hidden.row(t)) {
                *m += v / members.len() as f32;
            }
        }
        let err = mean
            .iter()
            .zip(values)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err <= 1e-4, "{name} bin {}: {err}", region.start);
        checked += 1;
    }
    checked
}

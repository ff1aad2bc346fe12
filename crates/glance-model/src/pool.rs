//! Region pooling: a [`Pooler`] is a [`TokenSink`] that folds token states into one
//! vector per region as tokens stream past, so memory depends on the number of regions
//! open at once, never on the sequence length.
//!
//! A token belongs to a region when its first base lies in the region. Regions are
//! fixed bins (`size`/`step` in bp, per sequence, the last partial bin kept and marked)
//! or a list (BED), emitted in the list's order.

use std::collections::HashMap;
use std::ops::Range;
use std::str::FromStr;

use ndarray::{Array1, ArrayView1, ArrayView2};

use crate::error::ModelError;
use crate::stream::TokenSink;

/// How token states of a region become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the region's tokens.
    Mean,
    /// Element-wise maximum.
    Max,
    /// The state of the region's first token.
    Cls,
    /// Softmax-weighted mean with the model's learned query `q`: weights
    /// `softmax(h_i . q / sqrt(d))`.
    Attention,
}

impl FromStr for Pooling {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mean" => Ok(Pooling::Mean),
            "max" => Ok(Pooling::Max),
            "cls" => Ok(Pooling::Cls),
            "attention" => Ok(Pooling::Attention),
            other => Err(format!(
                "unknown pooling `{other}` (mean, max, cls, attention)"
            )),
        }
    }
}

/// A region to pool: 0-based half-open on a named sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSpec {
    /// Sequence name.
    pub chrom: String,
    /// 0-based start.
    pub start: u64,
    /// 0-based exclusive end.
    pub end: u64,
}

/// Which regions to pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// Bins of `size` bp starting every `step` bp from each sequence's start, while the
    /// start lies in the sequence; bins are clipped at the sequence end.
    Bins {
        /// Bin length in bp.
        size: u64,
        /// Distance between bin starts in bp.
        step: u64,
    },
    /// Explicit regions, pooled and emitted in this order.
    List(Vec<RegionSpec>),
}

/// A finished region as handed to a [`RowSink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PooledRegion {
    /// Sequence name.
    pub chrom: String,
    /// 0-based start.
    pub start: u64,
    /// 0-based exclusive end (clipped to the sequence for bins).
    pub end: u64,
    /// Tokens pooled (0: the vector is all zeros).
    pub tokens: u64,
    /// A bin shorter than the bin size (the last of a sequence).
    pub partial: bool,
}

/// Receives pooled rows in output order.
pub trait RowSink {
    /// One region's vector (`d_model` values).
    fn row(&mut self, region: &PooledRegion, values: &[f32]) -> Result<(), ModelError>;
}

/// Running state of one region.
#[derive(Debug, Clone)]
struct Acc {
    count: u64,
    /// Sum (mean), maximum (max), first row (cls) or weighted sum (attention).
    values: Vec<f32>,
    /// Attention: running max score and normaliser.
    max_score: f32,
    norm: f32,
}

impl Acc {
    fn new(d: usize) -> Self {
        Acc {
            count: 0,
            values: vec![0.0; d],
            max_score: f32::NEG_INFINITY,
            norm: 0.0,
        }
    }

    fn add(&mut self, pooling: Pooling, row: ArrayView1<f32>, query: Option<&Array1<f32>>) {
        let first = self.count == 0;
        self.count += 1;
        match pooling {
            Pooling::Mean => self.values.iter_mut().zip(row).for_each(|(a, v)| *a += v),
            Pooling::Max => self.values.iter_mut().zip(row).for_each(|(a, &v)| {
                *a = if first { v } else { a.max(v) };
            }),
            Pooling::Cls => {
                if first {
                    self.values.iter_mut().zip(row).for_each(|(a, &v)| *a = v);
                }
            }
            Pooling::Attention => {
                let Some(q) = query else { return };
                let score = row.dot(q) / (q.len() as f32).sqrt();
                if score > self.max_score {
                    let scale = (self.max_score - score).exp();
                    self.norm *= scale;
                    self.values.iter_mut().for_each(|a| *a *= scale);
                    self.max_score = score;
                }
                let w = (score - self.max_score).exp();
                self.norm += w;
                self.values
                    .iter_mut()
                    .zip(row)
                    .for_each(|(a, v)| *a += w * v);
            }
        }
    }

    fn finish(mut self, pooling: Pooling) -> Vec<f32> {
        if self.count > 0 {
            match pooling {
                Pooling::Mean => {
                    let n = self.count as f32;
                    self.values.iter_mut().for_each(|a| *a /= n);
                }
                Pooling::Attention => {
                    let z = self.norm;
                    self.values.iter_mut().for_each(|a| *a /= z);
                }
                Pooling::Max | Pooling::Cls => {}
            }
        }
        self.values
    }
}

/// An open region: where it is and its running state; `row` is its index in a list.
struct Open {
    start: u64,
    end: u64,
    row: usize,
    acc: Acc,
}

/// Folds streamed token states into per-region vectors; see the module docs.
pub struct Pooler<'q, S: RowSink> {
    pooling: Pooling,
    regions: Regions,
    query: Option<&'q Array1<f32>>,
    d: usize,
    sink: S,
    /// List mode: region indices per sequence, sorted by start.
    by_chrom: HashMap<String, Vec<usize>>,
    /// List mode: finished rows, emitted in list order by [`Pooler::finish`].
    done: Vec<Option<(PooledRegion, Vec<f32>)>>,
    // Current record.
    chrom: String,
    origin: u64,
    open: Vec<Open>,
    /// Bins: start of the next bin to open. List: next index into `by_chrom[chrom]`.
    next: u64,
}

impl<'q, S: RowSink> Pooler<'q, S> {
    /// A pooler for hidden states of width `d`. Attention pooling needs the model's
    /// learned `query`.
    pub fn new(
        pooling: Pooling,
        regions: Regions,
        query: Option<&'q Array1<f32>>,
        d: usize,
        sink: S,
    ) -> Result<Self, ModelError> {
        if pooling == Pooling::Attention && query.is_none_or(|q| q.len() != d) {
            return Err(ModelError::Options(
                "attention pooling needs a learned pooling query in the model (pool.query); \
                 this model has none"
                    .into(),
            ));
        }
        let mut by_chrom: HashMap<String, Vec<usize>> = HashMap::new();
        match &regions {
            Regions::Bins { size, step } => {
                if *size == 0 || *step == 0 {
                    return Err(ModelError::Options(
                        "bin size and step must be at least 1 bp".into(),
                    ));
                }
            }
            Regions::List(list) => {
                for (i, r) in list.iter().enumerate() {
                    // start == end: an empty region (a row of zeros, `;empty`)
                    if r.end < r.start {
                        return Err(ModelError::Options(format!(
                            "region {} ({}:{}-{}) ends before it starts",
                            i + 1,
                            r.chrom,
                            r.start,
                            r.end
                        )));
                    }
                    by_chrom.entry(r.chrom.clone()).or_default().push(i);
                }
                for idx in by_chrom.values_mut() {
                    idx.sort_by_key(|&i| (list[i].start, i));
                }
            }
        }
        let done = match &regions {
            Regions::List(list) => vec![None; list.len()],
            Regions::Bins { .. } => Vec::new(),
        };
        Ok(Pooler {
            pooling,
            regions,
            query,
            d,
            sink,
            by_chrom,
            done,
            chrom: String::new(),
            origin: 0,
            open: Vec::new(),
            next: 0,
        })
    }

    /// Opens every region starting at or before `pos` (or, at the record end, every
    /// region starting before `limit`).
    fn open_until(&mut self, pos: u64, inclusive: bool) {
        let starts = |s: u64| if inclusive { s <= pos } else { s < pos };
        match &self.regions {
            Regions::Bins { size, step } => {
                while starts(self.next) {
                    self.open.push(Open {
                        start: self.next,
                        end: self.next.saturating_add(*size),
                        row: 0,
                        acc: Acc::new(self.d),
                    });
                    self.next = self.next.saturating_add(*step);
                }
            }
            Regions::List(list) => {
                let Some(idx) = self.by_chrom.get(&self.chrom) else {
                    return;
                };
                while let Some(&i) = idx.get(self.next as usize) {
                    if !starts(list[i].start) {
                        break;
                    }
                    self.open.push(Open {
                        start: list[i].start,
                        end: list[i].end,
                        row: i,
                        acc: Acc::new(self.d),
                    });
                    self.next += 1;
                }
            }
        }
    }

    /// Finishes every open region ending at or before `pos` (all when `pos` is None),
    /// clipping bins to `len`.
    fn close(&mut self, pos: Option<u64>, len: Option<u64>) -> Result<(), ModelError> {
        let mut keep = Vec::with_capacity(self.open.len());
        for o in std::mem::take(&mut self.open) {
            if pos.is_some_and(|p| o.end > p) {
                keep.push(o);
                continue;
            }
            self.emit(o, len)?;
        }
        self.open = keep;
        Ok(())
    }

    fn emit(&mut self, o: Open, len: Option<u64>) -> Result<(), ModelError> {
        let tokens = o.acc.count;
        let values = o.acc.finish(self.pooling);
        match &self.regions {
            Regions::Bins { size, .. } => {
                let end = len.map_or(o.end, |l| glance_seq::bin_end(o.start, *size, l));
                let region = PooledRegion {
                    chrom: self.chrom.clone(),
                    start: o.start,
                    end,
                    tokens,
                    partial: end - o.start < *size,
                };
                self.sink.row(&region, &values)
            }
            Regions::List(list) => {
                let r = &list[o.row];
                let region = PooledRegion {
                    chrom: r.chrom.clone(),
                    start: r.start,
                    end: r.end,
                    tokens,
                    partial: false,
                };
                self.done[o.row] = Some((region, values));
                Ok(())
            }
        }
    }

    /// Emits list regions in list order and returns the row sink. Fails if a listed
    /// region's sequence was not in the input.
    pub fn finish(mut self) -> Result<S, ModelError> {
        if let Regions::List(list) = &self.regions {
            for (i, slot) in self.done.iter().enumerate() {
                if slot.is_none() {
                    let r = &list[i];
                    return Err(ModelError::Options(format!(
                        "region {} ({}:{}-{}): sequence `{}` is not in the input",
                        i + 1,
                        r.chrom,
                        r.start + 1,
                        r.end,
                        r.chrom
                    )));
                }
            }
            for (region, values) in self.done.iter().flatten() {
                self.sink.row(region, values)?;
            }
        }
        Ok(self.sink)
    }
}

impl<S: RowSink> TokenSink for Pooler<'_, S> {
    fn begin_record(&mut self, name: &str, origin: u64) -> Result<(), ModelError> {
        self.chrom.clear();
        self.chrom.push_str(name);
        self.origin = origin;
        self.open.clear();
        self.next = match self.regions {
            Regions::Bins { .. } => origin,
            Regions::List(_) => 0,
        };
        if let Some(idx) = self.by_chrom.get(name) {
            if idx.iter().any(|&i| self.done[i].is_some()) {
                return Err(ModelError::Options(format!(
                    "sequence `{name}` appears twice in the input; regions would be ambiguous"
                )));
            }
        }
        Ok(())
    }

    fn tokens(
        &mut self,
        _first: u64,
        spans: &[Range<u64>],
        rows: ArrayView2<f32>,
    ) -> Result<(), ModelError> {
        for (span, row) in spans.iter().zip(rows.rows()) {
            let pos = span.start;
            self.open_until(pos, true);
            if self.open.iter().any(|o| o.end <= pos) {
                self.close(Some(pos), None)?;
            }
            for o in &mut self.open {
                o.acc.add(self.pooling, row, self.query);
            }
        }
        Ok(())
    }

    fn end_record(&mut self, len: u64) -> Result<(), ModelError> {
        let end = self.origin + len;
        if let Regions::Bins { .. } = self.regions {
            self.open_until(end, false);
        } else {
            self.open_until(u64::MAX, true);
        }
        self.close(None, Some(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    #[derive(Default)]
    struct Rows(Vec<(PooledRegion, Vec<f32>)>);

    impl RowSink for &mut Rows {
        fn row(&mut self, region: &PooledRegion, values: &[f32]) -> Result<(), ModelError> {
            self.0.push((region.clone(), values.to_vec()));
            Ok(())
        }
    }

    /// Token t of a 1-d model has value t (first base t * stride).
    fn feed(p: &mut dyn TokenSink, name: &str, tokens: usize, len: u64, stride: u64) {
        p.begin_record(name, 0).unwrap();
        let rows = Array2::from_shape_fn((tokens, 1), |(t, _)| t as f32);
        let spans: Vec<_> = (0..tokens as u64)
            .map(|t| t * stride..t * stride + 1)
            .collect();
        // In two pieces, as streaming delivers them.
        let cut = tokens / 3;
        p.tokens(0, &spans[..cut], rows.slice(ndarray::s![..cut, ..]))
            .unwrap();
        p.tokens(
            cut as u64,
            &spans[cut..],
            rows.slice(ndarray::s![cut.., ..]),
        )
        .unwrap();
        p.end_record(len).unwrap();
    }

    #[test]
    fn bins_keep_and_mark_the_last_partial_bin() {
        let mut out = Rows::default();
        let bins = Regions::Bins { size: 4, step: 4 };
        let mut p = Pooler::new(Pooling::Mean, bins, None, 1, &mut out).unwrap();
        // 10 bases, k = 3: tokens 0..8 start at bases 0..8.
        feed(&mut p, "s", 8, 10, 1);
        p.finish().unwrap();
        let got: Vec<_> = out
            .0
            .iter()
            .map(|(r, v)| (r.start, r.end, r.tokens, r.partial, v[0]))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 4, 4, false, 1.5),
                (4, 8, 4, false, 5.5),
                (8, 10, 0, true, 0.0)
            ]
        );
    }

    #[test]
    fn overlapping_bins_with_stride_and_all_poolings() {
        for (pooling, want) in [
            (Pooling::Mean, [1.0, 3.0, 3.5]),
            (Pooling::Max, [2.0, 4.0, 4.0]),
            (Pooling::Cls, [0.0, 2.0, 3.0]),
        ] {
            let mut out = Rows::default();
            let bins = Regions::Bins { size: 6, step: 3 };
            // stride 2: token t starts at base 2t; 5 tokens over 10 bases.
            let mut p = Pooler::new(pooling, bins, None, 1, &mut out).unwrap();
            feed(&mut p, "s", 5, 10, 2);
            p.finish().unwrap();
            let got: Vec<f32> = out.0.iter().map(|(_, v)| v[0]).collect();
            // bins [0,6) tokens 0,1,2; [3,9) tokens 2,3,4; [6,10) tokens 3,4; [9,10) none.
            assert_eq!(&got[..3], &want, "{pooling:?}");
            assert_eq!(out.0.len(), 4);
            assert!(out.0[2].0.partial && out.0[3].0.partial && !out.0[1].0.partial);
        }
    }

    #[test]
    fn attention_pooling_is_a_softmax_weighted_mean() {
        let q = array![2.0f32];
        let mut out = Rows::default();
        let list = Regions::List(vec![RegionSpec {
            chrom: "s".into(),
            start: 1,
            end: 3,
        }]);
        let mut p = Pooler::new(Pooling::Attention, list, Some(&q), 1, &mut out).unwrap();
        feed(&mut p, "s", 5, 7, 1);
        p.finish().unwrap();
        // tokens 1 and 2, scores 2*1 and 2*2 (sqrt(d) = 1).
        let (w1, w2) = (2f32.exp(), 4f32.exp());
        let want = (w1 * 1.0 + w2 * 2.0) / (w1 + w2);
        assert!((out.0[0].1[0] - want).abs() < 1e-6);
        assert!(Pooler::new(
            Pooling::Attention,
            Regions::Bins { size: 1, step: 1 },
            None,
            1,
            &mut Rows::default()
        )
        .is_err());
    }

    #[test]
    fn listed_regions_come_out_in_list_order_and_unknown_sequences_fail() {
        let spec = |c: &str, s, e| RegionSpec {
            chrom: c.into(),
            start: s,
            end: e,
        };
        let list = vec![spec("b", 2, 4), spec("a", 0, 2), spec("b", 0, 3)];
        let mut out = Rows::default();
        let mut p = Pooler::new(
            Pooling::Mean,
            Regions::List(list.clone()),
            None,
            1,
            &mut out,
        )
        .unwrap();
        feed(&mut p, "a", 4, 6, 1);
        feed(&mut p, "b", 4, 6, 1);
        p.finish().unwrap();
        let got: Vec<(String, f32)> = out.0.iter().map(|(r, v)| (r.chrom.clone(), v[0])).collect();
        assert_eq!(
            got,
            vec![("b".into(), 2.5), ("a".into(), 0.5), ("b".into(), 1.0)]
        );

        let mut list2 = list;
        list2.push(spec("zz", 0, 1));
        let mut out = Rows::default();
        let mut p = Pooler::new(Pooling::Mean, Regions::List(list2), None, 1, &mut out).unwrap();
        feed(&mut p, "a", 4, 6, 1);
        feed(&mut p, "b", 4, 6, 1);
        let err = p.finish().err().unwrap().to_string();
        assert!(err.contains("`zz` is not in the input"), "{err}");
    }
}

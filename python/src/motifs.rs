//! `glance.Motifs`: a motif set (a file, or the bundled JASPAR set) scanned as
//! `glance scan` scans (FIMO's hits and q-values) and scored over bins as `glance score`
//! scores. The work is glance-workflow's `collect_hits` and `score_inputs`.

use std::path::PathBuf;

use glance::model::ndarray::Array3;
use glance::motif::region::{RegionTables, DEFAULT_MU_PVALUE, DEFAULT_TAU};
use glance::motif::scan::driver::DEFAULT_CHUNK;
use glance::motif::{bundled, read_motifs, MotifFile};
use glance::workflow::{
    collect_hits, score_inputs, HitFormat, MotifSet, MotifsConfig, ScanHits, ScanSettings,
    ScoreRegions, ScoredRegion,
};
use numpy::PyArray3;
use pyo3::prelude::*;

use crate::errors;
use crate::inputs::{compute, input};
use crate::tables::Table;

/// A motif set, read once; `scan` and `score` compile it for their thresholds.
#[pyclass(module = "glance", frozen)]
pub struct Motifs {
    file: MotifFile,
    label: String,
}

impl Motifs {
    /// The settings of `glance scan`/`glance score` for these options.
    fn config(&self, thresh: f64, background: &str, norc: bool) -> MotifsConfig {
        MotifsConfig {
            file: None,
            background: background.to_string(),
            thresh,
            norc,
            ..MotifsConfig::default()
        }
    }

    /// The set compiled for `cfg` (`full`: every p-value, as region scores need).
    fn compile(&self, cfg: &MotifsConfig, full: bool) -> PyResult<MotifSet> {
        MotifSet::compile(&self.file, self.label.clone(), cfg, full).map_err(errors::workflow)
    }
}

#[pymethods]
impl Motifs {
    /// Reads a motif file (MEME, JASPAR .jaspar/.pfm, TRANSFAC or HOMER .motif, detected
    /// from its contents); without `path`, the bundled JASPAR 2026 CORE vertebrates
    /// non-redundant set.
    #[staticmethod]
    #[pyo3(signature = (path=None))]
    fn load(path: Option<PathBuf>) -> PyResult<Motifs> {
        match path {
            Some(p) => {
                let label = p.display().to_string();
                let file = read_motifs(&p).map_err(|e| errors::motif(&label, e))?;
                Ok(Motifs { file, label })
            }
            None => {
                let file = bundled::jaspar().map_err(|e| errors::motif(bundled::JASPAR_NAME, e))?;
                Ok(Motifs {
                    file,
                    label: bundled::JASPAR_NAME.to_string(),
                })
            }
        }
    }

    /// The motif ids, in file order.
    #[getter]
    fn ids(&self) -> Vec<String> {
        self.file.motifs.iter().map(|m| m.id.clone()).collect()
    }

    /// The motifs' alternative names (e.g. the TF), in file order.
    #[getter]
    fn alt_ids(&self) -> Vec<String> {
        self.file.motifs.iter().map(|m| m.alt_id.clone()).collect()
    }

    fn __len__(&self) -> usize {
        self.file.motifs.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "<glance.Motifs: {} motifs from {}>",
            self.file.motifs.len(),
            self.label
        )
    }

    /// FIMO-identical motif sites (p <= thresh) on both strands (`norc=True`: the given
    /// strand only), with q-values over every test, as `glance scan` writes them. Returns
    /// a pandas DataFrame with FIMO's columns (motif_id, motif_alt_id, sequence_name,
    /// start, stop (1-based, inclusive), strand, score, p-value, q-value,
    /// matched_sequence), or a dict of numpy arrays when pandas is not installed.
    /// `background`: `--nrdb--`, `--uniform--`, `--motif--` (the file's own) or a MEME
    /// background file. `threads`: worker threads (default: every core).
    #[pyo3(signature = (seq_or_path, thresh=1e-4, background="--nrdb--", norc=false, threads=None))]
    fn scan<'py>(
        &self,
        py: Python<'py>,
        seq_or_path: &Bound<'py, PyAny>,
        thresh: f64,
        background: &str,
        norc: bool,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = input(seq_or_path)?;
        let cfg = self.config(thresh, background, norc);
        let settings = ScanSettings {
            format: HitFormat::Tsv,
            text: false,
            qv_thresh: false,
            fimo_pi0: false,
            chunk_size: DEFAULT_CHUNK,
            command_line: String::new(),
        };
        let (set, found) = compute(py, threads, || {
            let set = self.compile(&cfg, false)?;
            let found = collect_hits(&set, &[input], &settings).map_err(errors::workflow)?;
            Ok((set, found))
        })?;
        hits_table(py, &set, found)
    }

    /// Region motif scores over bins of `bin` bp every `step` bp (default: `bin`), as
    /// `glance score` computes them. Returns `(regions, scores)`: the regions (chrom,
    /// start, end (0-based, half-open), name) as a DataFrame (or dict of numpy arrays)
    /// and a float32 array `[regions, motifs, 2]` of affinity (softmax-pooled score in
    /// bits at temperature `tau`, default 4) and occupancy (expected bound sites at the
    /// potential of p-value `mu_pvalue`, default 5e-4), the same values as PREFIX.npy.
    #[pyo3(signature = (seq_or_path, bin=1000, step=None, thresh=1e-4, background="--nrdb--",
                        norc=false, tau=None, mu_pvalue=None, threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn score<'py>(
        &self,
        py: Python<'py>,
        seq_or_path: &Bound<'py, PyAny>,
        bin: u64,
        step: Option<u64>,
        thresh: f64,
        background: &str,
        norc: bool,
        tau: Option<f64>,
        mu_pvalue: Option<f64>,
        threads: Option<usize>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray3<f32>>)> {
        let input = input(seq_or_path)?;
        let cfg = MotifsConfig {
            tau: tau.unwrap_or(DEFAULT_TAU),
            mu_pvalue: mu_pvalue.unwrap_or(DEFAULT_MU_PVALUE),
            ..self.config(thresh, background, norc)
        };
        let regions = ScoreRegions::Bins {
            size: bin,
            step: step.unwrap_or(bin),
        };
        let n_motifs = self.file.motifs.len();
        let (rows, values) = compute(py, threads, || {
            let settings = cfg.region_settings();
            settings
                .validate()
                .map_err(|e| errors::value(e.to_string()))?;
            let set = self.compile(&cfg, true)?;
            let tables = RegionTables::new(&set.scanner, &settings)
                .map_err(|e| errors::value(e.to_string()))?;
            let rows = score_inputs(&set.scanner, &tables, &[input], &regions)
                .map_err(errors::workflow)?;
            let values: Vec<f32> = rows.iter().flat_map(ScoredRegion::values).collect();
            Ok((rows, values))
        })?;
        let shape = (rows.len(), n_motifs, 2);
        let array = Array3::from_shape_vec(shape, values)
            .map_err(|e| errors::internal(format!("region scores: {e}")))?;
        let mut table = Table::new(py);
        table.labels("chrom", rows.iter().map(|r| r.chrom.as_str()))?;
        table.numbers("start", rows.iter().map(|r| r.start as i64).collect());
        table.numbers("end", rows.iter().map(|r| r.end as i64).collect());
        table.text("name", rows.iter().map(|r| r.name.as_str()))?;
        Ok((table.finish()?, PyArray3::from_owned_array(py, array)))
    }
}

/// The hits as FIMO's columns.
fn hits_table<'py>(
    py: Python<'py>,
    set: &MotifSet,
    found: ScanHits,
) -> PyResult<Bound<'py, PyAny>> {
    let motifs = set.scanner.motifs();
    let hits = &found.hits;
    let motif = |h: &glance::motif::Hit| &motifs[h.motif as usize].motif;
    let mut table = Table::new(py);
    table.labels("motif_id", hits.iter().map(|h| motif(h).id.as_str()))?;
    table.labels(
        "motif_alt_id",
        hits.iter().map(|h| motif(h).alt_id.as_str()),
    )?;
    let names = &found.names;
    table.labels(
        "sequence_name",
        hits.iter().map(|h| names[h.record as usize].as_str()),
    )?;
    table.numbers("start", hits.iter().map(|h| h.start as i64).collect());
    table.numbers("stop", hits.iter().map(|h| h.stop as i64).collect());
    table.labels(
        "strand",
        hits.iter().map(|h| if h.reverse { "-" } else { "+" }),
    )?;
    table.numbers("score", hits.iter().map(|h| h.score).collect());
    table.numbers("p-value", hits.iter().map(|h| h.pvalue).collect());
    table.numbers("q-value", hits.iter().map(|h| h.qvalue).collect());
    let matched = |h: &glance::motif::Hit| String::from_utf8_lossy(&h.matched).into_owned();
    table.text("matched_sequence", hits.iter().map(matched))?;
    table.finish()
}

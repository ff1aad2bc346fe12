//! The pipeline configuration: a TOML file (serde, unknown keys rejected with the key's
//! name and line) whose every key is also a `glance run` option. [`EXAMPLE`] is the
//! commented example that `glance config --example` prints; it parses to the defaults.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use glance_motif::region::{Potential, RegionSettings, DEFAULT_MU_PVALUE, DEFAULT_TAU};
use glance_seq::Region;

use crate::error::WorkflowError;
use crate::input::read_regions;

/// Default piece length for sharding: 1 Mb.
pub const DEFAULT_SHARD_SPAN: u64 = 1_000_000;

/// A whole `glance run` configuration. Every field has a default, so an empty file is a
/// valid configuration (inputs may then come from the command line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Input FASTA/FASTQ files (plain, gzip or BGZF). Relative paths are taken relative
    /// to the directory the command runs in.
    pub inputs: Vec<PathBuf>,
    /// Output directory.
    pub outdir: Option<PathBuf>,
    /// Worker threads (`None`: all cores).
    pub threads: Option<usize>,
    /// Print nothing but errors.
    pub quiet: bool,
    /// Seconds between plain log lines when stderr is not a terminal.
    pub log_interval: f64,
    /// Process only shard `I/N` (1-based) of the input; see the `sharding` module.
    pub shard: Option<Shard>,
    /// Records are cut into pieces of this many bases for sharding (0: whole records),
    /// so that one long chromosome spreads over every shard; see the `sharding` module.
    pub shard_span: u64,
    /// The encoder.
    pub model: ModelConfig,
    /// The regions embeddings and motif scores are pooled over.
    pub regions: RegionsConfig,
    /// Motif scanning and region motif scores.
    pub motifs: MotifsConfig,
    /// Which outputs to produce.
    pub outputs: OutputsConfig,
    /// Variant effects of a VCF/BCF against the inputs.
    pub variants: VariantsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            inputs: Vec::new(),
            outdir: None,
            threads: None,
            quiet: false,
            log_interval: 10.0,
            shard: None,
            shard_span: DEFAULT_SHARD_SPAN,
            model: ModelConfig::default(),
            regions: RegionsConfig::default(),
            motifs: MotifsConfig::default(),
            outputs: OutputsConfig::default(),
            variants: VariantsConfig::default(),
        }
    }
}

/// `[model]`: which encoder and how sequences are cut into jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Model directory (native glance model or Hugging Face BERT/DNABERT/Longformer);
    /// `None`: `$GLANCE_MODEL`, else the default model compiled into glance (see
    /// [`glance_model::DefaultModel`]).
    pub path: Option<PathBuf>,
    /// Attention pattern overrides: `SPEC` for every layer or `LAYER=SPEC`.
    pub patterns: Vec<String>,
    /// Encoder arithmetic: `f32`, or `bf16` (bf16 GEMM inputs with f32 accumulation,
    /// where the CPU has AVX512_BF16; f32 elsewhere, with a warning).
    pub precision: String,
    /// Core tokens per parallel job (models with relative or no positions).
    pub chunk_tokens: usize,
    /// Tokens shared by consecutive windows of learned-position models.
    pub overlap: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            path: None,
            patterns: Vec::new(),
            precision: "f32".into(),
            chunk_tokens: 2048,
            overlap: 0,
        }
    }
}

/// `[regions]`: fixed bins along every sequence, and which parts of the inputs are
/// read at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegionsConfig {
    /// Bin length in bp.
    pub bin: u64,
    /// Distance between bin starts in bp (`None`: the bin length).
    pub step: Option<u64>,
    /// Pooling of token states: mean, max, cls or attention.
    pub pool: String,
    /// Only these regions of every input, `chr:start-end` (1-based inclusive, as
    /// samtools), each read through the input's index as a record named so, as
    /// `samtools faidx` writes it (`--region`). Empty: whole inputs.
    pub region: Vec<String>,
    /// Only the regions of this BED file (0-based half-open), read as `region`'s are
    /// (`--regions`).
    pub bed: Option<PathBuf>,
}

impl Default for RegionsConfig {
    fn default() -> Self {
        RegionsConfig {
            bin: 1000,
            step: None,
            pool: "mean".to_string(),
            region: Vec::new(),
            bed: None,
        }
    }
}

impl RegionsConfig {
    /// The step, defaulting to the bin length.
    pub fn step(&self) -> u64 {
        self.step.unwrap_or(self.bin)
    }

    /// The regions the inputs are restricted to (`region` or `bed`), or `None` for
    /// whole inputs.
    pub fn restrict(&self) -> Result<Option<Vec<Region>>, WorkflowError> {
        read_regions(&self.region, self.bed.as_deref()).map_err(|e| match e {
            WorkflowError::Config(m) => WorkflowError::Config(format!("regions.region: {m}")),
            other => other,
        })
    }
}

/// `[motifs]`: the motif set and FIMO's scanning options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MotifsConfig {
    /// Motif file (MEME, JASPAR, TRANSFAC, HOMER); `None`: the bundled JASPAR set.
    pub file: Option<PathBuf>,
    /// Background: `--nrdb--`, `--uniform--`, `--motif--` or a MEME background file.
    pub background: String,
    /// p-value threshold for hits (or the q-value threshold with `qv_thresh`).
    pub thresh: f64,
    /// Apply `thresh` to q-values.
    pub qv_thresh: bool,
    /// Scan the given strand only.
    pub norc: bool,
    /// Motif pseudocount (FIMO `--motif-pseudo`).
    pub motif_pseudo: f64,
    /// Temperature of the attention-pooled region affinity, in bits (windows weigh
    /// `2^(s / tau)`).
    pub tau: f64,
    /// Chemical potential of the region occupancy in bits; `None`: from `mu_pvalue`.
    pub mu: Option<f64>,
    /// p-value whose score sets each motif's chemical potential (when `mu` is unset).
    pub mu_pvalue: f64,
    /// Core bases per scanner chunk.
    pub chunk_size: usize,
}

impl MotifsConfig {
    /// The region score settings of `tau`, `mu` and `mu_pvalue`.
    pub fn region_settings(&self) -> RegionSettings {
        RegionSettings {
            tau: self.tau,
            mu: match self.mu {
                Some(bits) => Potential::Bits(bits),
                None => Potential::PValue(self.mu_pvalue),
            },
        }
    }
}

impl Default for MotifsConfig {
    fn default() -> Self {
        MotifsConfig {
            file: None,
            background: "--nrdb--".to_string(),
            thresh: 1e-4,
            qv_thresh: false,
            norc: false,
            motif_pseudo: 0.1,
            tau: DEFAULT_TAU,
            mu: None,
            mu_pvalue: DEFAULT_MU_PVALUE,
            chunk_size: 1 << 20,
        }
    }
}

/// `[outputs]`: which stages run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputsConfig {
    /// embeddings.npy (needs a model).
    pub embeddings: bool,
    /// hits.tsv (FIMO columns, q-values over all tests).
    pub hits: bool,
    /// motif_scores.npy and motif_scores.tsv.
    pub motif_scores: bool,
    /// bigWig tracks in `tracks/`: the region affinity of `track_motifs` and the first
    /// principal components of the embeddings (see [`crate::tracks`]).
    pub tracks: bool,
    /// The same tracks as bedGraph text.
    pub bedgraph: bool,
    /// Motif ids given tracks (empty: the 10 with the most hits).
    pub track_motifs: Vec<String>,
    /// report.html (see [`crate::report`]).
    pub report: bool,
}

impl Default for OutputsConfig {
    fn default() -> Self {
        OutputsConfig {
            embeddings: true,
            hits: true,
            motif_scores: true,
            tracks: false,
            bedgraph: false,
            track_motifs: Vec::new(),
            report: true,
        }
    }
}

/// `[variants]`: `glance variants` inside the run, the inputs serving as the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VariantsConfig {
    /// VCF (plain, gzip or BGZF) or BCF whose ALT alleles are scored; `None`: no
    /// variant effects.
    pub vcf: Option<PathBuf>,
    /// Bases of the window whose embedding is compared (with the run's model).
    pub window: u64,
    /// p-value threshold of a motif site (with the run's motifs).
    pub thresh: f64,
    /// Count and skip alleles whose REF does not match the inputs (default: fail).
    pub skip_ref_mismatch: bool,
}

impl Default for VariantsConfig {
    fn default() -> Self {
        VariantsConfig {
            vcf: None,
            window: 1000,
            thresh: 1e-4,
            skip_ref_mismatch: false,
        }
    }
}

/// Shard `index/count` (1-based index); which records and pieces of records it owns is
/// the `sharding` module's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole input as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };
}

impl FromStr for Shard {
    type Err = WorkflowError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || WorkflowError::Config(format!("shard `{s}`: expected I/N with 1 <= I <= N"));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Serialize for Shard {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// Parses TOML text; errors name the offending key and its line.
    pub fn from_toml(text: &str) -> Result<Config, WorkflowError> {
        toml::from_str(text).map_err(|e| WorkflowError::Config(one_line(&e.to_string())))
    }

    /// Parses JSON text with the TOML file's keys (a library caller's configuration,
    /// e.g. a Python dict); errors name the offending key.
    pub fn from_json(text: &str) -> Result<Config, WorkflowError> {
        serde_json::from_str(text).map_err(|e| WorkflowError::Config(one_line(&e.to_string())))
    }

    /// Reads a TOML file; errors start with the path.
    pub fn read(path: &Path) -> Result<Config, WorkflowError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| WorkflowError::Config(format!("{}: cannot read: {e}", path.display())))?;
        Config::from_toml(&text).map_err(|e| match e {
            WorkflowError::Config(m) => WorkflowError::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Checks values that serde cannot (ranges, pooling names, pattern syntax).
    pub fn validate(&self) -> Result<(), WorkflowError> {
        let err = |m: String| Err(WorkflowError::Config(m));
        if self.regions.bin == 0 {
            return err("regions.bin must be at least 1".into());
        }
        if self.regions.step == Some(0) {
            return err("regions.step must be at least 1".into());
        }
        if let Err(e) = self.regions.pool.parse::<glance_model::Pooling>() {
            return err(format!("regions.pool: {e}"));
        }
        if !self.regions.region.is_empty() && self.regions.bed.is_some() {
            return err("regions.region and regions.bed: give one or the other".into());
        }
        for r in &self.regions.region {
            if let Err(e) = r.parse::<Region>() {
                return err(format!("regions.region: {e}"));
            }
        }
        for spec in &self.model.patterns {
            let text = match spec.split_once('=') {
                Some((layer, text)) if layer.chars().all(|c| c.is_ascii_digit()) => text,
                _ => spec.as_str(),
            };
            if let Err(e) = text.parse::<glance_attn::Pattern>() {
                return err(format!("model.patterns: `{spec}`: {e}"));
            }
        }
        if let Err(e) = self.model.precision.parse::<glance_model::Precision>() {
            return err(format!("model.precision: {e}"));
        }
        if self.model.chunk_tokens == 0 {
            return err("model.chunk_tokens must be at least 1".into());
        }
        if !(self.motifs.thresh > 0.0 && self.motifs.thresh <= 1.0) {
            return err(format!(
                "motifs.thresh {} must lie in (0, 1]",
                self.motifs.thresh
            ));
        }
        if let Err(e) = self.motifs.region_settings().validate() {
            return err(format!("motifs: {e}"));
        }
        if self.motifs.chunk_size == 0 {
            return err("motifs.chunk_size must be at least 1".into());
        }
        if self.variants.window == 0 {
            return err("variants.window must be at least 1".into());
        }
        if !(self.variants.thresh > 0.0 && self.variants.thresh <= 1.0) {
            return err(format!(
                "variants.thresh {} must lie in (0, 1]",
                self.variants.thresh
            ));
        }
        if self.threads == Some(0) {
            return err("threads must be at least 1".into());
        }
        if self.log_interval.is_nan() || self.log_interval <= 0.0 {
            return err("log_interval must be > 0".into());
        }
        Ok(())
    }
}

/// Serialises a configuration as TOML (for `glance config --check`).
pub fn to_toml(config: &Config) -> Result<String, WorkflowError> {
    toml::to_string(config).map_err(|e| WorkflowError::Config(e.to_string()))
}

/// Folds a multi-line error (toml prints the offending line under the message) into one.
fn one_line(msg: &str) -> String {
    let mut parts = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|");
    let mut out = parts.next().unwrap_or_default().to_string();
    for p in parts {
        out.push_str("; ");
        out.push_str(p);
    }
    out
}

/// The commented example printed by `glance config --example`. It parses to
/// [`Config::default`] plus the example inputs and outdir.
pub const EXAMPLE: &str = r#"# glance run configuration (TOML). Every key is optional and is also a
# `glance run` option: command-line options override the file.
#   glance run --config glance.toml
#   glance run genome.fa.gz --config glance.toml --outdir out --shard 2/8

# Input FASTA/FASTQ files (plain, gzip or BGZF), read once each, in this order.
inputs = ["genome.fa.gz"]
# Output directory: regions.bed, embeddings.npy, motif_scores.npy, motif_scores.tsv,
# hits.tsv, tracks/ (if asked for) and manifest.json (written last).
outdir = "glance-out"
# Worker threads (leave out for all cores).
# threads = 8
# Print nothing but errors.
quiet = false
# Seconds between progress lines when stderr is not a terminal.
log_interval = 10.0
# Process only shard I of N; gather the N output directories with `glance merge`.
# shard = "1/4"
# Records are cut into pieces of this many bases, dealt to the shards in turn (piece j
# of record r goes to shard (r + j) % N + 1), so one long chromosome spreads over every
# shard; 0 keeps records whole. Results do not depend on it.
shard_span = 1000000

[model]
# Model directory; leave out for the bundled default model (GLANCE_MODEL overrides).
# path = "models/default"
# Attention pattern overrides: "SPEC" for every layer or "LAYER=SPEC" (0-based).
patterns = []
# Encoder arithmetic: "f32", or "bf16" (bf16 GEMM inputs, f32 accumulation; CPUs with
# AVX512_BF16, others run f32 with a warning).
precision = "f32"
# Core tokens per parallel job (relative/no positions).
chunk_tokens = 2048
# Tokens shared by consecutive windows (learned positions: BERT/DNABERT, Longformer).
overlap = 0

[regions]
# Bins of `bin` bp every `step` bp along each sequence (the last one clipped).
bin = 1000
# step = 1000
# Pooling of token states: mean, max, cls or attention.
pool = "mean"
# Only these regions of every input (1-based inclusive, as samtools; the inputs must be
# plain or bgzipped FASTA, their .fai/.gzi used or built in memory). Each is read as a
# record named "chr:start-end", as `samtools faidx` writes it: bins, hits and scores
# are positions within it, and variants outside every region are not scored.
region = []
# Or the regions of a BED file (0-based half-open).
# bed = "peaks.bed"

[motifs]
# Motif file (MEME, JASPAR, TRANSFAC, HOMER); leave out for the bundled JASPAR 2026
# CORE vertebrates non-redundant set.
# file = "motifs.meme"
# Background: "--nrdb--", "--uniform--", "--motif--" or a MEME background file.
background = "--nrdb--"
# Hits are windows with p-value <= thresh (q-value with qv_thresh = true).
thresh = 1e-4
qv_thresh = false
# Scan the given strand only.
norc = false
# Motif pseudocount (FIMO --motif-pseudo).
motif_pseudo = 0.1
# Region scores (docs/motifs.md): temperature in bits of the attention-pooled affinity
# tau*log2(sum 2^(s/tau)). tau used to be in natural units (e^(s/tau)): an old tau = t
# is t*0.6931471805599453 (t*ln 2) here.
tau = 4.0
# Chemical potential in bits of the occupancy sum 1/(1+2^(mu-s)); by default each
# motif's is the score whose p-value is mu_pvalue.
# mu = 8.0
mu_pvalue = 5e-4
# Core bases per scanner chunk.
chunk_size = 1048576

[outputs]
# Stages to run: embeddings.npy, hits.tsv, motif_scores.npy + motif_scores.tsv.
embeddings = true
hits = true
motif_scores = true
# Genome-browser tracks in tracks/ (bigWig; bedGraph with bedgraph = true): the region
# affinity of track_motifs (empty: the 10 motifs with the most hits) and the first 3
# principal components of the embeddings. Sharded runs leave them to `glance merge`.
tracks = false
bedgraph = false
track_motifs = []
# report.html: a self-contained page (inputs, model, stage times, top motifs with logos,
# hit density, affinity heatmap, embedding PCA, links to every output).
report = true

[variants]
# A VCF/BCF scored against the inputs as `glance variants` does (motif gain/loss with
# the motifs above, embedding shift and likelihood ratio with the model above; no
# model when outputs.embeddings is false): variants.vcf.gz (+ .tbi), variants.motifs.tsv,
# variants.variants.tsv. Each shard scores the variants on the pieces it owns.
# vcf = "calls.vcf.gz"
# Bases of the window whose embedding is compared.
window = 1000
# p-value threshold of a motif site.
thresh = 1e-4
# Count and skip alleles whose REF does not match the inputs (default: fail).
skip_ref_mismatch = false
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_to_the_defaults() {
        let c = Config::from_toml(EXAMPLE).unwrap();
        let expected = Config {
            inputs: vec!["genome.fa.gz".into()],
            outdir: Some("glance-out".into()),
            ..Config::default()
        };
        assert_eq!(c, expected);
        c.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let e = Config::from_toml("inputs = []\n[motifs]\nthreshold = 0.1\n").unwrap_err();
        let m = e.to_string();
        assert!(m.contains("threshold") && m.contains("line 3"), "{m}");
        assert!(!m.contains('\n'), "{m}");
        let e = Config::from_toml("[model]\nchunk_tokens = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("chunk_tokens"), "{e}");
    }

    #[test]
    fn shards_parse() {
        let s: Shard = "2/3".parse().unwrap();
        assert_eq!(s.to_string(), "2/3");
        for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let c = Config::from_toml("shard = \"3/4\"").unwrap();
        assert_eq!(c.shard, Some(Shard { index: 3, count: 4 }));
        assert!(Config::from_toml("shard = \"5/4\"").is_err());
    }

    #[test]
    fn validation_names_the_key() {
        let mut c = Config::default();
        c.regions.pool = "median".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("regions.pool"));
        let mut c = Config::default();
        c.model.precision = "fp8".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("model.precision"));
        let c = Config::from_toml("[model]\nprecision = \"bf16\"").unwrap();
        assert_eq!(c.model.precision, "bf16");
        let mut c = Config::default();
        c.model.patterns = vec!["sliding:q=3".into()];
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("model.patterns"));
    }
}

//! `glance model inspect DIR`: what a model directory holds — architecture, layers and
//! their attention patterns, parameter count, receptive field, tokenizer; `glance model
//! sweep` (module `model_sweep`): embedding change and speed per window size.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use glance::model::{load, Encoder, RunMode, Segmentation};

use crate::global::GlobalArgs;

/// Arguments of `glance model`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance model inspect models/default      # family, tokenizer, reach, MLM head
  glance model inspect ~/hf/dnabert-6      # a Hugging Face directory, unchanged
  glance model inspect ~/hf/bert-sharded   # sharded safetensors, pytorch_model.bin
  glance model sweep ~/hf/nt-v2-50m regions.fa --windows 64,128,256,512 -o nt_sweep")]
pub struct ModelArgs {
    /// What to do with a model.
    #[command(subcommand)]
    pub action: ModelAction,
}

/// `glance model` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelAction {
    /// Print a model's architecture, parameter count, receptive field and tokenizer.
    Inspect {
        /// Model directory (native glance, or a Hugging Face BERT/DNABERT, Longformer,
        /// ModernBERT or Nucleotide Transformer checkpoint).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Measure how region embeddings change with less context, and how fast, per window
    /// size: writes a TSV (and a PNG plot with the `plot` feature).
    Sweep(super::model_sweep::SweepArgs),
}

/// Runs `glance model`.
pub fn run(args: &ModelArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    match &args.action {
        ModelAction::Inspect { dir } => {
            let encoder =
                load(dir).with_context(|| format!("{}: cannot load model", dir.display()))?;
            print!("{}", describe(&encoder)?);
            Ok(())
        }
        ModelAction::Sweep(sweep) => super::model_sweep::run(sweep, global),
    }
}

/// The inspection report.
fn describe(e: &Encoder) -> anyhow::Result<String> {
    use std::fmt::Write;
    let mut s = String::new();
    let d = e.d_model();
    let first = e.layers.first();
    let heads = first.map_or(0, |l| l.attention.heads);
    writeln!(s, "architecture: {}", e.architecture.name())?;
    writeln!(s, "parameters:   {}", group(e.parameters()))?;
    writeln!(s, "d_model:      {d}")?;
    writeln!(s, "heads:        {heads} (d_head {})", d / heads.max(1))?;
    if let Some(l) = first {
        writeln!(
            s,
            "ffn:          {} hidden, {:?}{}",
            l.ffn.up.output(),
            l.ffn.activation,
            if l.ffn.gate.is_some() { " (gated)" } else { "" }
        )?;
        writeln!(s, "norm:         {:?}-LN", l.placement)?;
    }
    let positions = if let Some(max) = e.embeddings.max_tokens() {
        format!("learned absolute ({max} positions)")
    } else if first.is_some_and(|l| l.attention.rope.is_some()) {
        "rope".to_string()
    } else if first.is_some_and(|l| l.attention.alibi.is_some()) {
        "alibi".to_string()
    } else {
        "none".to_string()
    };
    writeln!(s, "positions:    {positions}")?;
    writeln!(
        s,
        "final norm:   {}",
        if e.final_norm.is_some() { "yes" } else { "no" }
    )?;
    writeln!(
        s,
        "pool query:   {}",
        if e.pool_query.is_some() {
            "yes (attention pooling)"
        } else {
            "no"
        }
    )?;
    writeln!(
        s,
        "MLM head:     {}",
        match &e.mlm_head {
            Some(h) => format!("yes (log-probabilities over {} ids)", h.vocab_size()),
            None => "no".to_string(),
        }
    )?;
    writeln!(s, "layers:       {}", e.layers.len())?;
    for (i, l) in e.layers.iter().enumerate() {
        let reach = l
            .attention
            .pattern
            .local_radius()
            .map_or("unbounded".to_string(), |r| format!("±{r} tokens"));
        let global = if l.attention.global.is_some() {
            ", global q/k/v"
        } else {
            ""
        };
        writeln!(s, "  {i}: {} (reach {reach}{global})", l.attention.pattern)?;
    }
    let t = &e.tokenizer;
    let receptive = match e.receptive_radius() {
        Some(r) => format!("±{r} tokens (±{} bp)", r * t.stride + t.k.saturating_sub(1)),
        None => "unbounded".to_string(),
    };
    writeln!(s, "receptive field: {receptive}")?;
    let mode = match e.run_mode()? {
        RunMode::Chunked { halo } => format!("chunked streaming, halo {halo} tokens"),
        RunMode::Windows { tokens, cls, sep } => {
            let name = |id: u32| e.vocab.token(id).map_or(id.to_string(), |t| t.into_owned());
            let sep = sep.map_or(String::new(), |id| format!(" {}", name(id)));
            format!(
                "windows of {tokens} tokens wrapped in {} ...{sep}",
                name(cls)
            )
        }
        RunMode::Whole => "whole records (unbounded attention reach)".to_string(),
    };
    writeln!(s, "runs as:      {mode}")?;
    let sp = e.vocab.special();
    let id = |v: Option<u32>| v.map_or("none".to_string(), |v| v.to_string());
    let unknown = e
        .vocab
        .token(sp.unk)
        .map_or(String::new(), |name| format!(" ({name})"));
    let kind = match &e.segmentation {
        Segmentation::Grid => format!("k={} stride={} canonical={}", t.k, t.stride, t.canonical),
        Segmentation::LongestMatch => format!("k={} plus single nucleotides, no grid", t.k),
        Segmentation::Bpe(bpe) => {
            let (piece, lookahead) = bpe.pieces();
            format!("BPE, tokens of varying length, records cut in pieces of {piece} bases + {lookahead} look-ahead")
        }
    };
    writeln!(
        s,
        "tokenizer:    {}: {kind} vocab={} tokens ([PAD]={} non-ACGT={}{unknown} [CLS]={} [SEP]={} [MASK]={})",
        e.tokenizer_source,
        e.vocab.len(),
        id(sp.pad),
        sp.unk,
        id(sp.cls),
        id(sp.sep),
        id(sp.mask)
    )?;
    Ok(s)
}

/// `1234567` as `1,234,567`.
fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

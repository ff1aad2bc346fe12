//! Importers for Hugging Face checkpoints as written by `save_pretrained`
//! (config.json + a checkpoint in any layout `weights` reads + the tokenizer file),
//! read unchanged: [`bert`] (BertModel / BertForMaskedLM, DNABERT included),
//! [`longformer`] (LongformerModel / LongformerForMaskedLM) and [`modernbert`]
//! (ModernBertModel / ModernBertForMaskedLM). Tokenizers: a DNABERT-layout vocab.txt, or
//! a single-nucleotide `tokenizer.json` ([`tokenizer_json`]).

pub mod bert;
pub(crate) mod hf;
pub mod longformer;
pub mod modernbert;
pub mod tokenizer_json;

pub use hf::HfConfig;

//! Importers for Hugging Face checkpoints as written by `save_pretrained`
//! (config.json + a checkpoint in any layout `weights` reads + the tokenizer file),
//! read unchanged: [`bert`] (BertModel / BertForMaskedLM, DNABERT included),
//! [`longformer`] (LongformerModel / LongformerForMaskedLM), [`modernbert`]
//! (ModernBertModel / ModernBertForMaskedLM) and [`esm`] (Nucleotide Transformer v1 and
//! v2). Tokenizers: a DNABERT-layout vocab.txt, a single-nucleotide `tokenizer.json`
//! ([`tokenizer_json`]), or Nucleotide Transformer's EsmTokenizer vocab.txt.

pub mod bert;
pub mod esm;
pub(crate) mod hf;
pub mod longformer;
pub mod modernbert;
pub mod tokenizer_json;

pub use hf::HfConfig;

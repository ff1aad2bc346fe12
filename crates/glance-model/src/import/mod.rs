//! Importers for Hugging Face checkpoints as written by `save_pretrained`
//! (config.json + a checkpoint in any layout `weights` reads + a DNABERT-layout vocab.txt), read unchanged:
//! [`bert`] (BertModel / BertForMaskedLM, DNABERT included) and [`longformer`]
//! (LongformerModel / LongformerForMaskedLM).

pub mod bert;
pub(crate) mod hf;
pub mod longformer;

pub use hf::HfConfig;

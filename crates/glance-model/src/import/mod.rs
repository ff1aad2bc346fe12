//! Importers for Hugging Face checkpoints as written by `save_pretrained`
//! (config.json + a checkpoint in any layout `weights` reads + a DNABERT-layout vocab.txt), read unchanged:
//! [`bert`] (BertModel / BertForMaskedLM, DNABERT included), [`longformer`]
//! (LongformerModel / LongformerForMaskedLM) and [`esm`] (Nucleotide Transformer v1 and
//! v2, with an EsmTokenizer vocab.txt).

pub mod bert;
pub mod esm;
pub(crate) mod hf;
pub mod longformer;

pub use hf::HfConfig;

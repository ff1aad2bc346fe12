//! Importers for Hugging Face checkpoints as written by `save_pretrained`
//! (config.json + a checkpoint in any layout `weights` reads + the tokenizer file),
//! read unchanged: [`bert`] (BertModel / BertForMaskedLM, DNABERT included),
//! [`longformer`] (LongformerModel / LongformerForMaskedLM), [`modernbert`]
//! (ModernBertModel / ModernBertForMaskedLM), [`esm`] (Nucleotide Transformer v1 and
//! v2), [`dnabert2`] (DNABERT-2's MosaicBERT), [`gena`] (GENA-LM's BERT, pre-LN) and
//! [`bigbird`] (BigBirdModel / BigBirdForMaskedLM, GENA-LM's long-context models). Tokenizers: a DNABERT-layout vocab.txt, a `tokenizer.json` ([`tokenizer_json`]:
//! single nucleotides, or BPE through the `tokenizers` crate), or Nucleotide Transformer's EsmTokenizer vocab.txt.

pub mod bert;
pub mod bigbird;
pub mod dnabert2;
pub mod esm;
pub mod gena;
pub(crate) mod hf;
pub mod longformer;
pub mod modernbert;
pub mod tokenizer_json;

pub use hf::HfConfig;

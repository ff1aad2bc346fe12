//! A Hugging Face `tokenizer.json` (the `tokenizers` library's file) read with serde and
//! mapped onto glance-seq's k-mer [`Vocab`], for the DNA tokenizers that are k-mer
//! tokenizers in disguise. What is read:
//!
//! - `model.type` `WordLevel` or `WordPiece`, its `vocab` (token -> id) and `unk_token`,
//!   plus `added_tokens` (ids must cover `0..n` without gaps or clashes);
//! - a pre-tokenizer that cuts the input into single characters
//!   (`Split` on the regex `.`, behaviour `Isolated`, not inverted), so every token is
//!   one base: k = 1, stride 1;
//! - no normalizer;
//! - a vocabulary whose non-special tokens are exactly `A`, `C`, `G`, `T`, optionally
//!   plus `N`.
//!
//! A `BPE` model is read whole by the `tokenizers` crate instead (`read_any`,
//! [`glance_seq::Bpe`], [`Segmentation::Bpe`]): any normalizer, pre-tokenizer and
//! vocabulary, tokens with their base spans.
//!
//! Anything else (Unigram, other pre-tokenizers or normalizers of WordLevel / WordPiece,
//! longer k-mers, other tokens) is refused with [`ModelError::Tokenizer`]. The post-processor (which
//! adds `[CLS]` / `[SEP]`) is not applied: glance encodes the bases alone.
//!
//! Differences from running the file in `tokenizers`, both documented in docs/models.md:
//! glance upper-cases soft-masked bases (the file itself would give `[UNK]` for `a`), and
//! when the vocabulary has `N`, every base other than A, C, G, T becomes `N` (the file
//! would give `[UNK]` for IUPAC codes such as `R`); without `N` they become `unk_token`.

use std::collections::HashMap;
use std::path::Path;

use glance_seq::{Bpe, SoftMask, SpecialIds, TokenizerOptions, Vocab};
use serde::Deserialize;

use crate::encoder::{Architecture, Encoder, Segmentation, TokenizerSource, Window};
use crate::error::ModelError;
use crate::import::hf;
use crate::layers::{Embeddings, EncoderLayer, LayerNorm};
use crate::mlm::MlmHead;

/// The file name.
pub const FILE: &str = "tokenizer.json";

/// The parts of tokenizer.json that glance reads; the rest (truncation, padding,
/// post-processor, decoder) is ignored.
#[derive(Debug, Deserialize)]
struct TokenizerFile {
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
    #[serde(default)]
    normalizer: Option<serde_json::Value>,
    #[serde(default)]
    pre_tokenizer: Option<serde_json::Value>,
    model: serde_json::Value,
}

/// One entry of `added_tokens`.
#[derive(Debug, Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
    #[serde(default)]
    special: bool,
}

/// The vocabulary part of a `WordLevel` or `WordPiece` model.
#[derive(Debug, Deserialize)]
struct VocabModel {
    vocab: HashMap<String, u32>,
    #[serde(default)]
    unk_token: Option<String>,
}

/// What a tokenizer.json gives a model.
pub(crate) struct TokenizerJson {
    /// The vocabulary (for a BPE file, its tokens by id and special ids).
    pub vocab: Vocab,
    /// k = 1, stride 1, soft-masked bases upper-cased.
    pub options: TokenizerOptions,
    /// `tokenizer.json` and its model type.
    pub source: TokenizerSource,
    /// [`Segmentation::Grid`] for single nucleotides, [`Segmentation::Bpe`] for BPE.
    pub segmentation: Segmentation,
}

/// The layers of an encoder; [`TokenizerJson::encoder`] adds the tokenizer.
pub(crate) struct EncoderParts {
    /// Which family's layout the weights follow.
    pub architecture: Architecture,
    /// Token (and position) embeddings.
    pub embeddings: Embeddings,
    /// The encoder layers, in order.
    pub layers: Vec<EncoderLayer>,
    /// A LayerNorm after the last layer, if the family has one.
    pub final_norm: Option<LayerNorm>,
    /// The masked-LM head, when the checkpoint has one.
    pub mlm_head: Option<MlmHead>,
}

impl TokenizerJson {
    /// The encoder of `parts` tokenized by this file, in `window`s when given (whole
    /// records otherwise).
    pub(crate) fn encoder(self, parts: EncoderParts, window: Option<Window>) -> Encoder {
        Encoder {
            architecture: parts.architecture,
            embeddings: parts.embeddings,
            layers: parts.layers,
            final_norm: parts.final_norm,
            pool_query: None,
            tokenizer: self.options,
            vocab: self.vocab,
            segmentation: self.segmentation,
            window,
            tokenizer_source: self.source,
            mlm_head: parts.mlm_head,
        }
    }
}

/// The `tokenizer.json` of a checkpoint in `dir` that runs in `[CLS] ... [SEP]` windows of
/// `window_tokens` tokens (special tokens included), as DNABERT-2's and GENA-LM's
/// post-processors wrap a sequence: the file must exist (`family` names the model in
/// the error), hold at most `vocab_size` tokens and have `[CLS]` and `[SEP]`.
pub(crate) fn read_windowed(
    dir: &Path,
    family: &str,
    vocab_size: usize,
    window_tokens: usize,
) -> Result<(TokenizerJson, Window), ModelError> {
    let json = dir.join(FILE);
    if !json.is_file() {
        return Err(ModelError::config(
            &json,
            format!("missing: a {family} checkpoint needs its tokenizer.json"),
        ));
    }
    let tok = read_any(&json)?;
    hf::check_vocab_size(&json, &tok.vocab, vocab_size)?;
    let special = tok.vocab.special();
    let (cls, sep) = special
        .cls
        .zip(special.sep)
        .ok_or_else(|| ModelError::Tokenizer {
            path: json.clone(),
            message: format!("{family} windows need [CLS] and [SEP] in the vocabulary"),
        })?;
    let window = Window {
        tokens: window_tokens,
        cls,
        eos: Some(sep),
    };
    Ok((tok, window))
}

/// Reads `path`, a `BPE` (through the `tokenizers` crate), `WordLevel` or `WordPiece`
/// (single nucleotides, [`read`]) tokenizer.json; any other model type is refused.
pub(crate) fn read_any(path: &Path) -> Result<TokenizerJson, ModelError> {
    let bad = |message: String| ModelError::Tokenizer {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("invalid tokenizer.json: {e}")))?;
    let kind = value
        .get("model")
        .and_then(|m| m.get("type"))
        .and_then(|t| t.as_str())
        .unwrap_or("missing");
    match kind {
        "BPE" => {
            let bpe = Bpe::from_json(&text, SoftMask::Upper).map_err(|e| bad(e.to_string()))?;
            Ok(TokenizerJson {
                vocab: bpe.vocab().clone(),
                options: TokenizerOptions {
                    k: 1,
                    stride: 1,
                    canonical: false,
                    soft_mask: SoftMask::Upper,
                },
                source: TokenizerSource::TokenizerJson {
                    model: "BPE".into(),
                },
                segmentation: Segmentation::Bpe(bpe),
            })
        }
        "WordLevel" | "WordPiece" => {
            let (vocab, options, source) = read(path)?;
            Ok(TokenizerJson {
                vocab,
                options,
                source,
                segmentation: Segmentation::Grid,
            })
        }
        other => Err(bad(format!(
            "model type `{other}`: glance reads BPE tokenizers and WordLevel / WordPiece \
             vocabularies of single nucleotides"
        ))),
    }
}

/// Reads `path` and returns the vocabulary, the tokenizer options (k = 1, stride 1,
/// soft-masked bases upper-cased) and which kind of file it was.
pub(crate) fn read(path: &Path) -> Result<(Vocab, TokenizerOptions, TokenizerSource), ModelError> {
    let bad = |message: String| ModelError::Tokenizer {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: TokenizerFile =
        serde_json::from_str(&text).map_err(|e| bad(format!("invalid tokenizer.json: {e}")))?;
    let kind = file
        .model
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("missing")
        .to_string();
    if kind != "WordLevel" && kind != "WordPiece" {
        return Err(bad(format!(
            "model type `{kind}`: glance reads WordLevel and WordPiece vocabularies of \
             single nucleotides (BPE files are read by the BPE tokenizer)"
        )));
    }
    let model: VocabModel =
        serde_json::from_value(file.model).map_err(|e| bad(format!("{kind} model: {e}")))?;
    if let Some(n) = file.normalizer.as_ref().filter(|n| !n.is_null()) {
        return Err(bad(format!(
            "normalizer {}: only files without a normalizer are supported",
            type_name(n)
        )));
    }
    if !file.pre_tokenizer.as_ref().is_some_and(splits_characters) {
        let what = file
            .pre_tokenizer
            .as_ref()
            .map_or("none".to_string(), type_name);
        return Err(bad(format!(
            "pre-tokenizer {what}: glance reads files whose pre-tokenizer splits the input \
             into single bases (Split on the regex `.`, Isolated)"
        )));
    }
    // Every id, from the model's vocabulary and the added tokens.
    let mut by_id: HashMap<u32, String> = HashMap::new();
    let added = file.added_tokens.iter().map(|t| (t.content.as_str(), t.id));
    for (token, id) in model
        .vocab
        .iter()
        .map(|(t, &i)| (t.as_str(), i))
        .chain(added)
    {
        if let Some(other) = by_id.insert(id, token.to_string()) {
            if other != token {
                return Err(bad(format!("id {id} is both `{other}` and `{token}`")));
            }
        }
    }
    let n = by_id.len();
    let tokens: Vec<String> = (0..n as u32)
        .map(|id| {
            by_id
                .remove(&id)
                .ok_or_else(|| bad(format!("ids are not 0..{n}: id {id} has no token")))
        })
        .collect::<Result<_, _>>()?;
    let special: Vec<&str> = file
        .added_tokens
        .iter()
        .filter(|t| t.special)
        .map(|t| t.content.as_str())
        .collect();
    let unk_name = model
        .unk_token
        .as_deref()
        .ok_or_else(|| bad(format!("the {kind} model has no unk_token")))?;
    let id_of = |name: &str| tokens.iter().position(|t| t == name).map(|p| p as u32);
    let unk = id_of(unk_name)
        .ok_or_else(|| bad(format!("unk_token `{unk_name}` is not in the vocabulary")))?;
    for t in &tokens {
        let base = matches!(t.as_str(), "A" | "C" | "G" | "T" | "N");
        if !base && t != unk_name && !special.contains(&t.as_str()) {
            let hint = if t.len() > 1 && t.bytes().all(|b| b"ACGT".contains(&b)) {
                " (k-mers longer than 1 need a pre-tokenizer glance does not read yet)"
            } else {
                ""
            };
            return Err(bad(format!(
                "token `{t}` is neither a single nucleotide (A, C, G, T, N) nor a special \
                 token{hint}"
            )));
        }
    }
    if let Some(missing) = ["A", "C", "G", "T"].iter().find(|b| id_of(b).is_none()) {
        return Err(bad(format!("the vocabulary lacks the base `{missing}`")));
    }
    let pick = |names: &[&str]| names.iter().find_map(|n| id_of(n));
    let ids = SpecialIds {
        pad: pick(&["[PAD]", "<pad>"]),
        // Bases other than A, C, G, T become N when the vocabulary has it.
        unk: id_of("N").unwrap_or(unk),
        cls: pick(&["[CLS]", "<cls>", "<s>"]),
        sep: pick(&["[SEP]", "<sep>", "</s>"]),
        mask: pick(&["[MASK]", "<mask>"]),
    };
    let vocab = Vocab::from_tokens(tokens, ids).map_err(|e| bad(e.to_string()))?;
    let options = TokenizerOptions {
        k: 1,
        stride: 1,
        canonical: false,
        soft_mask: SoftMask::Upper,
    };
    Ok((
        vocab,
        options,
        TokenizerSource::TokenizerJson { model: kind },
    ))
}

/// Whether a pre-tokenizer cuts its input into single characters.
fn splits_characters(p: &serde_json::Value) -> bool {
    p.get("type").and_then(|t| t.as_str()) == Some("Split")
        && p.get("pattern")
            .and_then(|pat| pat.get("Regex"))
            .and_then(|r| r.as_str())
            == Some(".")
        && p.get("behavior").and_then(|b| b.as_str()) == Some("Isolated")
        && p.get("invert").and_then(|i| i.as_bool()) != Some(true)
}

/// `` `Type` `` of a normalizer or pre-tokenizer object, for messages.
fn type_name(v: &serde_json::Value) -> String {
    match v.get("type").and_then(|t| t.as_str()) {
        Some(t) => format!("`{t}`"),
        None => "of unknown type".to_string(),
    }
}

//! tokenizer.json reading: a fuzzed file as the BPE tokenizer (`glance_seq::Bpe`, the
//! `tokenizers` crate) and then tokenizing DNA in pieces; and as a DNABERT-2 directory's
//! tokenizer.json beside the real config.json and weights
//! (test-data/models/dnabert2_bpe), loaded with `glance_model::load`.
#![no_main]
use glance_fuzz::scratch_with;
use glance_seq::{Bpe, SoftMask};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(bpe) = Bpe::from_json(text, SoftMask::Upper) {
            let seq = b"ACGTNACGTTGCAacgtGGGCCCAAATTTRYACGT";
            let _ = bpe.tokenize(seq);
            if let Ok(small) = bpe.with_pieces(5, 3) {
                let _ = small.tokenize(seq);
            }
        }
    }
    let dir = scratch_with(
        "tokenizer_json",
        "models/dnabert2_bpe",
        &["config.json", "model.safetensors"],
    );
    std::fs::write(dir.join("tokenizer.json"), data).unwrap();
    let _ = glance_model::load(&dir);
});

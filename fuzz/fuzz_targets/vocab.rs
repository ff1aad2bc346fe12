//! vocab.txt (DNABERT layout) reading, then a tokenizer over the vocabulary.
#![no_main]
use glance_seq::{Tokenizer, TokenizerOptions, Vocab};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = Vocab::from_reader(data) {
        let opts = TokenizerOptions {
            k: v.k(),
            ..Default::default()
        };
        if let Ok(t) = Tokenizer::with_vocab(opts, v) {
            let mut out = Vec::new();
            t.tokenize_into(b"ACGTNACGTTGCAacgtGGGCCCAAATTT", &mut out);
        }
    }
});

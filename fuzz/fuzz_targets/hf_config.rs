//! A Hugging Face checkpoint directory: a fuzzed config.json beside a real BERT k=3
//! model.safetensors and vocab.txt (test-data/models/bert_k3), loaded with
//! `glance_model::load` (which dispatches to the BERT/Longformer importers).
#![no_main]
use glance_fuzz::scratch_with;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch_with(
        "hf_config",
        "models/bert_k3",
        &["model.safetensors", "vocab.txt"],
    );
    std::fs::write(dir.join("config.json"), data).unwrap();
    let _ = glance_model::load(&dir);
});

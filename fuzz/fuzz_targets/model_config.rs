//! A native model directory: a fuzzed config.json beside a real model.safetensors
//! (test-data/models/native_mixed), loaded with `glance_model::load`.
#![no_main]
use glance_fuzz::scratch_with;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch_with(
        "model_config",
        "models/native_mixed",
        &["model.safetensors"],
    );
    if let Ok(c) = serde_json::from_slice::<glance_model::ModelConfig>(data) {
        let _ = c.validate();
        let _ = c.patterns();
    }
    std::fs::write(dir.join("config.json"), data).unwrap();
    let _ = glance_model::load(&dir);
});

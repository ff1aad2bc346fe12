//! The safetensors loader: fuzzed model.safetensors bytes beside a real native
//! config.json (test-data/models/native_alibi), opened with `Weights::open` and loaded
//! with `glance_model::load` (header, offsets, dtypes, shapes).
#![no_main]
use glance_fuzz::scratch_with;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch_with("safetensors", "models/native_alibi", &["config.json"]);
    let path = dir.join("model.safetensors");
    std::fs::write(&path, data).unwrap();
    if let Ok(w) = glance_model::Weights::open(&path) {
        for name in ["embed.tokens.weight", "layers.0.attn.q.weight"] {
            if let Some(shape) = w.shape(name).map(<[usize]>::to_vec) {
                let _ = w.tensor(name, &shape);
            }
        }
    }
    let _ = glance_model::load(&dir);
});

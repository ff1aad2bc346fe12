//! PyTorch checkpoints (`pytorch_model.bin`, the zip archive torch.save writes, with
//! its pickle read by glance's restricted reader): the input written as a model
//! directory's pytorch_model.bin, opened by `Weights::open_dir`, and every tensor read
//! with its own shape.
#![no_main]
use glance_fuzz::scratch;
use glance_model::weights::Weights;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch("torch_bin");
    if std::fs::write(dir.join("pytorch_model.bin"), data).is_err() {
        return;
    }
    let Ok(weights) = Weights::open_dir(&dir) else {
        return;
    };
    for name in weights.names() {
        let Some(shape) = weights.shape(name).map(<[usize]>::to_vec) else {
            continue;
        };
        // bounded: a tensor larger than the input cannot be read from it
        if shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).is_none_or(|n| n > 1 << 24) {
            continue;
        }
        let _ = weights.tensor(name, &shape);
    }
});

//! The attention pattern grammar: parse, display round trip, visibility counts and the
//! exact kernel on tiny inputs (length from the first byte).
#![no_main]
use glance_attn::ndarray::Array3;
use glance_attn::{attend, AttendOptions, Pattern, Visibility};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (n, spec) = match data.split_first() {
        Some((b, rest)) => (*b as usize % 24 + 1, rest),
        None => return,
    };
    let Ok(spec) = std::str::from_utf8(spec) else {
        return;
    };
    let Ok(p) = spec.parse::<Pattern>() else {
        return;
    };
    let shown = p.to_string();
    let again: Pattern = shown.parse().expect("a displayed pattern parses");
    assert_eq!(again, p, "round trip of {spec:?} via {shown:?}");
    let _ = p.local_radius();
    let opts = AttendOptions::default();
    if let Ok(vis) = Visibility::new(&p, n, 2, &opts) {
        let _ = vis;
    }
    let q = Array3::from_shape_fn((2, n, 4), |(h, i, j)| ((h + i * 3 + j) % 7) as f32 * 0.1);
    let _ = attend(q.view(), q.view(), q.view(), &p, &opts);
});

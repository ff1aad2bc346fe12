//! Quick timing of `attend` for kernel tuning: `speed SPEC N HEADS D RUNS`.

use glance_attn::{attend, AttendOptions, Pattern, Visibility};
use ndarray::Array3;
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let p: Pattern = a[1].parse().unwrap();
    let n: usize = a[2].parse().unwrap();
    let h: usize = a[3].parse().unwrap();
    let d: usize = a[4].parse().unwrap();
    let runs: usize = a[5].parse().unwrap();
    let mut s = 1u64;
    let mut gen = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let q = Array3::from_shape_simple_fn((h, n, d), &mut gen);
    let k = Array3::from_shape_simple_fn((h, n, d), &mut gen);
    let v = Array3::from_shape_simple_fn((h, n, d), &mut gen);
    let opts = AttendOptions::default();
    let pairs = Visibility::new(&p, n, h, &opts).unwrap().count_pairs();
    let cpu0 = cpu_ns();
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let o = attend(q.view(), k.view(), v.view(), &p, &opts).unwrap();
        times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(o);
    }
    let cpu = (cpu_ns() - cpu0) as f64 / runs as f64 / 1e9;
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let med = times[runs / 2];
    println!(
        "{} n={n} median {med:.4}s  {:.0} tok/s  {:.1} GFLOP/s  ns/pair/head {:.3}  cpu {cpu:.4}s -> cpu-GFLOP/s {:.1}",
        a[1],
        n as f64 / med,
        4.0 * pairs as f64 * d as f64 / med / 1e9,
        med / pairs as f64 * 1e9,
        4.0 * pairs as f64 * d as f64 / cpu / 1e9
    );
}

/// Nanoseconds on CPU summed over this process's threads (/proc schedstat).
fn cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

//! Exact attention kernels (criterion): `attend_into` on seeded random unit-scale
//! inputs, heads = 4, d_head = 64, n = 16,384, on **one** rayon thread, for
//! `sliding:r=128`, `dilated:r=64,d=4` and `block:b=128,n=1`.
//!
//! Throughput is in elements = useful (query, key) pairs ([`Visibility::count_pairs`]),
//! so `elem/s x 256` is useful FLOP/s (4 * d_head per pair) and equal elem/s means equal
//! cost per useful pair across patterns (the "within 1.3x of sliding").
//!
//! Every case runs twice: group `wall` (elapsed time) and group `cpu` (the thread's CPU
//! time from /proc/thread-self/schedstat, in ns), which is what to read on a machine
//! shared with other work. `cargo bench -p glance-attn --bench attend -- cpu` runs only
//! the latter.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glance_attn::ndarray::Array3;
use glance_attn::{attend_into, AttendOptions, Pattern, Visibility};

const N: usize = 16_384;
const HEADS: usize = 4;
const D: usize = 64;
const PATTERNS: [&str; 3] = ["sliding:r=128", "dilated:r=64,d=4", "block:b=128,n=1"];

/// CPU time of the calling thread in ns (0 where /proc is unavailable).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Criterion measurement: the benchmark thread's CPU time (the kernel runs on a
/// one-thread rayon pool whose worker is the benchmark thread itself).
struct ThreadCpu;

const WALL: WallTime = WallTime;

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, as for wall time.
        WALL.formatter()
    }
}

/// Seeded unit-scale values in [-1, 1).
fn random(seed: &mut u64) -> Array3<f32> {
    Array3::from_shape_simple_fn((HEADS, N, D), || {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    })
}

/// One rayon pool whose only worker is the calling (measured) thread, built once: a
/// thread can belong to one such pool only.
fn pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .use_current_thread()
            .build()
            .expect("one-thread pool")
    })
}

fn bench<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let mut seed = 0x2545_f491_4f6c_dd1d;
    let (q, k, v) = (random(&mut seed), random(&mut seed), random(&mut seed));
    let mut out = Array3::<f32>::zeros((HEADS, N, D));
    let opts = AttendOptions::default();
    let pool = pool();
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for spec in PATTERNS {
        let pattern: Pattern = spec.parse().expect("valid pattern");
        let pairs = Visibility::new(&pattern, N, HEADS, &opts)
            .expect("valid options")
            .count_pairs();
        g.throughput(Throughput::Elements(pairs));
        g.bench_function(spec, |b| {
            b.iter(|| {
                pool.install(|| {
                    attend_into(
                        q.view(),
                        k.view(),
                        v.view(),
                        &pattern,
                        &opts,
                        out.view_mut(),
                    )
                })
                .expect("attend")
            })
        });
    }
    g.finish();
}

fn bench_wall(c: &mut Criterion) {
    bench(c, "wall");
}

fn bench_cpu(c: &mut Criterion<ThreadCpu>) {
    bench(c, "cpu");
}

criterion_group!(wall, bench_wall);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench_cpu
}
criterion_main!(wall, cpu);

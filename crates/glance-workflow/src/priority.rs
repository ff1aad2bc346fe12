//! Background priority for the pipeline's motif stages.
//!
//! The encoder keeps every core busy except between its batches (tokenizing, pooling,
//! merging). The motif stages need a small fraction of its work, so while it runs the
//! pipeline does theirs on rayon pools at the operating system's idle priority: they
//! take the cycles the encoder leaves and never slow it down. Once the encoder is done,
//! what is left moves to normal-priority pools ([`StagePools`]), so that other
//! processes on the machine do not hold it back. On Linux idle priority is the
//! `SCHED_IDLE` policy of the calling thread (threads of the same process keep their
//! own policies, and an unprivileged thread cannot leave it, hence two pools);
//! elsewhere it does nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::cputime::CpuClock;

/// Runs the calling thread at idle priority from now on; `false` where the platform
/// does not support it or refuses (the thread then keeps its priority, which changes
/// only the pipeline's speed, never its results).
fn lower_current_thread() -> bool {
    lower_impl()
}

#[cfg(target_os = "linux")]
fn lower_impl() -> bool {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param that outlives the call; pid 0 names the
    // calling thread, and SCHED_IDLE with priority 0 is always a valid request.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn lower_impl() -> bool {
    false
}

/// A rayon pool of `threads` workers named `glance-{name}-{i}`, each at idle priority
/// when `background` is set.
fn stage_pool(
    name: &'static str,
    threads: usize,
    background: bool,
) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("glance-{name}-{i}"))
        .start_handler(move |_| {
            if background {
                lower_current_thread();
            }
        })
        .build()
}

/// A background stage's two pools: idle priority while the stage it yields to runs,
/// normal priority once that stage is done. Counts the CPU time of the work it runs.
pub struct StagePools<'a> {
    background: rayon::ThreadPool,
    foreground: rayon::ThreadPool,
    done: &'a AtomicBool,
    cpu_nanos: AtomicU64,
}

impl<'a> StagePools<'a> {
    /// Two pools of `threads` workers named `glance-{name}-{i}`; work runs in the
    /// idle-priority one until `done` is set.
    pub fn new(
        name: &'static str,
        threads: usize,
        done: &'a AtomicBool,
    ) -> Result<StagePools<'a>, rayon::ThreadPoolBuildError> {
        Ok(StagePools {
            background: stage_pool(name, threads, true)?,
            foreground: stage_pool(name, threads, false)?,
            done,
            cpu_nanos: AtomicU64::new(0),
        })
    }

    /// Runs `op` in the pool for now (rayon calls inside it use that pool) and counts
    /// the CPU time its workers spend.
    pub fn install<R: Send>(&self, op: impl FnOnce() -> R + Send) -> R {
        let pool = if self.done.load(Ordering::Acquire) {
            &self.foreground
        } else {
            &self.background
        };
        let (result, cpu) = pool.install(|| {
            let clock = CpuClock::pool();
            let result = op();
            (result, clock.elapsed())
        });
        let nanos = u64::try_from(cpu.as_nanos()).unwrap_or(u64::MAX);
        self.cpu_nanos.fetch_add(nanos, Ordering::Relaxed);
        result
    }

    /// CPU time of everything run by [`Self::install`] so far.
    pub fn cpu(&self) -> Duration {
        Duration::from_nanos(self.cpu_nanos.load(Ordering::Relaxed))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The policy applies to the calling thread only.
    #[test]
    fn lowers_only_the_calling_thread() {
        let policy = || {
            // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
            unsafe { libc::sched_getscheduler(0) }
        };
        let before = policy();
        let (lowered, inside) = std::thread::spawn(move || {
            let ok = super::lower_current_thread();
            (ok, policy())
        })
        .join()
        .unwrap();
        assert!(lowered);
        assert_eq!(inside, libc::SCHED_IDLE);
        assert_eq!(policy(), before);
        let pool = super::stage_pool("test", 2, true).unwrap();
        let in_pool = pool.install(policy);
        assert_eq!(in_pool, libc::SCHED_IDLE);
        let normal = super::stage_pool("test", 1, false).unwrap();
        assert_eq!(normal.install(policy), before);
    }

    /// Work moves to the normal-priority pool once the awaited stage is done.
    #[test]
    fn stage_pools_leave_idle_priority_when_told() {
        let policy = || {
            // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
            unsafe { libc::sched_getscheduler(0) }
        };
        let normal = policy();
        let done = std::sync::atomic::AtomicBool::new(false);
        let pools = super::StagePools::new("test", 2, &done).unwrap();
        assert_eq!(pools.install(policy), libc::SCHED_IDLE);
        done.store(true, std::sync::atomic::Ordering::Release);
        assert_eq!(pools.install(policy), normal);
        let d = std::time::Duration::from_millis(40);
        pools.install(|| rayon::broadcast(|_| crate::cputime::tests::spin(d)));
        // both workers spun 40 ms of their own CPU time
        assert!(pools.cpu() >= 2 * d, "{:?}", pools.cpu());
    }
}

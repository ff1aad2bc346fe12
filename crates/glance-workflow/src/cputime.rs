//! CPU time per stage, for the manifest: a stage's own thread plus, for stages that
//! compute on a rayon pool, every worker of that pool. Wall time alone says little
//! about a stage that runs at idle priority (it is held back, not busy).

use std::time::Duration;

/// CPU time of the calling thread (zero where the platform cannot tell).
pub fn thread_cpu() -> Duration {
    thread_cpu_impl()
}

#[cfg(unix)]
fn thread_cpu_impl() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    if !ok {
        return Duration::ZERO;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(ts.tv_nsec).unwrap_or(0);
    Duration::new(secs, nanos.min(999_999_999))
}

#[cfg(not(unix))]
fn thread_cpu_impl() -> Duration {
    Duration::ZERO
}

/// Which threads a [`CpuClock`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The calling thread only.
    Thread,
    /// The rayon pool the calling thread runs in (the global pool outside any), plus
    /// the calling thread when it is not one of its workers.
    Pool,
}

/// CPU time used since the clock started, by the threads of its scope. Read it from
/// the thread that started it, while the pool is otherwise idle (at a stage's start
/// and end).
#[derive(Debug, Clone, Copy)]
pub struct CpuClock {
    scope: Scope,
    start: Duration,
}

impl CpuClock {
    /// Counts the calling thread.
    pub fn thread() -> CpuClock {
        CpuClock::start(Scope::Thread)
    }

    /// Counts the calling thread and the rayon pool it runs in or hands work to.
    pub fn pool() -> CpuClock {
        CpuClock::start(Scope::Pool)
    }

    fn start(scope: Scope) -> CpuClock {
        CpuClock {
            scope,
            start: now(scope),
        }
    }

    /// CPU time used since the clock started.
    pub fn elapsed(&self) -> Duration {
        now(self.scope).saturating_sub(self.start)
    }
}

fn now(scope: Scope) -> Duration {
    match scope {
        Scope::Thread => thread_cpu(),
        Scope::Pool => {
            let own = if rayon::current_thread_index().is_some() {
                Duration::ZERO
            } else {
                thread_cpu()
            };
            own + rayon::broadcast(|_| thread_cpu())
                .into_iter()
                .sum::<Duration>()
        }
    }
}

#[cfg(all(test, unix))]
pub(crate) mod tests {
    use super::*;

    /// Busy-works until the calling thread has used `d` of CPU time (not wall time: the
    /// machine may be loaded).
    pub(crate) fn spin(d: Duration) {
        let t = thread_cpu();
        let mut x = 0u64;
        while thread_cpu().saturating_sub(t) < d {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }

    #[test]
    fn counts_the_thread_and_its_pool() {
        let clock = CpuClock::thread();
        spin(Duration::from_millis(60));
        let own = clock.elapsed();
        assert!(own >= Duration::from_millis(60), "{own:?}");
        assert!(own <= Duration::from_secs(30), "{own:?}");
        // Work done by a pool's workers counts for the pool clock only.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (thread_only, with_pool) = pool.install(|| {
            let (t, p) = (CpuClock::thread(), CpuClock::pool());
            rayon::broadcast(|_| spin(Duration::from_millis(60)));
            (t.elapsed(), p.elapsed())
        });
        // each of the two workers spun 60 ms of its own CPU time
        assert!(with_pool >= Duration::from_millis(120), "{with_pool:?}");
        assert!(with_pool > thread_only, "{with_pool:?} vs {thread_only:?}");
    }
}

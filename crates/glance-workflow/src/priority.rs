//! Background priority for the pipeline's motif stages.
//!
//! The encoder keeps every core busy except between its batches (tokenizing, pooling,
//! merging). The motif stages need a small fraction of its work, so the pipeline runs
//! them — their stage threads and their own rayon pools — at the operating system's
//! idle priority: they take the cycles the encoder leaves and never slow it down, and
//! whatever is left runs on every core once the encoder is done. On Linux this is the
//! `SCHED_IDLE` policy of the calling thread (threads of the same process keep their
//! own policies); elsewhere it does nothing.

/// Runs the calling thread at idle priority from now on; `false` where the platform
/// does not support it or refuses (the thread then keeps its priority, which changes
/// only the pipeline's speed, never its results).
pub fn lower_current_thread() -> bool {
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
pub fn stage_pool(
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
}

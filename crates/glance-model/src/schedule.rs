//! How one encoder job shares the rayon pool with the other jobs of its batch, chosen
//! by the stream ([`run_job`]) from the batch size:
//!
//! - two or more jobs per worker (every full batch of a long sequence): the job's
//!   attention keeps its query tiles on the job's worker
//!   ([`glance_attn::on_calling_thread`]); nested tiles would let a worker that waits
//!   for stolen tiles start a whole other job meanwhile and finish its own late;
//! - fewer jobs than workers (a short sequence, the end of a record): the job's
//!   products also split their rows over the pool ([`rows_on_pool`]), so one or two
//!   jobs still use every core;
//! - in between: tiles on the pool, products on the job's worker.
//!
//! Row blocks are fixed ([`ROW_BLOCK`]) and each row's arithmetic is the same in any
//! block, as each tile's is on any thread, so results are bit-identical in every mode.
//! Measured on 16 cores in docs/benchmarks.md, "Thread scaling".

use std::cell::Cell;

/// Rows per block when a product splits its rows over the pool.
pub(crate) const ROW_BLOCK: usize = 256;

thread_local! {
    /// Set while this thread runs a job whose products split their rows.
    static ROWS_ON_POOL: Cell<bool> = const { Cell::new(false) };
}

/// Runs one of `batch` jobs that the rayon pool runs at once (see the module doc).
pub(crate) fn run_job<R>(batch: usize, job: impl FnOnce() -> R) -> R {
    let workers = rayon::current_num_threads();
    let split = batch < workers;
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ROWS_ON_POOL.set(self.0);
        }
    }
    let _restore = Restore(ROWS_ON_POOL.replace(split));
    if batch >= 2 * workers {
        glance_attn::on_calling_thread(job)
    } else {
        job()
    }
}

/// Whether a product computed now on this thread may split its rows over the pool.
pub(crate) fn rows_on_pool() -> bool {
    ROWS_ON_POOL.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_split_only_for_a_batch_smaller_than_the_pool() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let seen: Vec<bool> = pool.install(|| {
            [1, 3, 4, 8, 100]
                .iter()
                .map(|&batch| run_job(batch, rows_on_pool))
                .collect()
        });
        assert_eq!(seen, [true, true, false, false, false]);
        assert!(!rows_on_pool());
        let nested = pool.install(|| run_job(1, || run_job(8, rows_on_pool)));
        assert!(!nested);
    }
}

//! [`Workers`]: the threads a run computes on. `Config.threads` is owned here: with a
//! count, the run builds a rayon pool of that many workers for the encoder and sizes the
//! motif stages' pools by it; without one, it runs on the caller's current rayon pool
//! (all cores unless the caller configured it), so a library caller's setting is
//! honoured either way.

use crate::error::WorkflowError;

/// The run's encoder pool and thread count.
pub struct Workers {
    /// `None`: the caller's current pool.
    pool: Option<rayon::ThreadPool>,
}

impl Workers {
    /// Workers for `threads` (`None`: the current pool).
    pub fn new(threads: Option<usize>) -> Result<Workers, WorkflowError> {
        let pool = match threads {
            None => None,
            Some(n) => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("glance-encoder-{i}"))
                    .build()
                    .map_err(|e| WorkflowError::Config(format!("threads: {e}")))?,
            ),
        };
        Ok(Workers { pool })
    }

    /// How many threads the run computes on.
    pub fn count(&self) -> usize {
        self.pool.as_ref().map_or_else(
            rayon::current_num_threads,
            rayon::ThreadPool::current_num_threads,
        )
    }

    /// Runs `f` on the workers (their rayon calls stay on them).
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_count_gives_a_pool_of_that_size() {
        let w = Workers::new(Some(3)).unwrap();
        assert_eq!(w.count(), 3);
        assert_eq!(w.install(rayon::current_num_threads), 3);
        let caller = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let current = caller.install(|| Workers::new(None).unwrap());
        assert_eq!(caller.install(|| current.count()), 2);
        assert_eq!(
            caller.install(|| current.install(rayon::current_num_threads)),
            2
        );
    }
}

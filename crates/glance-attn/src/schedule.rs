//! Where an exact call's query tiles run: on the rayon pool (the default), or, inside
//! [`on_calling_thread`], on the calling thread alone.
//!
//! A caller that already keeps every worker busy with calls of its own (glance-model's
//! stream, with at least as many chunks in a batch as threads) wants the latter. With
//! tiles nested on the pool, a worker that waits for tiles another worker stole picks
//! up other work meanwhile, a whole chunk if one is left, and finishes its own chunk
//! only after that one: on 16 threads the chunks' finishing times spread and the batch
//! waits for the last. The arithmetic is the same either way (results are bit-identical).

use std::cell::Cell;

thread_local! {
    /// Set while this thread runs inside [`on_calling_thread`].
    static CALLING_THREAD_ONLY: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with every exact attention call it makes on this thread keeping its query
/// tiles on this thread (no rayon tasks). Nests; the previous setting comes back when
/// `f` returns or unwinds.
pub fn on_calling_thread<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CALLING_THREAD_ONLY.set(self.0);
        }
    }
    let _restore = Restore(CALLING_THREAD_ONLY.replace(true));
    f()
}

/// Whether a call made now may spread its tiles over the rayon pool.
pub(crate) fn tiles_in_parallel() -> bool {
    !CALLING_THREAD_ONLY.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_holds_inside_and_comes_back_after() {
        assert!(tiles_in_parallel());
        let inner = on_calling_thread(|| {
            let nested = on_calling_thread(tiles_in_parallel);
            (tiles_in_parallel(), nested)
        });
        assert_eq!(inner, (false, false));
        assert!(tiles_in_parallel());
        let unwound = std::panic::catch_unwind(|| on_calling_thread(|| panic!("unwind")));
        assert!(unwound.is_err());
        assert!(tiles_in_parallel());
    }
}

//! Transparent huge pages off for the whole process, every command.
//!
//! mimalloc advises its arenas for huge pages (`MADV_HUGEPAGE`), so with the common
//! `madvise` THP setting every first touch of a 2 MiB region makes the kernel clear the
//! whole region. glance's commands touch their buffers sparsely (per-thread pages, hit
//! vectors that grow and move, per-chunk activations), and clearing huge pages cost up
//! to 0.8 s of system time on a 1.3 s user-time `glance scan` and 0.5 s on a 1.1 s
//! user-time `glance embed --precision bf16` (docs/benchmarks.md), varying with the
//! host's memory pressure; with 4 KiB pages it is about 0.1 s and peak RSS is lower.

/// Disables transparent huge pages for this process's future page faults (Linux:
/// `prctl(PR_SET_THP_DISABLE)`; a no-op elsewhere or when the kernel refuses).
pub fn disable_for_process() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and changes no memory of
    // this process; a failure (old kernel) leaves THP as it was, which is harmless.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

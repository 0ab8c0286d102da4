//! The allocator setting of the `weir` process.
//!
//! glibc's `malloc` gives threads that allocate at the same time arenas of
//! their own (up to 8 per core), and each arena keeps some freed memory for
//! reuse. The pipeline's stages run on whichever runtime thread is free, so
//! the longer a run, the more arenas it has touched: peak RSS of `weir gzip`
//! was 8.5-11.7 MiB (median 9.7) on a 64 MiB input and 10.9-11.8 MiB
//! (median 11.7) on 1 GiB, a growth with the input's size that is not data.
//! With one arena both were 8.5-9.4 MiB (docs/benchmarks.md, "Memory does
//! not grow with the input"). weir allocates one chunk's buffer at a time,
//! about one allocation per 256 KiB moved, so the lock that one arena
//! shares among threads is not contended.

/// Limits glibc's `malloc` to one arena. Call first in `main`, before any
/// thread starts. Elsewhere than Linux with glibc, does nothing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn one_arena() {
    // SAFETY: `mallopt` only sets an allocator parameter; it takes no
    // pointers and is called before any other thread exists. A failure
    // (return value 0) leaves the default, which is still correct.
    let _ = unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
}

/// Limits glibc's `malloc` to one arena: nothing to do on this platform.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn one_arena() {}

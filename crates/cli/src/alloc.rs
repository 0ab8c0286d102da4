//! The allocator settings of the `weir` process.
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
//!
//! Those buffers are just above glibc's initial mmap threshold (128 KiB): a
//! 256 KiB chunk, or a parallel gunzip job's four 64 KiB blocks, was mapped
//! afresh and unmapped when freed, page faults each time, until glibc's own
//! adaptation raised the threshold, and shrinking the heap then gave the
//! pages back again. Fixing the threshold at 4 MiB, with the trim threshold
//! at twice that (the state glibc's adaptation reaches after a 4 MiB block
//! is freed), keeps them in the heap: `weir gunzip` of a 256 MiB BGZF file
//! took about 3,700 minor page faults instead of 7,000-9,000, and 5% less
//! wall time; peak RSS did not change (docs/benchmarks.md, "Parallel gunzip
//! of BGZF"). At most 8 MiB of freed memory stays at the heap's top.

/// The mmap threshold: blocks this large or larger get their own mapping.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 4 << 20;
/// The trim threshold: free memory at the top of the heap above this goes
/// back to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 8 << 20;

/// Limits glibc's `malloc` to one arena and fixes its mmap and trim
/// thresholds (see the module docs). Call first in `main`, before any
/// thread starts. Elsewhere than Linux with glibc, does nothing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn tune() {
    // SAFETY: `mallopt` only sets an allocator parameter; it takes no
    // pointers and is called before any other thread exists. A failure
    // (return value 0) leaves the default, which is still correct.
    unsafe {
        let _ = libc::mallopt(libc::M_ARENA_MAX, 1);
        let _ = libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        let _ = libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// Tunes glibc's `malloc`: nothing to do on this platform.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn tune() {}

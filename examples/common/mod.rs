//! Small helpers shared by the examples.
#![allow(dead_code)]

/// The process's resident memory now and at its peak, in bytes (Linux);
/// `None` elsewhere.
pub(crate) fn rss() -> Option<(u64, u64)> {
    weir::pipe::process_memory().map(|m| (m.resident, m.peak))
}

/// `n` bytes in binary units.
pub(crate) fn human(n: u64) -> String {
    weir::pipe::human_bytes(n)
}

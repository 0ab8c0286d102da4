//! Numbers for people.

pub(crate) use weir_pipe::human_bytes as bytes;

/// The process's resident memory now and at its peak, in bytes.
pub(crate) fn rss() -> Option<(u64, u64)> {
    weir_pipe::process_memory().map(|m| (m.resident, m.peak))
}

/// Resident memory now, or "n/a".
pub(crate) fn rss_now() -> String {
    rss().map_or_else(|| "n/a".to_string(), |(now, _)| bytes(now))
}

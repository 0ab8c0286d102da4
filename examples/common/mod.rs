//! Small helpers shared by the examples.
#![allow(dead_code)]

/// The process's resident memory now and at its peak, in bytes, from
/// `/proc/self/status` (Linux); `None` elsewhere.
pub(crate) fn rss() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// `n` bytes in binary units.
pub(crate) fn human(n: u64) -> String {
    const K: f64 = 1024.0;
    let x = n as f64;
    if x >= K * K * K {
        format!("{:.2} GiB", x / K / K / K)
    } else if x >= K * K {
        format!("{:.1} MiB", x / K / K)
    } else if x >= K {
        format!("{:.1} KiB", x / K)
    } else {
        format!("{n} B")
    }
}

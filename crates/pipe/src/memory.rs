//! What the process holds in memory: the figure that shows whether a stream
//! runs in constant memory.

/// The process's resident memory, from `/proc/self/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessMemory {
    /// Resident set size now (`VmRSS`), in bytes.
    pub resident: u64,
    /// The most it has been (`VmHWM`), in bytes.
    pub peak: u64,
}

/// Reads the process's resident memory now and at its peak. `None` where
/// `/proc/self/status` does not exist (not Linux) or cannot be read.
///
/// # Examples
/// ```
/// if let Some(m) = weir::pipe::process_memory() {
///     assert!(m.peak >= m.resident);
///     println!("{} resident", weir::pipe::human_bytes(m.resident));
/// }
/// ```
pub fn process_memory() -> Option<ProcessMemory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    Some(ProcessMemory {
        resident: field("VmRSS:")?,
        peak: field("VmHWM:")?,
    })
}

/// A byte count for people, in binary units: `512 B`, `64.0 KiB`,
/// `187.3 MiB`, `1.00 GiB`.
///
/// # Examples
/// ```
/// assert_eq!(weir::pipe::human_bytes(65536), "64.0 KiB");
/// assert_eq!(weir::pipe::human_bytes(1 << 30), "1.00 GiB");
/// ```
pub fn human_bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let x = n as f64;
    if x < K {
        format!("{n} B")
    } else if x < K * K {
        format!("{:.1} KiB", x / K)
    } else if x < K * K * K {
        format!("{:.1} MiB", x / K / K)
    } else {
        format!("{:.2} GiB", x / K / K / K)
    }
}

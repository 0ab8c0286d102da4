//! `weir serve`'s file descriptors: the soft `RLIMIT_NOFILE` raised to the
//! hard limit, and a warning when the connection cap cannot fit in it.

/// Descriptors each connection may hold at once: its socket, the file it
/// is sent, and a folder handle while a path is looked up.
const PER_CONNECTION: u64 = 3;
/// Descriptors the server needs besides its connections: the listener,
/// the runtime's, standard streams, the served folder's handle.
const BASE: u64 = 32;

/// What the descriptor limit is for a server of `max_connections`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FdLimit {
    /// The soft limit now (`None`: unlimited or unknown).
    pub(crate) soft: Option<u64>,
    /// Descriptors `max_connections` connections may need.
    pub(crate) needed: u64,
}

impl FdLimit {
    /// A warning for stderr when the cap cannot fit in the limit.
    pub(crate) fn warning(&self, max_connections: usize) -> Option<String> {
        let soft = self.soft?;
        (soft < self.needed).then(|| {
            format!(
                "weir serve: warning: --max-connections {max_connections} may need {} file \
                 descriptors but the limit is {soft} (ulimit -n): new connections past it get \
                 503; raise the limit or lower --max-connections to {}",
                self.needed,
                soft.saturating_sub(BASE) / PER_CONNECTION
            )
        })
    }
}

/// Raises the soft descriptor limit as far as the hard one allows (Unix;
/// elsewhere nothing is done) and says what it is for `max_connections`.
pub(crate) fn raise(max_connections: usize) -> FdLimit {
    let needed = (max_connections as u64)
        .saturating_mul(PER_CONNECTION)
        .saturating_add(BASE);
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let before = getrlimit(Resource::Nofile);
        let mut raised_from = None;
        if let Some(soft) = before.current {
            // An unlimited hard limit: Linux refuses a soft one above
            // fs.nr_open (2^20 by default), so ask for that much.
            let target = before.maximum.unwrap_or(1 << 20);
            if soft < target
                && setrlimit(
                    Resource::Nofile,
                    rustix::process::Rlimit {
                        current: Some(target),
                        maximum: before.maximum,
                    },
                )
                .is_ok()
            {
                raised_from = Some(soft);
            }
        }
        let soft = getrlimit(Resource::Nofile).current;
        if let Some(from) = raised_from {
            tracing::info!(from, to = ?soft, "raised the soft limit on open files");
        }
        FdLimit { soft, needed }
    }
    #[cfg(not(unix))]
    {
        FdLimit { soft: None, needed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_only_when_the_cap_does_not_fit() {
        let l = |soft| FdLimit {
            soft,
            needed: 512 * PER_CONNECTION + BASE,
        };
        assert_eq!(l(Some(4096)).warning(512), None);
        assert_eq!(l(None).warning(512), None);
        let w = l(Some(1024)).warning(512).unwrap_or_default();
        assert!(w.contains("--max-connections 512"), "{w}");
        assert!(w.contains("limit is 1024"), "{w}");
        assert!(w.contains("lower --max-connections to 330"), "{w}");
    }
}

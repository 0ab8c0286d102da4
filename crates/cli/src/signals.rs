//! The signals that stop a run: each cancels it through its token, so that
//! an atomic output's temporary file is removed, and the process exits with
//! 128 + the signal's number, as a shell reports a process the signal
//! killed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use weir_pipe::CancellationToken;

/// SIGINT's number, the default when a run was cancelled otherwise.
const SIGINT: u8 = 2;

/// Which signal stopped the run, once one has.
#[derive(Debug, Clone)]
pub(crate) struct Signalled(Arc<AtomicU8>);

impl Signalled {
    /// The signal's number (SIGINT's if none was recorded).
    pub(crate) fn get(&self) -> u8 {
        match self.0.load(Ordering::Acquire) {
            0 => SIGINT,
            n => n,
        }
    }
}

/// What to print for `signal`.
pub(crate) fn describe(signal: u8) -> &'static str {
    match signal {
        1 => "hung up",
        15 => "terminated",
        _ => "interrupted",
    }
}

/// Starts watching for Ctrl-C (SIGINT) and, on Unix, SIGTERM and SIGHUP:
/// the first one cancels `token`.
///
/// The handlers are installed before this returns (not when a task first
/// runs), so from then on these signals are an exit status, never their
/// default action.
pub(crate) fn watch(token: &CancellationToken) -> Signalled {
    let seen = Signalled(Arc::new(AtomicU8::new(0)));
    let on = |signal: u8| {
        let token = token.clone();
        let seen = seen.clone();
        move || {
            let _ = seen
                .0
                .compare_exchange(0, signal, Ordering::AcqRel, Ordering::Acquire);
            token.cancel();
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        for (kind, number) in [
            (SignalKind::interrupt(), SIGINT),
            (SignalKind::terminate(), 15),
            (SignalKind::hangup(), 1),
        ] {
            // Without a handler (it could not be installed), the signal keeps
            // its default action.
            if let Ok(mut stream) = signal(kind) {
                let fire = on(number);
                tokio::spawn(async move {
                    if stream.recv().await.is_some() {
                        fire();
                    }
                });
            }
        }
    }
    #[cfg(not(unix))]
    {
        let interrupt = on(SIGINT);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupt();
            }
        });
    }
    seen
}

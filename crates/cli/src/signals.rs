//! The signals that stop a run: each cancels it through its token, so that
//! an atomic output's temporary file is removed, and the process exits with
//! 128 + the signal's number, as a shell reports a process the signal
//! killed.
//!
//! Handled: every signal that can be caught and whose default action ends
//! the process, and that something outside the process (a user, a shell, a
//! service manager, the kernel's file size limit) sends to end it: SIGHUP,
//! SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGXFSZ and
//! SIGVTALRM, plus SIGPIPE when the output is a file (see [`watch`]).
//! Left at their default action: SIGKILL and SIGSTOP (they cannot be
//! caught), the faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP,
//! SIGSYS: the process is no longer in a state to clean up), SIGPROF (a
//! profiler's timer would end the run at its first tick), and the rarely
//! sent SIGIO, SIGPWR, SIGSTKFLT and real-time signals.

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
        self.recorded().unwrap_or(SIGINT)
    }

    /// The signal's number, if one has come.
    pub(crate) fn recorded(&self) -> Option<u8> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            n => Some(n),
        }
    }
}

/// The signals handled besides SIGINT, with what is printed for each
/// (`None`: nothing, as a shell prints nothing for SIGPIPE).
#[cfg(unix)]
const HANDLED: [(libc::c_int, Option<&str>); 9] = [
    (libc::SIGHUP, Some("hung up")),
    (libc::SIGQUIT, Some("quit")),
    (libc::SIGUSR1, Some("user signal 1")),
    (libc::SIGUSR2, Some("user signal 2")),
    (libc::SIGPIPE, None),
    (libc::SIGALRM, Some("alarm clock")),
    (libc::SIGTERM, Some("terminated")),
    (libc::SIGXFSZ, Some("file size limit exceeded")),
    (libc::SIGVTALRM, Some("virtual timer expired")),
];

/// What to print for `signal` (`None`: nothing, for SIGPIPE).
pub(crate) fn describe(signal: u8) -> Option<&'static str> {
    #[cfg(unix)]
    if let Some((_, text)) = HANDLED
        .iter()
        .find(|(n, _)| u8::try_from(*n).ok() == Some(signal))
    {
        return *text;
    }
    let _ = signal;
    Some("interrupted")
}

/// Starts watching for the signals in the module's docs: the first one
/// cancels `token`. `sigpipe`: also SIGPIPE (for a run whose output is a
/// file; writing to a pipe or a socket that is gone would raise it
/// otherwise, which must stay an error of that write, or, for standard
/// output, the quiet end of `weir … | head`).
///
/// `force`: a second signal, once the run is already stopping, ends the
/// process at once with 128 + its number (for `serve`, whose graceful stop
/// waits for open connections; a file command's cleanup must not be cut
/// short, so it ignores a second signal).
///
/// The handlers are installed before this returns (not when a task first
/// runs), so from then on these signals are an exit status, never their
/// default action.
pub(crate) fn watch(token: &CancellationToken, sigpipe: bool, force: bool) -> Signalled {
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
        let numbers = std::iter::once(libc::SIGINT).chain(HANDLED.iter().map(|(n, _)| *n));
        for number in numbers {
            if number == libc::SIGPIPE && !sigpipe {
                continue;
            }
            let Ok(short) = u8::try_from(number) else {
                continue;
            };
            // Without a handler (it could not be installed), the signal keeps
            // its default action.
            if let Ok(mut stream) = signal(SignalKind::from_raw(number)) {
                let fire = on(short);
                let stopping = token.clone();
                tokio::spawn(async move {
                    while stream.recv().await.is_some() {
                        if force && stopping.is_cancelled() {
                            std::process::exit(128 + i32::from(short));
                        }
                        fire();
                    }
                });
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = sigpipe;
        let interrupt = on(SIGINT);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupt();
            }
        });
    }
    seen
}

//! The slow-peer guard shared by the server's connections and
//! [`BodyReader`](super::BodyReader): an idle timeout and a minimum data
//! rate, measured over the time spent waiting on the peer.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// A minimum data rate: the bytes moved must be at least `bytes_per_sec`
/// times the time spent waiting on the peer, once that time passes `grace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MinRate {
    pub(crate) bytes_per_sec: u64,
    pub(crate) grace: Duration,
}

/// Why a guard gave up on its peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trip {
    /// No progress for the idle timeout.
    Idle(Duration),
    /// Slower than the minimum rate.
    Slow(u64),
}

impl fmt::Display for Trip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trip::Idle(d) => write!(f, "no progress for {:.1}s", d.as_secs_f64()),
            Trip::Slow(rate) => write!(f, "slower than the minimum data rate of {rate} bytes/s"),
        }
    }
}

/// Watches one direction of a peer. `progress` is called with what each
/// ready operation moved, `poll_pending` whenever the operation was
/// `Pending`; the guard then keeps a timer armed for the moment it would
/// trip, so it trips even if nothing else wakes the task.
pub(crate) struct RateGuard {
    idle: Option<Duration>,
    rate: Option<MinRate>,
    /// Whether one wait may last as long as the previous step takes at the
    /// minimum rate (see [`RateGuard::paced_idle`]).
    paced_idle: bool,
    /// Bytes moved so far.
    moved: u64,
    /// Bytes moved since the last wait ended.
    burst: u64,
    /// Bytes moved between the two waits before the current one.
    step: u64,
    /// Time spent waiting, not counting the current wait.
    waited: Duration,
    pending_since: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl fmt::Debug for RateGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateGuard")
            .field("idle", &self.idle)
            .field("rate", &self.rate)
            .field("paced_idle", &self.paced_idle)
            .field("moved", &self.moved)
            .field("step", &self.step)
            .field("waited", &self.waited)
            .finish()
    }
}

impl RateGuard {
    pub(crate) fn new(idle: Option<Duration>, rate: Option<MinRate>) -> Self {
        RateGuard {
            idle,
            rate: rate.filter(|r| r.bytes_per_sec > 0),
            paced_idle: false,
            moved: 0,
            burst: 0,
            step: 0,
            waited: Duration::ZERO,
            pending_since: None,
            sleep: None,
        }
    }

    pub(crate) fn is_off(&self) -> bool {
        self.idle.is_none() && self.rate.is_none()
    }

    /// Lets one wait last longer than the idle timeout when the peer moves
    /// data in large steps: as long as the bytes moved after the previous
    /// wait would take at the minimum rate, twice over, and at most four
    /// idle timeouts.
    ///
    /// A server's socket is woken only when the client's receive window
    /// reopens, which a client reading slowly does in steps of half its
    /// receive buffer: a client taking 240 bytes/s steadily through a
    /// 16 KiB buffer leaves the writer waiting about 34 s at a time. What
    /// the socket accepted after the previous wake-up is what the client
    /// must take before the next one, so that is the step.
    pub(crate) fn paced_idle(mut self, on: bool) -> Self {
        self.paced_idle = on;
        self
    }

    /// An operation moved `n` bytes.
    pub(crate) fn progress(&mut self, n: usize) {
        if let Some(since) = self.pending_since.take() {
            self.waited += since.elapsed();
            self.burst = 0;
        }
        self.moved += n as u64;
        self.burst += n as u64;
    }

    /// How long the current wait may last without progress.
    fn idle_limit(&self, idle: Duration) -> Duration {
        match self.rate {
            Some(rate) if self.paced_idle => {
                let step =
                    Duration::from_secs_f64(2.0 * self.step as f64 / rate.bytes_per_sec as f64);
                idle.max(step.min(idle.saturating_mul(4)))
            }
            _ => idle,
        }
    }

    /// An operation is waiting on the peer: trips, or arms the timer.
    pub(crate) fn poll_pending(&mut self, cx: &mut Context<'_>) -> Result<(), Trip> {
        if self.is_off() {
            return Ok(());
        }
        if self.pending_since.is_none() {
            // A wait begins: what moved since the previous one is a step.
            self.step = self.burst;
        }
        loop {
            let now = Instant::now();
            let since = *self.pending_since.get_or_insert(now);
            let this_wait = now.saturating_duration_since(since);
            let mut deadline: Option<Instant> = None;
            if let Some(idle) = self.idle {
                let idle = self.idle_limit(idle);
                if this_wait >= idle {
                    return Err(Trip::Idle(idle));
                }
                // A limit too long to add to the clock is no deadline.
                deadline = since.checked_add(idle);
            }
            if let Some(rate) = self.rate {
                // Trips once the waiting time passes both the grace period
                // and the time the bytes moved so far would take at the
                // minimum rate.
                let earned = Duration::from_secs_f64(self.moved as f64 / rate.bytes_per_sec as f64);
                let allowed = earned.max(rate.grace);
                let total = self.waited + this_wait;
                if total >= allowed {
                    return Err(Trip::Slow(rate.bytes_per_sec));
                }
                if let Some(at) = now.checked_add(allowed - total) {
                    deadline = Some(deadline.map_or(at, |d| d.min(at)));
                }
            }
            let Some(deadline) = deadline else {
                return Ok(());
            };
            let sleep = match self.sleep.as_mut() {
                Some(s) => {
                    if s.deadline() != deadline {
                        s.as_mut().reset(deadline);
                    }
                    s
                }
                None => self
                    .sleep
                    .insert(Box::pin(tokio::time::sleep_until(deadline))),
            };
            match sleep.as_mut().poll(cx) {
                Poll::Pending => return Ok(()),
                // The deadline has passed: check again (it trips now).
                Poll::Ready(()) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn paced_idle_stretches_one_wait_by_the_previous_step() {
        let idle = Duration::from_secs(2);
        let rate = MinRate {
            bytes_per_sec: 1000,
            grace: Duration::ZERO,
        };
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        let mut g = RateGuard::new(Some(idle), Some(rate)).paced_idle(true);
        // 3000 bytes before the first wait: 3 s at 1000 bytes/s, twice.
        g.progress(3000);
        assert_eq!(g.poll_pending(&mut cx), Ok(()));
        assert_eq!(g.idle_limit(idle), Duration::from_secs(6));
        // A huge step: at most four idle timeouts.
        g.progress(1_000_000);
        assert_eq!(g.poll_pending(&mut cx), Ok(()));
        assert_eq!(g.idle_limit(idle), Duration::from_secs(8));
        // A small step: the idle timeout itself.
        g.progress(10);
        assert_eq!(g.poll_pending(&mut cx), Ok(()));
        assert_eq!(g.idle_limit(idle), idle);
        // Off, or without a minimum rate: the idle timeout.
        let mut plain = RateGuard::new(Some(idle), Some(rate));
        plain.progress(3000);
        assert_eq!(plain.poll_pending(&mut cx), Ok(()));
        assert_eq!(plain.idle_limit(idle), idle);
        let mut no_rate = RateGuard::new(Some(idle), None).paced_idle(true);
        no_rate.progress(3000);
        assert_eq!(no_rate.poll_pending(&mut cx), Ok(()));
        assert_eq!(no_rate.idle_limit(idle), idle);
    }
}

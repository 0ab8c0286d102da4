//! Watching a run while it goes: the timeline's sampler and the stall
//! watchdog, on the task that awaits the run (no task of their own).

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use weir_core::Error;

use crate::engine::{self, TaskSpec};
use crate::meter::track;
use crate::monitor::TimelineSlot;
use crate::report::{Report, Snapshot, StageKind, StageMeters};
use crate::timeline::Sampler;

/// What a run's stall watchdog does once no stage has made progress for the
/// stall timeout (see [`Pipeline::stall_timeout`](crate::Pipeline::stall_timeout)).
/// In both cases it logs its diagnosis first (a tracing WARN event, target
/// `weir_pipe::watch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnStall {
    /// End the run with an error for which [`Error::is_stalled`] is true,
    /// naming the stage that holds the run (the default).
    #[default]
    Fail,
    /// Keep waiting (the diagnosis is logged again only after the run has
    /// moved and stalled anew).
    Warn,
}

/// What watches a run: off unless asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watch {
    /// Sample the timeline at this interval.
    pub(crate) timeline: Option<Duration>,
    /// The stall timeout, and what to do when it passes.
    pub(crate) stall: Option<Duration>,
    pub(crate) on_stall: OnStall,
}

/// How long a run stopped by its watchdog may take to end before `run()`
/// gives up on stages stuck in synchronous code: at least this, at most the
/// stall timeout.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// Runs the tasks as [`engine::run`] does, with the timeline and the
/// watchdog `watch` asks for.
pub(crate) async fn run(
    mut tasks: Vec<TaskSpec>,
    token: Option<CancellationToken>,
    watch: Watch,
    slot: TimelineSlot,
    #[cfg(feature = "metrics")] labels: Vec<metrics::Label>,
) -> Result<Report, Error> {
    // Each stage's start and end, for monitors and the watchers: one
    // wrapper per task, two clock reads per run. A lone task (a one-task
    // pipeline, polled in the caller's task) is tracked by
    // `engine::run` itself, without a wrapper to go through at every poll.
    if tasks.len() > 1 {
        for t in &mut tasks {
            let fut = std::mem::replace(&mut t.fut, Box::pin(async { Ok(()) }));
            t.fut = Box::pin(track(fut, t.meters.life.clone()));
        }
    }
    if watch.timeline.is_none() && watch.stall.is_none() {
        return engine::run(
            tasks,
            token,
            #[cfg(feature = "metrics")]
            labels,
        )
        .await;
    }
    let meters: Vec<StageMeters> = tasks.iter().flat_map(TaskSpec::stages).cloned().collect();
    let stop = match &token {
        Some(t) => t.child_token(),
        None => CancellationToken::new(),
    };
    let start = Instant::now();
    let mut sampler = watch
        .timeline
        .map(|every| Sampler::new(meters.clone(), every, start));
    let mut stall = watch.stall.map(|timeout| Stall::new(timeout, start));
    let tick = [
        watch.timeline,
        watch
            .stall
            .map(|t| (t / 4).clamp(Duration::from_millis(5), Duration::from_secs(1))),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(Duration::from_millis(100))
    .max(Duration::from_millis(1));
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let run = engine::run(
        tasks,
        Some(stop.clone()),
        #[cfg(feature = "metrics")]
        labels,
    );
    tokio::pin!(run);
    let mut stalled: Option<Error> = None;
    let result = loop {
        tokio::select! {
            r = &mut run => break r,
            _ = ticker.tick(), if stalled.is_none() => {
                let now = Instant::now();
                if let Some(s) = sampler.as_mut() {
                    s.tick(now);
                }
                let Some(st) = stall.as_mut() else { continue };
                let Some(e) = st.check(now, &meters) else { continue };
                if watch.on_stall == OnStall::Fail {
                    stalled = Some(e);
                    stop.cancel();
                }
            }
            () = tokio::time::sleep(grace(watch.stall)), if stalled.is_some() => {
                // Stages stuck in synchronous code cannot be aborted: give
                // up on them (their tasks end when that code returns).
                break Err(Error::cancelled());
            }
        }
    };
    let result = match (result, stalled) {
        (Ok(report), _) => Ok(report),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(e),
    };
    let Some(sampler) = sampler else {
        return result;
    };
    let bottleneck = match &result {
        Ok(r) => r.bottleneck.clone(),
        // A stalled run: the stage that held it.
        Err(e) if e.is_stalled() => e.stage().map(str::to_string),
        Err(_) => None,
    };
    let timeline = sampler.finish(Instant::now(), bottleneck);
    if let Ok(mut s) = slot.lock() {
        *s = Some(timeline.clone());
    }
    result.map(|mut report| {
        report.timeline = Some(timeline);
        report
    })
}

fn grace(stall: Option<Duration>) -> Duration {
    stall.map_or(STOP_GRACE, |t| t.max(STOP_GRACE))
}

/// The stall watchdog: notices when no counter of any stage has moved for
/// the timeout.
struct Stall {
    timeout: Duration,
    /// The sum of every stage's chunk counts, and its ended flags.
    last: u64,
    since: Instant,
    fired: bool,
}

impl Stall {
    fn new(timeout: Duration, start: Instant) -> Self {
        Stall {
            timeout,
            last: 0,
            since: start,
            fired: false,
        }
    }

    /// Looks at the stages; on a new stall, logs the diagnosis and returns
    /// the error that names it.
    fn check(&mut self, now: Instant, meters: &[StageMeters]) -> Option<Error> {
        let snaps: Vec<Snapshot> = meters.iter().map(|m| m.snapshot(now)).collect();
        let moved = snaps.iter().fold(0u64, |acc, s| {
            acc.wrapping_add(s.chunks_in)
                .wrapping_add(s.chunks_out)
                .wrapping_add(u64::from(s.ended))
        });
        if moved != self.last {
            self.last = moved;
            self.since = now;
            self.fired = false;
            return None;
        }
        let still = now.saturating_duration_since(self.since);
        if self.fired || still < self.timeout || snaps.iter().all(|s| s.ended) {
            return None;
        }
        self.fired = true;
        let (root, line) = diagnose(meters, &snaps, still);
        tracing::warn!(stage = %root, stalled.ms = still.as_millis() as u64, "stalled: {line}");
        Some(Error::stalled(line).with_stage(root))
    }
}

/// What one stage is doing at a stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Doing {
    Finished,
    NotStarted,
    Blocked,
    Starved,
    WaitingIo,
    Working,
}

fn doing(s: &Snapshot) -> Doing {
    if s.ended {
        Doing::Finished
    } else if s.lifetime.is_zero() {
        Doing::NotStarted
    } else if s.blocked_now {
        Doing::Blocked
    } else if s.starved_now {
        Doing::Starved
    } else if s.io_now {
        Doing::WaitingIo
    } else {
        Doing::Working
    }
}

/// The stage reading what stage `i` writes, and the one writing what it
/// reads (buffers are matched by name).
fn neighbour(meters: &[StageMeters], i: usize, downstream: bool) -> Option<&str> {
    let me = &meters[i];
    meters
        .iter()
        .find(|m| {
            if downstream {
                m.input.as_ref().is_some_and(|inp| {
                    me.outputs
                        .iter()
                        .any(|o| o.name().is_some() && o.name() == inp.name())
                })
            } else {
                me.input.as_ref().is_some_and(|inp| {
                    m.outputs
                        .iter()
                        .any(|o| o.name().is_some() && o.name() == inp.name())
                })
            }
        })
        .map(|m| &*m.name)
}

/// The diagnosis of a stall: the stage holding the run, and one line that
/// says what every stage waits on, that stage first, then the others by
/// their distance from it.
fn diagnose(meters: &[StageMeters], snaps: &[Snapshot], still: Duration) -> (String, String) {
    let states: Vec<Doing> = snaps.iter().map(doing).collect();
    let root = states
        .iter()
        .position(|d| matches!(d, Doing::WaitingIo | Doing::Working))
        .or_else(|| states.iter().position(|d| !matches!(d, Doing::Finished)))
        .unwrap_or(0);
    let mut order: Vec<usize> = (0..meters.len()).collect();
    order.sort_by_key(|&i| (states[i] == Doing::Finished, i.abs_diff(root), i));
    let parts: Vec<String> = order
        .iter()
        .map(|&i| {
            let name = &*meters[i].name;
            match states[i] {
                Doing::Finished => format!("{name} finished"),
                Doing::NotStarted => format!("{name} not started"),
                Doing::Blocked => match neighbour(meters, i, true) {
                    Some(next) => format!("{name} blocked on a full buffer ({next} takes nothing)"),
                    None => format!("{name} blocked on a full buffer"),
                },
                Doing::Starved => match neighbour(meters, i, false) {
                    Some(prev) => format!("{name} starved (nothing from {prev})"),
                    None => format!("{name} starved"),
                },
                Doing::WaitingIo => match meters[i].kind {
                    StageKind::Source => format!("{name} waits on its input (nothing arrives)"),
                    StageKind::Sink => format!("{name} waits on its output (it takes nothing)"),
                    _ => format!("{name} waits on its own I/O or calls"),
                },
                // A fused stage's waits for its calls are not metered.
                Doing::Working if meters[i].fused => {
                    format!("{name} waits on its calls or is busy in its own code (fused: not told apart)")
                }
                Doing::Working => format!("{name} busy in its own code (no return)"),
            }
        })
        .collect();
    let line = format!(
        "{:.1} s without progress: {}",
        still.as_secs_f64(),
        parts.join("; ")
    );
    (meters[root].name.to_string(), line)
}

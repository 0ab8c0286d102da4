use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use weir_core::{Stats, StatsHandle, Unit};

use crate::engine::Counter;
use crate::report::{StageKind, StageMeters};
use crate::timeline::{StageState, Timeline};

/// Where a run leaves its timeline for its monitors.
pub(crate) type TimelineSlot = Arc<Mutex<Option<Timeline>>>;

/// Watches a pipeline while it runs: what the source has produced so far and
/// each buffer's live [`Stats`]. Cheap to clone and to read (no locks).
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use weir::pipe::Pipeline;
/// use weir::{readable, writable::ChunkWriter};
///
/// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter((0..100).map(|_| Bytes::from(vec![1u8; 1000])));
/// let run = Pipeline::from(src).into(ChunkWriter::new(tokio::io::sink()));
/// let monitor = run.monitor();
/// run.run().await?;
/// assert_eq!(monitor.bytes_in(), 100_000);
/// assert_eq!(monitor.buffers().len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Monitor {
    pulled: Arc<Counter>,
    unit: Unit,
    buffers: Vec<StatsHandle>,
    timeline: TimelineSlot,
    stages: Vec<StageMeters>,
}

/// One stage of a running pipeline, as [`Monitor::stages`] sees it now.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LiveStage {
    /// The stage's name.
    pub name: String,
    /// What the stage is.
    pub kind: StageKind,
    /// The unit of `buffered` and `amount_out` (`"bytes"` or `"items"`).
    pub unit: &'static str,
    /// What its output buffer holds (0 for a sink).
    pub buffered: usize,
    /// Its output buffer's high mark (0 for a sink).
    pub buffer_high: usize,
    /// Amount taken in so far.
    pub amount_in: u64,
    /// Amount put out so far.
    pub amount_out: u64,
    /// What it is doing now ([`StageState::Idle`] before it starts and
    /// once it has ended).
    pub state: StageState,
    /// Whether it has ended.
    pub ended: bool,
}

impl Monitor {
    pub(crate) fn new(pulled: Arc<Counter>, unit: Unit) -> Self {
        Monitor {
            pulled,
            unit,
            buffers: Vec::new(),
            timeline: TimelineSlot::default(),
            stages: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, h: StatsHandle) {
        self.buffers.push(h);
    }

    /// Amount pulled from the source so far (bytes, or items for objects).
    pub fn bytes_in(&self) -> u64 {
        self.pulled.units.load(Relaxed)
    }

    /// Chunks pulled from the source so far.
    pub fn chunks_in(&self) -> u64 {
        self.pulled.chunks.load(Relaxed)
    }

    /// The unit of [`bytes_in`](Monitor::bytes_in).
    pub fn unit(&self) -> Unit {
        self.unit
    }

    /// Each buffer's name and live stats, source side first.
    pub fn buffers(&self) -> Vec<(String, Stats)> {
        self.buffers
            .iter()
            .map(|h| (h.name().unwrap_or("").to_string(), h.stats()))
            .collect()
    }

    /// The run's timeline, once a run that records one
    /// ([`Run::timeline`](crate::Run::timeline)) has ended, whether it
    /// succeeded or failed (a stalled run's timeline shows the stall).
    pub fn timeline(&self) -> Option<Timeline> {
        self.timeline.lock().ok().and_then(|t| t.clone())
    }

    /// Each stage's live figures and state, source first.
    ///
    /// # Examples
    /// ```
    /// use weir::pipe::{Pipeline, StageState};
    /// use weir::{readable, writable};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let run = Pipeline::from(readable::from_iter(0..10u32))
    ///     .into(writable::from_fn(|_n: u32| async { Ok(()) }));
    /// let monitor = run.monitor();
    /// assert_eq!(monitor.stages()[1].state, StageState::Idle); // not started
    /// run.run().await?;
    /// let stages = monitor.stages();
    /// assert_eq!(stages[0].name, "source");
    /// assert!(stages.iter().all(|s| s.ended));
    /// assert_eq!(stages[1].amount_in, 10);
    /// # Ok(()) }
    /// ```
    pub fn stages(&self) -> Vec<LiveStage> {
        let now = std::time::Instant::now();
        self.stages
            .iter()
            .map(|m| {
                let s = m.snapshot(now);
                let state = if s.ended || s.lifetime.is_zero() {
                    StageState::Idle
                } else if s.blocked_now {
                    StageState::Blocked
                } else if s.starved_now {
                    StageState::Starved
                } else if s.io_now {
                    StageState::WaitingIo
                } else {
                    StageState::Working
                };
                LiveStage {
                    name: m.name.to_string(),
                    kind: m.kind,
                    unit: m.unit_out(),
                    buffered: s.buffered,
                    buffer_high: s.high,
                    amount_in: s.amount_in,
                    amount_out: s.amount_out,
                    state,
                    ended: s.ended,
                }
            })
            .collect()
    }

    pub(crate) fn with_stages(mut self, stages: Vec<StageMeters>) -> Self {
        self.stages = stages;
        self
    }

    pub(crate) fn timeline_slot(&self) -> TimelineSlot {
        self.timeline.clone()
    }

    /// What all the buffers hold right now, added up (in their own units).
    pub fn buffered(&self) -> usize {
        self.buffers.iter().map(StatsHandle::buffered).sum()
    }
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("bytes_in", &self.bytes_in())
            .field("buffered", &self.buffered())
            .finish()
    }
}

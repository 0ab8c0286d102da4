//! A durable pull consumer as a weir readable.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_nats::client::FlushErrorKind;
use async_nats::connection::State;
use async_nats::jetstream::consumer::pull::BatchConfig;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::jetstream::{self, AckKind, ErrorCode};
use async_nats::{Statistics, StatusCode, Subscriber};
use bytes::Bytes;
use futures_core::Stream;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::time::{Instant, Sleep};
use weir_core::Error;

use crate::ack::{Ack, Acked};
use crate::stats::{Counters, SourceStats};

/// Default messages per pull request (not part of the semver contract).
pub const DEFAULT_BATCH: usize = 256;
/// Default bytes per pull request (not part of the semver contract).
pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;

/// How long the broker holds a pull request that finds no message.
const EXPIRES: Duration = Duration::from_secs(1);
/// Failed pull requests in a row after which the source gives up.
const MAX_FAILURES: u32 = 10;
/// What a pull's byte limit allows beyond the server's max payload: the
/// broker counts a message's subject and headers too, and a pull whose
/// limit is below the next message's size would never get it.
const PULL_OVERHEAD: usize = 16 * 1024;
/// The longest a stopping source waits for its pulls to end (beyond their
/// expiry, itself counted at most [`RELEASE_EXPIRES_CAP`]).
const RELEASE_SLACK: Duration = Duration::from_millis(500);
/// See [`RELEASE_SLACK`].
const RELEASE_EXPIRES_CAP: Duration = Duration::from_secs(5);
/// How often a source with pulls out (or without a connection) looks at the
/// connection: pulls sent before a reconnection are gone with the old
/// connection, and are sent again.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// A durable JetStream pull consumer as a readable of [`Acked<Bytes>`]:
/// each message's payload with its acknowledgement handle.
///
/// # Backpressure
/// The source asks the broker for messages only when it is polled: a pull
/// request of at most [`batch`](SourceBuilder::batch) messages and
/// [`max_bytes`](SourceBuilder::max_bytes) bytes, and the next one once
/// half of the current one has been read, so at most two pulls are
/// outstanding. A reader that is not polled stops the fetching: it holds
/// at most two pulls' worth of messages, never the stream. Downstream of
/// the source, the consumer's `max_ack_pending` bounds what is in flight
/// between the fetch and the sinks' commits (for every worker sharing the
/// consumer): at the limit, the broker delivers nothing more until a sink
/// commits.
///
/// # Ending
/// The stream ends (cleanly) when the future given to
/// [`stop_on`](SourceBuilder::stop_on) resolves, after
/// [`limit`](SourceBuilder::limit) messages, or when nothing arrived for
/// [`idle`](SourceBuilder::idle). Otherwise it runs until an error.
///
/// # Release of what was fetched and not read
/// A source that stops (it ends, or it is dropped) sends no more pulls,
/// waits for the ones it has out to end (their expiry, 1 s by default, at
/// most 5 s, plus half a second) and negatively acknowledges every message
/// they brought that nobody read, so that the broker delivers them again at
/// once, to another worker sharing the consumer, rather than after
/// `ack_wait` (counted in [`released`](crate::SourceCounts::released)).
/// They are released only once the pulls are over, so that none comes back
/// to this source and counts a delivery twice. A dropped source does so on a
/// task of its own (when dropped inside a Tokio runtime). Messages already
/// read are the reader's: a sink commits or fails them.
///
/// # Errors
/// The stream yields an error (stage `consume`) and ends when the consumer
/// is deleted, when pull requests keep failing, or when the connection is
/// gone for good (the client gave up reconnecting: see
/// [`connect_with`](crate::connect_with)).
#[must_use = "streams do nothing unless polled"]
pub struct JetStreamSource {
    consumer: PullConsumer,
    batch: usize,
    max_bytes: usize,
    expires: Duration,
    max_deliver: Option<u64>,
    counters: Arc<Counters>,
    /// The one inbox every pull's messages come to (one subscription for
    /// the source's life: a subscription per pull could miss the first
    /// messages of each while its interest spreads through a cluster).
    inbox: async_nats::Subject,
    /// `None` once the source has stopped.
    subscriber: Option<Subscriber>,
    context: jetstream::Context,
    /// A stopped source releasing what its pulls still bring.
    releasing: Option<BoxFuture<'static, ()>>,
    requesting: Option<BoxFuture<'static, Result<(), String>>>,
    /// The size of the pull being requested.
    asking: usize,
    /// The pulls sent and not yet served, oldest first.
    batches: VecDeque<Pull>,
    stop: Option<BoxFuture<'static, ()>>,
    idle: Option<(Duration, Pin<Box<Sleep>>)>,
    last_arrival: Instant,
    /// The last poll returned an item.
    yielded: bool,
    backoff: Option<Pin<Box<Sleep>>>,
    /// Wakes the source to look at its pulls' deadlines and the connection.
    tick: Option<(Instant, Pin<Box<Sleep>>)>,
    /// The client's connection figures (its count of connections made).
    connection: Arc<Statistics>,
    /// The client (its connection state).
    client: async_nats::Client,
    /// While the client is disconnected: whether it has given up
    /// reconnecting (a flush it can no longer take).
    probe: Option<BoxFuture<'static, bool>>,
    failures: u32,
    /// The most messages to read in all ([`SourceBuilder::limit`]).
    limit: Option<u64>,
    received: u64,
    done: bool,
}

/// A pull request being served.
struct Pull {
    asked: usize,
    received: usize,
    /// When the broker should have answered it at the latest.
    deadline: Instant,
    /// The client's connections made when it was sent: after a reconnection
    /// it is gone.
    epoch: u64,
}

impl fmt::Debug for JetStreamSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JetStreamSource")
            .field("consumer", &self.consumer.cached_info().name)
            .field("batch", &self.batch)
            .field("max_bytes", &self.max_bytes)
            .field("pulls_outstanding", &self.batches.len())
            .finish()
    }
}

/// Opens a [`JetStreamSource`]: the stream and consumer names, whether to
/// create the consumer, and the limits.
pub struct SourceBuilder {
    context: jetstream::Context,
    stream: String,
    consumer: String,
    create: bool,
    batch: usize,
    max_bytes: usize,
    max_ack_pending: i64,
    max_deliver: i64,
    ack_wait: Duration,
    expires: Duration,
    idle: Option<Duration>,
    stop: Option<BoxFuture<'static, ()>>,
    limit: Option<u64>,
}

impl fmt::Debug for SourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceBuilder")
            .field("stream", &self.stream)
            .field("consumer", &self.consumer)
            .field("create", &self.create)
            .field("batch", &self.batch)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

impl JetStreamSource {
    /// A builder for a source reading `stream` through the durable pull
    /// consumer `consumer`.
    pub fn builder(
        context: jetstream::Context,
        stream: impl Into<String>,
        consumer: impl Into<String>,
    ) -> SourceBuilder {
        SourceBuilder {
            context,
            stream: stream.into(),
            consumer: consumer.into(),
            create: true,
            batch: DEFAULT_BATCH,
            max_bytes: DEFAULT_MAX_BYTES,
            max_ack_pending: 1000,
            max_deliver: 5,
            ack_wait: Duration::from_secs(30),
            expires: EXPIRES,
            idle: None,
            stop: None,
            limit: None,
        }
    }

    /// A handle on the counters (this side) and on the consumer's figures
    /// (the broker's side).
    pub fn stats(&self) -> SourceStats {
        SourceStats {
            counters: self.counters.clone(),
            consumer: self.consumer.clone(),
        }
    }

    /// The consumer's `max_deliver` as the broker has it (`None`: unlimited).
    pub fn max_deliver(&self) -> Option<u64> {
        self.max_deliver
    }

    /// The size of the next pull: the batch, or what is left to read
    /// under the limit once the outstanding pulls are served (0: none).
    fn next_pull_size(&self) -> usize {
        let Some(limit) = self.limit else {
            return self.batch;
        };
        let outstanding: u64 = self
            .batches
            .iter()
            .map(|p| (p.asked - p.received) as u64)
            .sum();
        let left = limit.saturating_sub(self.received + outstanding);
        usize::try_from(left).unwrap_or(usize::MAX).min(self.batch)
    }

    fn start_pull(&mut self, batch: usize) {
        let consumer = self.consumer.clone();
        let inbox = self.inbox.clone();
        let config = BatchConfig {
            batch,
            expires: Some(self.expires),
            max_bytes: self.max_bytes,
            ..Default::default()
        };
        self.asking = batch;
        self.requesting = Some(
            async move {
                consumer
                    .request_batch(config, inbox)
                    .await
                    .map_err(|e| e.to_string())
            }
            .boxed(),
        );
    }

    /// Whether the client is connected (pulls sent meanwhile would wait in
    /// its queue and pile up at the broker once it is back).
    fn connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    fn epoch(&self) -> u64 {
        self.connection
            .connects
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets the pulls past their deadline or sent on an earlier
    /// connection (the broker will not answer them).
    fn drop_lost_pulls(&mut self) {
        let now = Instant::now();
        let epoch = self.epoch();
        self.batches
            .retain(|p| p.deadline > now && p.epoch == epoch);
    }

    /// Wakes the source by `at` at the latest.
    fn wake_by(&mut self, cx: &mut Context<'_>, at: Instant) {
        match self.tick.as_mut() {
            Some((when, _)) if *when <= at && *when > Instant::now() => {}
            Some((when, sleep)) => {
                *when = at;
                sleep.as_mut().reset(at);
                let _ = sleep.as_mut().poll(cx);
            }
            None => {
                let mut sleep = Box::pin(tokio::time::sleep_until(at));
                let _ = sleep.as_mut().poll(cx);
                self.tick = Some((at, sleep));
            }
        }
    }

    /// Whether to ask for another batch now: none is being asked for, and
    /// none is outstanding, or one is and half of it has arrived.
    fn wants_pull(&self) -> bool {
        self.requesting.is_none()
            && self.backoff.is_none()
            && match self.batches.len() {
                0 => true,
                1 => self.batches[0].received * 2 >= self.batches[0].asked,
                _ => false,
            }
            && self.connected()
    }

    /// A failed pull: retried after a pause, up to [`MAX_FAILURES`] in a row.
    fn failed(&mut self, why: String) -> Option<Error> {
        self.failures += 1;
        tracing::debug!(failures = self.failures, error = %why, "pull failed");
        if self.failures >= MAX_FAILURES {
            self.done = true;
            return Some(
                Error::msg(format!(
                    "pulling from consumer {:?}: {why} ({} attempts)",
                    self.consumer.cached_info().name,
                    self.failures
                ))
                .with_stage("consume"),
            );
        }
        let pause = Duration::from_millis(100 << self.failures.min(4));
        self.backoff = Some(Box::pin(tokio::time::sleep(pause)));
        None
    }

    fn item(&mut self, message: jetstream::Message) -> Result<Acked<Bytes>, Error> {
        let (stream_sequence, delivered) = match message.info() {
            Ok(info) => (info.stream_sequence, info.delivered.max(0) as u64),
            Err(e) => {
                return Err(
                    Error::msg(format!("a message without JetStream metadata: {e}"))
                        .with_stage("consume"),
                );
            }
        };
        let (message, acker) = message.split();
        let c = &self.counters;
        c.received.add(1);
        c.bytes.add(message.payload.len() as u64);
        if delivered > 1 {
            c.redelivered.add(1);
        }
        let ack = Ack::new(
            acker,
            stream_sequence,
            delivered,
            self.max_deliver,
            self.counters.clone(),
        );
        Ok(Acked::new(message.payload, ack))
    }

    fn poll_stop(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(stop) = self.stop.as_mut()
            && stop.as_mut().poll(cx).is_ready()
        {
            return true;
        }
        false
    }

    /// Whether nothing has arrived for the idle time. Asked only when
    /// nothing is waiting to be read: a reader that was not polled for a
    /// while (its sink was slow) reads what arrived meanwhile first.
    fn idle_over(&mut self, cx: &mut Context<'_>) -> bool {
        if self.idle.is_some() && !self.connected() {
            // Silence while the connection is down is not the stream's.
            self.last_arrival = Instant::now();
        }
        if let Some((idle, timer)) = self.idle.as_mut()
            && timer.as_mut().poll(cx).is_ready()
        {
            let deadline = self.last_arrival + *idle;
            if Instant::now() >= deadline {
                return true;
            }
            timer.as_mut().reset(deadline);
            // Registers the waker for the new deadline.
            let _ = timer.as_mut().poll(cx);
        }
        false
    }
}

impl JetStreamSource {
    /// `Pending`, or the end once the source has been idle long enough.
    fn pending_or_idle(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Acked<Bytes>, Error>>> {
        // Look again at the pulls (their deadlines, a reconnection) or at
        // the connection soon: no message may come to wake the source.
        let check = Instant::now() + CHECK_EVERY;
        let at = match self.batches.front() {
            Some(p) => p.deadline.min(check),
            None if !self.connected() => check,
            None => check + EXPIRES,
        };
        self.wake_by(cx, at);
        if !self.connected() {
            let probe = self.probe.get_or_insert_with(|| {
                let client = self.client.clone();
                async move {
                    matches!(client.flush().await,
                        Err(e) if e.kind() == FlushErrorKind::SendError)
                }
                .boxed()
            });
            if let Poll::Ready(closed) = probe.as_mut().poll(cx) {
                self.probe = None;
                if closed {
                    return Poll::Ready(Some(Err(self.connection_lost())));
                }
            }
        }
        if self.idle_over(cx) {
            return self.stop(cx);
        }
        Poll::Pending
    }

    /// The error that ends a source whose client gave up reconnecting.
    fn connection_lost(&mut self) -> Error {
        self.done = true;
        self.subscriber = None;
        self.probe = None;
        Error::msg(
            "lost the connection to the server and could not reconnect in time \
             (what was not acknowledged is delivered again, to another worker \
             or to the next run)",
        )
        .with_stage("consume")
    }

    /// Stops: no more pulls; what the outstanding ones bring is released
    /// (see [`JetStreamSource`]'s "Release"), then the stream ends.
    fn stop(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Acked<Bytes>, Error>>> {
        if self.releasing.is_none() {
            self.releasing = self.release();
        }
        if let Some(r) = self.releasing.as_mut() {
            if r.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.releasing = None;
        }
        self.done = true;
        Poll::Ready(None)
    }

    /// The future that releases what the outstanding pulls bring, or `None`
    /// when there is nothing to wait for.
    fn release(&mut self) -> Option<BoxFuture<'static, ()>> {
        let subscriber = self.subscriber.take()?;
        let requesting = self.requesting.take();
        let pulls: VecDeque<usize> = self
            .batches
            .drain(..)
            .map(|p| p.asked.saturating_sub(p.received))
            .filter(|&n| n > 0)
            .collect();
        let until = Instant::now() + self.expires.min(RELEASE_EXPIRES_CAP) + RELEASE_SLACK;
        Some(
            release(
                subscriber,
                requesting.map(|r| (r, self.asking)),
                pulls,
                self.context.clone(),
                self.counters.clone(),
                until,
            )
            .boxed(),
        )
    }
}

impl Drop for JetStreamSource {
    fn drop(&mut self) {
        if self.subscriber.is_none() {
            return;
        }
        // Dropped while it had pulls out: release what they bring on a task
        // of its own (nothing to do outside a runtime: the broker delivers
        // them again after ack_wait).
        if let Ok(handle) = tokio::runtime::Handle::try_current()
            && let Some(release) = self.release()
        {
            handle.spawn(release);
        }
    }
}

/// Releases what a stopped source's pulls bring: waits (until `until`) for
/// every outstanding pull to end, keeping the messages that arrive, then
/// unsubscribes and negatively acknowledges each so that the broker delivers
/// it again at once. Not before the pulls are over: a message released
/// while a pull of this source still waits at the broker could be delivered
/// to it again, and count one more delivery toward `max_deliver`.
async fn release(
    mut subscriber: Subscriber,
    requesting: Option<(BoxFuture<'static, Result<(), String>>, usize)>,
    mut pulls: VecDeque<usize>,
    context: jetstream::Context,
    counters: Arc<Counters>,
    until: Instant,
) {
    use futures_util::StreamExt;
    // At most the outstanding pulls' worth (their count and byte limits).
    let mut kept: Vec<async_nats::Message> = Vec::new();
    let gather = async {
        if let Some((request, asked)) = requesting
            && request.await.is_ok()
        {
            pulls.push_back(asked);
        }
        while !pulls.is_empty() {
            let Some(message) = subscriber.next().await else {
                break;
            };
            match message.status.unwrap_or(StatusCode::OK) {
                StatusCode::OK => {
                    if let Some(front) = pulls.front_mut() {
                        *front = front.saturating_sub(1);
                        if *front == 0 {
                            pulls.pop_front();
                        }
                    }
                    kept.push(message);
                }
                StatusCode::IDLE_HEARTBEAT => {}
                _ => {
                    let description = message.description.as_deref().unwrap_or("");
                    if description.contains("Batch Completed") {
                        continue;
                    }
                    if description.contains("Leadership Change")
                        || description.contains("Server Shutdown")
                    {
                        pulls.clear();
                    } else {
                        pulls.pop_front();
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout_at(until, gather).await;
    // Whatever else has arrived already.
    while let Some(Some(message)) = subscriber.next().now_or_never() {
        if message.status.unwrap_or(StatusCode::OK) == StatusCode::OK {
            kept.push(message);
        }
    }
    let _ = subscriber.unsubscribe().await;
    for message in kept {
        let message = jetstream::Message {
            message,
            context: context.clone(),
        };
        if message.ack_with(AckKind::Nak(None)).await.is_ok() {
            counters.released.add(1);
        }
    }
    // The negative acknowledgements are on their way; make sure they left.
    let _ = tokio::time::timeout_at(until + RELEASE_SLACK, context.client().flush()).await;
}

/// Whether a status the broker ended a pull with means the consumer is
/// gone or cannot serve pulls (else the pull is retried).
fn fatal_status(text: &str) -> bool {
    ["Consumer Deleted", "push based", "Exceeded MaxRequest"]
        .iter()
        .any(|s| text.contains(s))
}

impl Stream for JetStreamSource {
    type Item = Result<Acked<Bytes>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.yielded {
            // The time the reader spent away is not the stream's silence:
            // idleness counts from its return.
            this.yielded = false;
            this.last_arrival = Instant::now();
        }
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if this.releasing.is_some() || this.poll_stop(cx) {
                return this.stop(cx);
            }
            if let Some(pause) = this.backoff.as_mut()
                && pause.as_mut().poll(cx).is_ready()
            {
                this.backoff = None;
            }
            if this.limit.is_some_and(|l| this.received >= l) {
                return this.stop(cx);
            }
            if this.wants_pull() {
                let size = this.next_pull_size();
                if size > 0 {
                    this.start_pull(size);
                }
            }
            if let Some(request) = this.requesting.as_mut()
                && let Poll::Ready(r) = request.as_mut().poll(cx)
            {
                this.requesting = None;
                match r {
                    Ok(()) => {
                        this.counters.pulls.add(1);
                        let epoch = this.epoch();
                        this.batches.push_back(Pull {
                            asked: this.asking,
                            received: 0,
                            // The broker ends it by then with a status; a
                            // lost status must not hold the source forever.
                            deadline: Instant::now() + this.expires + Duration::from_secs(5),
                            epoch,
                        });
                    }
                    Err(why) => {
                        if let Some(e) = this.failed(why) {
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                }
                continue;
            }
            if this.batches.is_empty() {
                return this.pending_or_idle(cx);
            }
            let Some(subscriber) = this.subscriber.as_mut() else {
                this.done = true;
                return Poll::Ready(None);
            };
            match Pin::new(subscriber).poll_next(cx) {
                Poll::Ready(Some(message)) => {
                    match message.status.unwrap_or(StatusCode::OK) {
                        StatusCode::OK => {
                            if let Some(front) = this.batches.front_mut() {
                                front.received += 1;
                                if front.received >= front.asked {
                                    this.batches.pop_front();
                                }
                            }
                            this.received += 1;
                            this.failures = 0;
                            this.yielded = true;
                            let message = jetstream::Message {
                                message,
                                context: this.context.clone(),
                            };
                            return Poll::Ready(Some(this.item(message)));
                        }
                        StatusCode::IDLE_HEARTBEAT => {}
                        // The oldest pull is over: expired, nothing there,
                        // its byte limit reached, a leader changed.
                        StatusCode::TIMEOUT | StatusCode::NOT_FOUND => {
                            this.batches.pop_front();
                        }
                        status => {
                            let description = message.description.as_deref().unwrap_or("");
                            let text = format!("{status}: {description}");
                            if description.contains("Exceeds MaxBytes")
                                && this.batches.front().is_some_and(|p| p.received == 0)
                            {
                                // The pull is over when the next message does
                                // not fit in what is left of its byte limit;
                                // a message larger than the whole limit would
                                // never fit in any pull of this source.
                                this.done = true;
                                return Poll::Ready(Some(Err(Error::msg(format!(
                                    "consumer {:?}: the next message is larger than a pull's byte \
                                     limit ({} bytes): {text}",
                                    this.consumer.cached_info().name,
                                    this.max_bytes
                                ))
                                .with_stage("consume"))));
                            }
                            if description.contains("Batch Completed") {
                                // Newer servers say so after a pull served in
                                // full, which was retired by its count.
                                continue;
                            } else if description.contains("MaxWaiting") {
                                // The newest pull was refused.
                                this.batches.pop_back();
                            } else if description.contains("Leadership Change")
                                || description.contains("Server Shutdown")
                            {
                                // Every pull waiting at that server is gone.
                                this.batches.clear();
                            } else {
                                this.batches.pop_front();
                            }
                            if fatal_status(&text) {
                                this.done = true;
                                return Poll::Ready(Some(Err(Error::msg(format!(
                                    "consumer {:?}: {text}",
                                    this.consumer.cached_info().name
                                ))
                                .with_stage("consume"))));
                            }
                            tracing::debug!(status = %text, "pull ended by the broker");
                        }
                    }
                }
                Poll::Ready(None) => {
                    return Poll::Ready(Some(Err(this.connection_lost())));
                }
                Poll::Pending => {
                    this.drop_lost_pulls();
                    if this.batches.is_empty() {
                        continue;
                    }
                    return this.pending_or_idle(cx);
                }
            }
        }
    }
}

impl SourceBuilder {
    /// Create the consumer if it does not exist (default true); without,
    /// a missing consumer is an error.
    pub fn create(&mut self, yes: bool) -> &mut Self {
        self.create = yes;
        self
    }

    /// The most messages one pull request asks for (default 256): the
    /// source holds at most two pulls' worth, so this (with
    /// [`max_bytes`](SourceBuilder::max_bytes)) is its read-ahead. After the
    /// source, prefer [`Batches`](crate::Batches), bounded in bytes, to a
    /// buffer counted in items: a count alone does not bound the memory of
    /// large messages.
    pub fn batch(&mut self, n: usize) -> &mut Self {
        self.batch = n.max(1);
        self
    }

    /// The most bytes one pull request asks for (default 1 MiB): with at
    /// most two pulls outstanding, the source holds at most twice this in
    /// messages fetched and not yet read, whatever their size. Raised to the
    /// server's max payload (plus 16 KiB for subjects and headers) if below,
    /// so that any message fits in a pull.
    pub fn max_bytes(&mut self, n: usize) -> &mut Self {
        self.max_bytes = n.max(1);
        self
    }

    /// `max_ack_pending` for a consumer this builder creates (default
    /// 1000): messages delivered to all the workers and not yet committed.
    pub fn max_ack_pending(&mut self, n: i64) -> &mut Self {
        self.max_ack_pending = n;
        self
    }

    /// `max_deliver` for a consumer this builder creates (default 5; -1
    /// for unlimited): after that many deliveries, a failed message is
    /// terminated instead of delivered again.
    pub fn max_deliver(&mut self, n: i64) -> &mut Self {
        self.max_deliver = n;
        self
    }

    /// `ack_wait` for a consumer this builder creates (default 30 s): how
    /// long the broker waits for a commit before delivering a message again.
    pub fn ack_wait(&mut self, d: Duration) -> &mut Self {
        self.ack_wait = d;
        self
    }

    /// How long the broker holds a pull that finds nothing (default 1 s).
    pub fn expires(&mut self, d: Duration) -> &mut Self {
        self.expires = d.max(Duration::from_millis(10));
        self
    }

    /// End the stream when nothing arrived for `d` while it was being read
    /// (time the reader spent away, its sink being slow, does not count).
    pub fn idle(&mut self, d: Duration) -> &mut Self {
        self.idle = Some(d);
        self
    }

    /// Read at most `n` messages, then end: no pull asks for more than
    /// what is left, so no message is held back from other workers.
    pub fn limit(&mut self, n: u64) -> &mut Self {
        self.limit = Some(n);
        self
    }

    /// End the stream when `stop` resolves (a cancellation token's
    /// `cancelled_owned()`, a signal): no pull is sent after it.
    pub fn stop_on(&mut self, stop: impl Future<Output = ()> + Send + 'static) -> &mut Self {
        self.stop = Some(stop.boxed());
        self
    }

    /// Looks up the stream and the consumer (creating the consumer if
    /// allowed), and returns the source.
    ///
    /// # Cancel safety
    /// Cancel safe; a consumer may have been created.
    ///
    /// # Errors
    /// Stage `consume`: the stream does not exist, the consumer does not
    /// exist and may not be created, or the broker did not answer.
    pub async fn open(&mut self) -> Result<JetStreamSource, Error> {
        let fail = |what: String| Error::msg(what).with_stage("consume");
        let stream = self.context.get_stream(&self.stream).await.map_err(|e| {
            let missing = matches!(e.kind(),
                jetstream::context::GetStreamErrorKind::JetStream(j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND);
            if missing {
                fail(format!("stream {:?} does not exist", self.stream))
            } else {
                fail(format!("looking up stream {:?}: {e}", self.stream))
            }
        })?;
        let exists = match stream.consumer_info(&self.consumer).await {
            Ok(_) => true,
            Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => false,
            Err(e) => {
                return Err(fail(format!(
                    "looking up consumer {:?} on stream {:?}: {e}",
                    self.consumer, self.stream
                )));
            }
        };
        let consumer: PullConsumer = if exists {
            stream.get_consumer(&self.consumer).await.map_err(|e| {
                fail(format!(
                    "opening consumer {:?} on stream {:?}: {e}",
                    self.consumer, self.stream
                ))
            })?
        } else if !self.create {
            return Err(fail(format!(
                "consumer {:?} does not exist on stream {:?}",
                self.consumer, self.stream
            )));
        } else {
            let config = pull::Config {
                durable_name: Some(self.consumer.clone()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: self.ack_wait,
                max_deliver: self.max_deliver,
                max_ack_pending: self.max_ack_pending,
                ..Default::default()
            };
            stream.create_consumer(config).await.map_err(|e| {
                fail(format!(
                    "creating consumer {:?} on stream {:?}: {e}",
                    self.consumer, self.stream
                ))
            })?
        };
        let info = consumer.cached_info();
        if info.config.ack_policy != AckPolicy::Explicit {
            return Err(fail(format!(
                "consumer {:?} does not use explicit acknowledgements (its ack policy is {:?}): \
                 workers sharing it could acknowledge each other's messages",
                self.consumer, info.config.ack_policy
            )));
        }
        let max_deliver = u64::try_from(info.config.max_deliver)
            .ok()
            .filter(|&n| n > 0);
        let client = self.context.client();
        let inbox = async_nats::Subject::from(client.new_inbox());
        let subscriber = client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| fail(format!("subscribing to the pulls' inbox: {e}")))?;
        // The server has the subscription before the first pull asks it.
        client
            .flush()
            .await
            .map_err(|e| fail(format!("subscribing to the pulls' inbox: {e}")))?;
        let idle = self.idle.map(|d| (d, Box::pin(tokio::time::sleep(d))));
        let max_bytes = self.max_bytes.max(
            client
                .server_info()
                .max_payload
                .saturating_add(PULL_OVERHEAD),
        );
        Ok(JetStreamSource {
            consumer,
            batch: self.batch,
            max_bytes,
            expires: self.expires,
            max_deliver,
            counters: Arc::new(Counters::default()),
            inbox,
            subscriber: Some(subscriber),
            context: self.context.clone(),
            releasing: None,
            requesting: None,
            asking: 0,
            batches: VecDeque::new(),
            stop: self.stop.take(),
            idle,
            last_arrival: Instant::now(),
            yielded: false,
            backoff: None,
            tick: None,
            connection: client.statistics(),
            client: client.clone(),
            probe: None,
            failures: 0,
            limit: self.limit,
            received: 0,
            done: false,
        })
    }
}

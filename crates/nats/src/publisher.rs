//! Publishing to JetStream as a weir writable.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use async_nats::jetstream::context::{PublishAckFuture, PublishError, PublishErrorKind};
use async_nats::jetstream::publish::PublishAck;
use async_nats::subject::Subject;
use bytes::Bytes;
use futures_sink::Sink;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesOrdered, StreamExt};
use weir_core::{Error, Written};

/// Default window of unacknowledged publishes (not part of the semver
/// contract).
pub const DEFAULT_WINDOW: usize = 256;

/// How many times a publish is sent again (with the same message ID) after
/// a failure the broker may recover from (a timeout, a stream leader
/// election, a reconnect).
const DEFAULT_RETRIES: u32 = 10;

/// Publishes byte messages to a JetStream subject, as a weir writable with a
/// bounded window of unacknowledged publishes.
///
/// # Backpressure
/// At most [`window`](PublisherBuilder::window) messages are between the
/// caller and the stream's acknowledgement. The [`Sink`] impl is ready
/// while the window has room; [`write`](JetStreamSink::write) never waits,
/// accepts the message and answers [`Written::Full`] once the window is
/// full, and [`drained`](JetStreamSink::drained) resolves when the
/// acknowledgements coming back have brought it down to half (Node's
/// `'drain'`). Work (sending, collecting acknowledgements, retrying) is
/// done while one of these is polled: there is no task behind the sink.
///
/// # Delivery
/// Every message carries a `Nats-Msg-Id` header (a prefix, random per sink
/// unless [set](PublisherBuilder::msg_id_prefix), then a sequence number),
/// so the stream drops the copy when a publish is sent again after a
/// failure whose acknowledgement was lost (a stream leader failover): within
/// the stream's duplicate window, each message is stored once. A message
/// sent again may land after messages written after it.
///
/// # Errors
/// A publish the stream refused (no stream for the subject after the
/// retries, a message over the server's maximum payload), or one that
/// still failed after its retries, fails the sink (stage `publish`); the
/// error stays, and the messages after it are not acknowledged.
#[must_use = "sinks do nothing unless polled"]
pub struct JetStreamSink {
    context: Arc<jetstream::Context>,
    subject: Subject,
    prefix: String,
    next_id: u64,
    window: usize,
    retries: u32,
    /// Accepted, not yet handed to the client (retries first).
    queue: VecDeque<Outbound>,
    /// The message being handed to the client.
    sending: Option<BoxFuture<'static, (Outbound, Result<PublishAckFuture, PublishError>)>>,
    /// Sent, waiting for the stream's acknowledgement.
    acks: FuturesOrdered<BoxFuture<'static, (Outbound, Result<PublishAck, PublishError>)>>,
    counters: Arc<PublishCounters>,
    error: Option<Error>,
}

/// One message and its ID, kept until the stream acknowledges it.
struct Outbound {
    payload: Bytes,
    id: u64,
    attempts: u32,
}

impl fmt::Debug for JetStreamSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JetStreamSink")
            .field("subject", &self.subject)
            .field("window", &self.window)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

/// What a [`JetStreamSink`] counted (see [`JetStreamSink::stats`]).
#[derive(Debug, Default)]
pub struct PublishCounters {
    published: AtomicU64,
    bytes: AtomicU64,
    retried: AtomicU64,
    duplicates: AtomicU64,
    last_sequence: AtomicU64,
}

/// A snapshot of a [`JetStreamSink`]'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishCounts {
    /// Messages the stream acknowledged.
    pub published: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Publishes sent again after a failure.
    pub retried: u64,
    /// Acknowledgements that said the stream already had the message (a
    /// retry of one whose first acknowledgement was lost).
    pub duplicates: u64,
    /// The stream sequence of the last acknowledgement.
    pub last_sequence: u64,
}

impl PublishCounters {
    /// The counts now.
    pub fn counts(&self) -> PublishCounts {
        PublishCounts {
            published: self.published.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            last_sequence: self.last_sequence.load(Ordering::Relaxed),
        }
    }
}

/// Sets up a [`JetStreamSink`].
#[derive(Debug)]
pub struct PublisherBuilder {
    context: jetstream::Context,
    subject: String,
    window: usize,
    retries: u32,
    prefix: Option<String>,
}

impl JetStreamSink {
    /// A builder for a sink publishing to `subject`.
    pub fn builder(context: jetstream::Context, subject: impl Into<String>) -> PublisherBuilder {
        PublisherBuilder {
            context,
            subject: subject.into(),
            window: DEFAULT_WINDOW,
            retries: DEFAULT_RETRIES,
            prefix: None,
        }
    }

    /// Messages accepted and not yet acknowledged by the stream.
    pub fn in_flight(&self) -> usize {
        self.queue.len() + usize::from(self.sending.is_some()) + self.acks.len()
    }

    /// The counters (shared: they can be read while the sink runs).
    pub fn stats(&self) -> Arc<PublishCounters> {
        self.counters.clone()
    }

    /// Accepts `payload` without waiting, and answers [`Written::Full`]
    /// once the window of unacknowledged publishes is full: then wait for
    /// [`drained`](Self::drained) before writing more. (Writing on past
    /// `Full` keeps accepting: the caller bounds what it ignores.)
    ///
    /// # Errors
    /// The sink has failed (see the type's docs).
    pub fn write(&mut self, payload: Bytes) -> Result<Written, Error> {
        if let Some(e) = &self.error {
            return Err(e.duplicate());
        }
        self.accept(payload);
        // Hand it to the client now if it can take it.
        let waker = futures_util::task::noop_waker();
        let _ = self.poll_progress(&mut Context::from_waker(&waker));
        if let Some(e) = &self.error {
            return Err(e.duplicate());
        }
        Ok(if self.in_flight() >= self.window {
            Written::Full
        } else {
            Written::Ready
        })
    }

    /// Waits until acknowledgements have brought the window down to half
    /// (Node's `'drain'`).
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future loses nothing.
    ///
    /// # Errors
    /// The sink has failed.
    pub async fn drained(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_below(cx, self.window / 2)).await
    }

    fn accept(&mut self, payload: Bytes) {
        self.next_id += 1;
        self.queue.push_back(Outbound {
            payload,
            id: self.next_id,
            attempts: 0,
        });
    }

    /// Waits until at most `level` messages are in flight.
    fn poll_below(&mut self, cx: &mut Context<'_>, level: usize) -> Poll<Result<(), Error>> {
        let progressed = self.poll_progress(cx);
        if let Some(e) = &self.error {
            return Poll::Ready(Err(e.duplicate()));
        }
        let _ = progressed;
        if self.in_flight() <= level {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn send_future(
        &self,
        out: Outbound,
    ) -> BoxFuture<'static, (Outbound, Result<PublishAckFuture, PublishError>)> {
        let context = self.context.clone();
        let subject = self.subject.clone();
        let mut headers = HeaderMap::new();
        headers.insert(
            "Nats-Msg-Id",
            format!("{}-{}", self.prefix, out.id).as_str(),
        );
        let pause = retry_pause(out.attempts);
        async move {
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
            let r = context
                .publish_with_headers(subject, headers, out.payload.clone())
                .await;
            (out, r)
        }
        .boxed()
    }

    /// A failed publish: sent again if it may succeed later, else the error.
    fn retry_or_fail(&mut self, mut out: Outbound, e: PublishError) {
        let transient = matches!(
            e.kind(),
            PublishErrorKind::TimedOut
                | PublishErrorKind::BrokenPipe
                | PublishErrorKind::StreamNotFound
                | PublishErrorKind::Other
        );
        if transient && out.attempts < self.retries {
            out.attempts += 1;
            self.counters.retried.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(id = out.id, attempts = out.attempts, error = %e, "publish retried");
            self.queue.push_front(out);
            return;
        }
        let what = match e.kind() {
            PublishErrorKind::MaxPayloadExceeded => format!(
                "message {} ({} bytes) is over the server's maximum payload: {e}",
                out.id,
                out.payload.len()
            ),
            PublishErrorKind::StreamNotFound => format!(
                "no stream takes subject {:?} (after {} attempts): {e}",
                self.subject.as_str(),
                out.attempts + 1
            ),
            _ if out.attempts > 0 => format!(
                "message {} not acknowledged after {} attempts: {e}",
                out.id,
                out.attempts + 1
            ),
            _ => format!("message {}: {e}", out.id),
        };
        self.error = Some(Error::msg(what).with_stage("publish"));
    }

    /// Moves messages along: hands the next one to the client, collects
    /// acknowledgements. Registers the waker on whatever is pending.
    fn poll_progress(&mut self, cx: &mut Context<'_>) -> bool {
        let mut moved = false;
        while self.error.is_none() {
            if self.sending.is_none()
                && let Some(out) = self.queue.pop_front()
            {
                self.sending = Some(self.send_future(out));
            }
            let mut step = false;
            if let Some(sending) = self.sending.as_mut()
                && let Poll::Ready((out, r)) = sending.as_mut().poll(cx)
            {
                self.sending = None;
                step = true;
                match r {
                    Ok(ack) => self.acks.push_back(async move { (out, ack.await) }.boxed()),
                    Err(e) => self.retry_or_fail(out, e),
                }
            }
            while let Poll::Ready(Some((out, r))) = self.acks.poll_next_unpin(cx) {
                step = true;
                match r {
                    Ok(ack) => {
                        let c = &self.counters;
                        c.published.fetch_add(1, Ordering::Relaxed);
                        c.bytes
                            .fetch_add(out.payload.len() as u64, Ordering::Relaxed);
                        if ack.duplicate {
                            c.duplicates.fetch_add(1, Ordering::Relaxed);
                        }
                        c.last_sequence.fetch_max(ack.sequence, Ordering::Relaxed);
                    }
                    Err(e) => self.retry_or_fail(out, e),
                }
                if self.error.is_some() {
                    break;
                }
            }
            if !step {
                break;
            }
            moved = true;
        }
        moved
    }
}

/// The pause before attempt `attempts` + 1 (none for the first).
fn retry_pause(attempts: u32) -> Option<Duration> {
    (attempts > 0).then(|| Duration::from_millis((50u64 << attempts.min(5)).min(2000)))
}

impl Sink<Bytes> for JetStreamSink {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        this.poll_below(cx, this.window.saturating_sub(1))
    }

    fn start_send(self: Pin<&mut Self>, payload: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        if let Some(e) = &this.error {
            return Err(e.duplicate());
        }
        this.accept(payload);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_below(cx, 0)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_flush(cx)
    }
}

impl PublisherBuilder {
    /// The most messages accepted and not yet acknowledged by the stream
    /// (default 256).
    pub fn window(&mut self, n: usize) -> &mut Self {
        self.window = n.max(1);
        self
    }

    /// How many times a publish that failed in a way the broker may
    /// recover from is sent again (default 10), with the same message ID.
    pub fn retries(&mut self, n: u32) -> &mut Self {
        self.retries = n;
        self
    }

    /// The prefix of the `Nats-Msg-Id`s, followed by `-` and the message's
    /// number from 1 (default: random per sink). A fixed prefix makes a
    /// repeated run of the same input a no-op within the stream's
    /// duplicate window.
    pub fn msg_id_prefix(&mut self, prefix: impl Into<String>) -> &mut Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The sink.
    ///
    /// # Errors
    /// Stage `publish`: the subject is empty, has spaces or wildcards.
    pub fn build(&mut self) -> Result<JetStreamSink, Error> {
        check_subject(&self.subject)?;
        let prefix = self.prefix.clone().unwrap_or_else(random_prefix);
        Ok(JetStreamSink {
            context: Arc::new(self.context.clone()),
            subject: Subject::from(self.subject.as_str()),
            prefix,
            next_id: 0,
            window: self.window,
            retries: self.retries,
            queue: VecDeque::new(),
            sending: None,
            acks: FuturesOrdered::new(),
            counters: Arc::new(PublishCounters::default()),
            error: None,
        })
    }
}

/// A subject a message can be published to: dot-separated tokens, none
/// empty, no whitespace, no wildcard.
///
/// # Errors
/// Stage `publish`, saying what is wrong.
pub fn check_subject(subject: &str) -> Result<(), Error> {
    let bad =
        |why: &str| Err(Error::msg(format!("subject {subject:?} {why}")).with_stage("publish"));
    if subject.is_empty() {
        return bad("is empty");
    }
    if subject.chars().any(char::is_whitespace) {
        return bad("has whitespace (not allowed in a subject)");
    }
    if subject.split('.').any(|t| t == "*" || t == ">") {
        return bad("has a wildcard (* or >): one cannot publish to it");
    }
    if subject.split('.').any(str::is_empty) {
        return bad("has an empty token (a leading, trailing or double dot)");
    }
    Ok(())
}

/// A prefix unique enough for one sink: the time, the process and a counter.
fn random_prefix() -> String {
    static SINKS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "weir-{:x}-{:x}-{}",
        nanos,
        std::process::id(),
        SINKS.fetch_add(1, Ordering::Relaxed)
    )
}

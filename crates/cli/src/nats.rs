//! `weir nats publish` and `weir nats consume`: JetStream as a pipeline's
//! sink and source.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use weir_codecs::Lines;
use weir_core::Error;
use weir_nats::async_nats::jetstream::{self, stream};
use weir_nats::{Acked, Batches, JetStreamSink, JetStreamSource, SourceStats};
use weir_pipe::{CancellationToken, Pipeline, Report};

use crate::args::{Nats, NatsConsume, NatsPublish, NatsServer, RunArgs, StatsFormat, WatchArgs};
use crate::run::{finish, open_input_path};

/// How long a failed batch waits before the broker delivers it again.
const NAK_DELAY: Duration = Duration::from_secs(1);

/// Runs `weir nats …`.
pub(crate) async fn run(command: Nats, token: CancellationToken) -> Result<(), Error> {
    match command {
        Nats::Publish(a) => publish(a, token).await,
        Nats::Consume(a) => consume(a, token).await,
    }
}

/// Connects, or gives up when `token` is cancelled.
async fn connect(
    server: &NatsServer,
    token: &CancellationToken,
) -> Result<jetstream::Context, Error> {
    // `off`: never give up.
    let reconnect_for = server.reconnect_for.0.unwrap_or(Duration::MAX);
    tokio::select! {
        biased;
        () = token.cancelled() => Err(Error::cancelled()),
        r = weir_nats::connect_with(&server.server, reconnect_for) => r,
    }
}

/// `weir nats publish`: input → lines (or chunks) → the stream.
async fn publish(args: NatsPublish, token: CancellationToken) -> Result<(), Error> {
    weir_nats::check_subject(&args.subject)?;
    let js = connect(&args.nats, &token).await?;
    ensure_stream(&js, &args).await?;
    let chunk = args.chunk.unwrap_or(256 * 1024);
    let (mut pipeline, len) = open_input_path(&args.input, chunk, &token).await?;
    pipeline = pipeline.high_water_mark(args.hwm, weir_core::DEFAULT_ITEMS);
    if args.chunk.is_none() {
        pipeline = pipeline.through("lines", Lines::with_max_length(args.max_line));
    }
    let mut b = JetStreamSink::builder(js.clone(), args.subject.clone());
    b.window(args.window as usize);
    if let Some(prefix) = &args.msg_id {
        b.msg_id_prefix(prefix.clone());
    }
    let sink = b.build()?;
    let counters = sink.stats();
    let run = pipeline.into_named("publish", sink).cancel_on(token);
    let report = finish(run, &quiet_run(args.hwm, &args.watch), len).await?;
    let c = counters.counts();
    let extra = serde_json::json!({
        "stream": args.nats.stream,
        "subject": args.subject,
        "published": c.published,
        "bytes": c.bytes,
        "retried": c.retried,
        "duplicates": c.duplicates,
        "last_sequence": c.last_sequence,
    });
    print_stats(
        &report,
        args.stats,
        extra,
        format!(
            "nats: {} messages acknowledged by stream {} (last sequence {}), {} retried, {} duplicates dropped by the stream",
            c.published, args.nats.stream, c.last_sequence, c.retried, c.duplicates
        ),
    )
}

/// Creates the stream on the subject if it does not exist; if it does,
/// checks that it takes the subject.
async fn ensure_stream(js: &jetstream::Context, args: &NatsPublish) -> Result<(), Error> {
    let fail = |what: String| Error::msg(what).with_stage("publish");
    let name = &args.nats.stream;
    match js.get_stream(name).await {
        Ok(mut s) => {
            let info = s
                .info()
                .await
                .map_err(|e| fail(format!("stream {name:?}: {e}")))?;
            let subjects = &info.config.subjects;
            if !subjects.iter().any(|p| subject_matches(p, &args.subject)) {
                return Err(fail(format!(
                    "stream {name:?} does not take subject {:?} (its subjects: {})",
                    args.subject,
                    subjects.join(", ")
                )));
            }
            Ok(())
        }
        Err(e) => {
            let missing = matches!(e.kind(),
                jetstream::context::GetStreamErrorKind::JetStream(j)
                    if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND);
            if !missing {
                return Err(fail(format!("looking up stream {name:?}: {e}")));
            }
            js.create_stream(stream::Config {
                name: name.clone(),
                subjects: vec![args.subject.clone()],
                num_replicas: args.replicas as usize,
                ..Default::default()
            })
            .await
            .map_err(|e| fail(format!("creating stream {name:?}: {e}")))?;
            Ok(())
        }
    }
}

/// Whether `subject` falls under `pattern` (`*` one token, `>` the rest).
fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut p = pattern.split('.');
    let mut s = subject.split('.');
    loop {
        match (p.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// `weir nats consume`: the consumer → commit batches → the output,
/// acknowledged after the write (and fsync, for a file).
async fn consume(args: NatsConsume, token: CancellationToken) -> Result<(), Error> {
    let js = connect(&args.nats, &token).await?;
    let mut b = JetStreamSource::builder(js.clone(), &args.nats.stream, &args.consumer);
    // The read-ahead and the commit batches share --hwm: two pulls of half
    // of it each, and commit batches of at most half of it.
    let half = (args.hwm / 2).max(1);
    b.create(!args.no_create)
        .batch(args.batch as usize)
        .max_bytes(half)
        .max_ack_pending(args.max_ack_pending)
        .max_deliver(args.max_deliver)
        .stop_on(token.clone().cancelled_owned());
    if let Some(d) = args.ack_wait.0 {
        b.ack_wait(d);
    }
    if let Some(d) = args.idle.and_then(|t| t.0) {
        b.idle(d);
    }
    if let Some(n) = args.count {
        b.limit(n);
    }
    let source = tokio::select! {
        biased;
        () = token.cancelled() => return Err(Error::cancelled()),
        r = b.open() => r?,
    };
    let stats = source.stats();
    let output = Output::open(args.output.as_deref())?;
    let sink = CommitSink::new(output, args.rate);
    let wait = args.commit_wait.0.unwrap_or(Duration::from_millis(100));
    // Bounded in bytes from the pull to the write: the source holds at most
    // two pulls (of `half` bytes each, or one message larger than that), the
    // batches are closed at `half` bytes (or `--commit-every` messages), and
    // one batch waits while one is written. No buffer counts messages.
    let batches = Batches::messages(source, args.commit_every as usize, half, wait);
    let run = Pipeline::from(batches)
        .named("consume")
        .high_water_mark(args.hwm, 1)
        .into_named(
            "write",
            weir_core::writable::from_fn(move |batch| sink.clone().commit(batch)),
        );
    // Not cancelled by the token: a signal stops the fetching (the source
    // ends), and what was fetched is written and acknowledged first.
    let result = finish(run, &quiet_run(args.hwm, &args.watch), None).await;
    // The acknowledgements are on their way: make sure the server has them.
    let flushed = js.client().flush().await;
    let report = result?;
    flushed.map_err(|e| Error::other(e).with_stage("ack"))?;
    let c = stats.counts();
    let broker = broker_json(&stats).await;
    let extra = serde_json::json!({
        "stream": args.nats.stream,
        "consumer": args.consumer,
        "received": c.received,
        "bytes": c.bytes,
        "acked": c.acked,
        "naked": c.naked,
        "redelivered": c.redelivered,
        "terminated": c.terminated,
        "released": c.released,
        "terminated_sequences": stats.terminated(),
        "pulls": c.pulls,
        "broker": broker.0,
    });
    print_stats(
        &report,
        args.stats,
        extra,
        format!(
            "nats: {} received ({} redelivered), {} acknowledged, {} negatively, {} terminated, {} fetched and released unread; {}",
            c.received, c.redelivered, c.acked, c.naked, c.terminated, c.released, broker.1
        ),
    )?;
    if token.is_cancelled() {
        // Everything written is acknowledged: exit with the signal's status.
        return Err(Error::cancelled());
    }
    Ok(())
}

/// The broker's figures as JSON and as words.
async fn broker_json(stats: &SourceStats) -> (serde_json::Value, String) {
    match tokio::time::timeout(Duration::from_secs(2), stats.broker()).await {
        Ok(Ok(b)) => {
            let state = if b.blocked_on_sinks() {
                "blocked on the sinks (acks pending at max_ack_pending)"
            } else if b.starved() {
                "starved (nothing pending in the stream)"
            } else {
                "flowing"
            };
            (
                serde_json::json!({
                    "pending": b.pending,
                    "ack_pending": b.ack_pending,
                    "max_ack_pending": b.max_ack_pending,
                    "redelivered": b.redelivered,
                    "waiting_pulls": b.waiting,
                    "ack_floor": b.ack_floor_stream_sequence,
                }),
                format!(
                    "broker: {} pending in the stream, {} acks pending (of {}), {} redelivered: {state}",
                    b.pending, b.ack_pending, b.max_ack_pending, b.redelivered
                ),
            )
        }
        Ok(Err(e)) => (serde_json::Value::Null, format!("broker: {e}")),
        Err(_) => (
            serde_json::Value::Null,
            "broker: no answer within 2 s".to_string(),
        ),
    }
}

/// Prints the report with the NATS figures, as `--stats` asks.
fn print_stats(
    report: &Report,
    stats: Option<StatsFormat>,
    extra: serde_json::Value,
    line: String,
) -> Result<(), Error> {
    match stats {
        Some(StatsFormat::Table) => eprintln!("{report}\n{line}"),
        Some(StatsFormat::Json) => {
            let mut v = serde_json::to_value(report).map_err(Error::other)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("nats".to_string(), extra);
            }
            eprintln!("{v}");
        }
        None => {}
    }
    Ok(())
}

/// Where consumed messages go: a file appended to (and fsync'd), or
/// standard output.
#[derive(Debug)]
enum Output {
    File(std::fs::File, String),
    Stdout,
}

impl Output {
    fn open(path: Option<&Path>) -> Result<Output, Error> {
        match path {
            None => Ok(Output::Stdout),
            Some(p) if p == Path::new("-") => Ok(Output::Stdout),
            Some(p) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map(|f| Output::File(f, p.display().to_string()))
                .map_err(|e| {
                    Error::io(std::io::Error::new(
                        e.kind(),
                        format!("{}: {e}", p.display()),
                    ))
                    .with_stage("write")
                }),
        }
    }

    /// Writes `buf` and makes it durable (fsync for a file, a flush for
    /// standard output). Blocking.
    fn commit(&self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Output::File(f, name) => {
                let mut f: &std::fs::File = f;
                f.write_all(buf)
                    .and_then(|()| f.sync_data())
                    .map_err(|e| std::io::Error::new(e.kind(), format!("{name}: {e}")))
            }
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(buf).and_then(|()| out.flush())
            }
        }
    }
}

/// The consume command's sink: writes a batch of messages as lines, makes
/// them durable, then acknowledges them; paced to `--rate`.
#[derive(Debug, Clone)]
struct CommitSink {
    output: Arc<Output>,
    pace: Option<Arc<std::sync::Mutex<Pace>>>,
}

/// `--rate`: when the bytes written so far may be written by.
#[derive(Debug)]
struct Pace {
    start: tokio::time::Instant,
    bytes: u64,
    rate: u64,
}

impl CommitSink {
    fn new(output: Output, rate: Option<u64>) -> Self {
        CommitSink {
            output: Arc::new(output),
            pace: rate.map(|rate| {
                Arc::new(std::sync::Mutex::new(Pace {
                    start: tokio::time::Instant::now(),
                    bytes: 0,
                    rate,
                }))
            }),
        }
    }

    async fn commit(self, batch: Vec<Acked<Bytes>>) -> Result<(), Error> {
        let len: usize = batch.iter().map(|m| m.value().len() + 1).sum();
        let mut buf = Vec::with_capacity(len);
        let mut acks = Vec::with_capacity(batch.len());
        for item in batch {
            let (line, ack) = item.into_parts();
            buf.extend_from_slice(&line);
            buf.push(b'\n');
            acks.push(ack);
        }
        if let Some(pace) = &self.pace {
            let due = match pace.lock() {
                Ok(mut p) => {
                    p.bytes += buf.len() as u64;
                    p.start + Duration::from_secs_f64(p.bytes as f64 / p.rate as f64)
                }
                Err(_) => tokio::time::Instant::now(),
            };
            tokio::time::sleep_until(due).await;
        }
        let output = self.output.clone();
        let written = tokio::task::spawn_blocking(move || output.commit(&buf))
            .await
            .map_err(|e| Error::panicked(e.to_string()))
            .and_then(|r| r.map_err(Error::from));
        match written {
            Ok(()) => {
                for ack in acks {
                    ack.commit().await?;
                }
                Ok(())
            }
            Err(e) => {
                // Not written: let the broker deliver them again soon.
                for ack in acks {
                    let _ = ack.fail(NAK_DELAY).await;
                }
                Err(e.with_stage("write"))
            }
        }
    }
}

/// The run options for [`finish`]: the timeline and the watchdog as asked,
/// and no report (these commands print their own, with the broker's
/// figures).
fn quiet_run(hwm: usize, watch: &WatchArgs) -> RunArgs {
    RunArgs {
        hwm,
        chunk: 256 * 1024,
        progress: false,
        stats: None,
        timeline: watch.timeline.clone(),
        stall_timeout: watch.stall_timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn subjects_match_patterns() {
        assert!(subject_matches("a.b", "a.b"));
        assert!(subject_matches("a.*", "a.b"));
        assert!(subject_matches("a.>", "a.b.c"));
        assert!(!subject_matches("a.>", "a"));
        assert!(!subject_matches("a.*", "a.b.c"));
        assert!(!subject_matches("a.b", "a.c"));
        assert!(subject_matches(">", "x.y"));
    }
}

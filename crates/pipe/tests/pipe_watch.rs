//! The stall watchdog, and busy time split into working and waiting on I/O.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Sink, Stream, StreamExt};
use support::{Census, collect, source, within, work};
use weir::pipe::{OnStall, Pipeline};
use weir::{Error, Output, Transform};

/// A sink that never takes anything: `poll_ready` is pending for ever (a
/// peer that does not read).
struct Deaf;

impl Sink<Bytes> for Deaf {
    type Error = Error;
    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Pending
    }
    fn start_send(self: Pin<&mut Self>, _item: Bytes) -> Result<(), Error> {
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Pending
    }
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Pending
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_never_accepts_is_named_as_the_root() {
    let census = Census::default();
    let t = Instant::now();
    let err = within(
        60,
        Pipeline::from(source(&census, 10_000, 1000, None))
            .named("read")
            .high_water_mark(8 * 1024, 16)
            .through("gzip", work(&census, true))
            .into_named("write", Deaf)
            .stall_timeout(Duration::from_millis(300))
            .run(),
    )
    .await
    .unwrap_err();
    eprintln!("{err}");
    assert!(err.is_stalled(), "{err}");
    assert_eq!(err.stage(), Some("write"), "{err}");
    let text = err.to_string();
    let sink = text.find("write waits on its output").expect(&text);
    let gzip = text
        .find("gzip blocked on a full buffer (write takes nothing)")
        .expect(&text);
    let read = text
        .find("read blocked on a full buffer (gzip takes nothing)")
        .expect(&text);
    assert!(
        sink < gzip && gzip < read,
        "root first, then upstream: {text}"
    );
    assert!(t.elapsed() >= Duration::from_millis(300), "fired early");
    // Every stage was stopped: the source and the transform are gone (their
    // tasks may take a moment to be dropped on a loaded machine).
    let deadline = Instant::now() + Duration::from_secs(20);
    while census.alive() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(census.alive(), 0);
}

/// A transform that blocks its thread in its own code on the first chunk.
struct Stuck(Duration);

impl Transform for Stuck {
    type In = Bytes;
    type Out = Bytes;
    fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
        std::thread::sleep(self.0);
        out.push(chunk);
        Ok(())
    }
    fn heavy(&self) -> bool {
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_transform_blocked_in_its_own_code_is_named_busy() {
    let census = Census::default();
    let t = Instant::now();
    let err = within(
        60,
        Pipeline::from(source(&census, 100, 1000, None))
            .through("stuck", Stuck(Duration::from_secs(6)))
            .into(collect(&census))
            .stall_timeout(Duration::from_millis(300))
            .run(),
    )
    .await
    .unwrap_err();
    eprintln!("{err}");
    assert!(err.is_stalled(), "{err}");
    assert_eq!(err.stage(), Some("stuck"), "{err}");
    let text = err.to_string();
    assert!(text.contains("stuck busy in its own code"), "{text}");
    assert!(text.contains("sink starved (nothing from stuck)"), "{text}");
    // The run did not wait for the stuck thread (6 s): the stall timeout
    // and the 1 s grace make 1.3 s (the margin is for a loaded machine).
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_that_never_gets_data_is_named_as_the_root() {
    let dir = tempfile_dir();
    let fifo = dir.join("in.fifo");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    // A writer that holds the FIFO open and never writes.
    let path = fifo.clone();
    let writer = std::thread::spawn(move || std::fs::OpenOptions::new().write(true).open(path));
    let src = weir::io::FileSource::builder(&fifo).open().await.unwrap();
    let held = writer.join().unwrap().unwrap();
    let err = within(
        60,
        Pipeline::from(src)
            .named("read")
            .through("gzip", weir::codecs::GzipEncoder::new())
            .into_named("write", weir::writable::ChunkWriter::new(tokio::io::sink()))
            .stall_timeout(Duration::from_millis(300))
            .run(),
    )
    .await
    .unwrap_err();
    eprintln!("{err}");
    assert!(err.is_stalled(), "{err}");
    assert_eq!(err.stage(), Some("read"), "{err}");
    let text = err.to_string();
    let read = text
        .find("read waits on its input (nothing arrives)")
        .expect(&text);
    let gzip = text.find("gzip starved (nothing from read)").expect(&text);
    let write = text.find("write starved (nothing from gzip)").expect(&text);
    assert!(
        read < gzip && gzip < write,
        "root first, then downstream: {text}"
    );
    drop(held); // ends the blocked read
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(unix)]
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "weir-watch-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_but_moving_stage_is_not_stalled() {
    let census = Census::default();
    let report = within(
        60,
        // A chunk every 60 ms for 3 s, against a stall timeout of 2 s: the
        // run lasts well past the timeout, and no gap between chunks comes
        // near it, even on a machine so loaded that a 60 ms timer fires
        // 700 ms late (seen with a 600 ms timeout).
        Pipeline::from(source(&census, 50, 100, None))
            .through_stream("slow", |r| {
                r.then(|c| async move {
                    tokio::time::sleep(Duration::from_millis(60)).await;
                    c
                })
            })
            .into(collect(&census))
            .stall_timeout(Duration::from_secs(2))
            .run(),
    )
    .await
    .unwrap();
    assert_eq!(report.bytes_out, 5000);
    assert!(report.elapsed >= Duration::from_millis(3000), "{report}");
    // Its time is waiting on its own calls (the sleeps), not computing.
    let slow = report.stage("slow").unwrap();
    assert!(slow.io_wait > slow.working, "{report}");
    assert!(
        report
            .to_string()
            .contains("bottleneck: slow, waiting on I/O"),
        "{report}"
    );
}

/// A sink that takes nothing for `hold` from its first poll, then everything.
struct Late {
    hold: Option<Duration>,
    until: Option<Pin<Box<tokio::time::Sleep>>>,
    got: usize,
}

impl Sink<Bytes> for Late {
    type Error = Error;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if let Some(d) = self.hold.take() {
            self.until = Some(Box::pin(tokio::time::sleep(d)));
        }
        if let Some(s) = self.until.as_mut() {
            futures::ready!(s.as_mut().poll(cx));
            self.until = None;
        }
        Poll::Ready(Ok(()))
    }
    fn start_send(mut self: Pin<&mut Self>, item: Bytes) -> Result<(), Error> {
        self.got += item.len();
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }
}

use std::future::Future;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_stall_warn_keeps_waiting() {
    let census = Census::default();
    let late = Late {
        hold: Some(Duration::from_millis(700)),
        until: None,
        got: 0,
    };
    let report = within(
        60,
        Pipeline::from(source(&census, 500, 1000, None))
            .high_water_mark(4096, 16)
            .into(late)
            .stall_timeout(Duration::from_millis(200))
            .on_stall(OnStall::Warn)
            .run(),
    )
    .await
    .unwrap();
    assert_eq!(report.bytes_out, 500_000);
    assert!(report.elapsed >= Duration::from_millis(700));
    // The sink's wait was on its own output.
    let sink = report.stage("sink").unwrap();
    assert!(sink.io_wait >= Duration::from_millis(600), "{report}");
    assert!(
        report
            .to_string()
            .contains("bottleneck: sink, waiting on the output"),
        "{report}"
    );
}

/// A source whose every chunk takes a timer's wait: a slow disk or network.
fn slow_source(n: usize, each: Duration) -> impl Stream<Item = Result<Bytes, Error>> {
    futures::stream::iter(0..n).then(move |_| async move {
        tokio::time::sleep(each).await;
        Ok(Bytes::from(vec![7u8; 100]))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_time_tells_computing_from_waiting() {
    // A slow source: waiting on the input.
    let census = Census::default();
    let report = within(
        60,
        Pipeline::from(slow_source(20, Duration::from_millis(15)))
            .named("read")
            .into(collect(&census))
            .run(),
    )
    .await
    .unwrap();
    let read = report.stage("read").unwrap();
    assert!(read.io_wait >= Duration::from_millis(200), "{report}");
    assert!(read.io_wait > read.working * 4, "{report}");
    assert_eq!(read.busy, read.working + read.io_wait);
    assert!(
        report
            .to_string()
            .contains("bottleneck: read, waiting on the input"),
        "{report}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["stages"][0]["io_wait_ms"].as_f64().unwrap() >= 200.0);
    assert!(json["stages"][0]["working_ms"].is_number());

    // A transform burning CPU: computing.
    let mut w = work(&census, true);
    w.spin = Duration::from_millis(3);
    let report = within(
        60,
        Pipeline::from(source(&census, 100, 1000, None))
            .through("gzip", w)
            .into(collect(&census))
            .run(),
    )
    .await
    .unwrap();
    let gzip = report.stage("gzip").unwrap();
    assert!(gzip.working >= Duration::from_millis(250), "{report}");
    assert_eq!(gzip.io_wait, Duration::ZERO, "{report}");
    assert!(
        report.to_string().contains("bottleneck: gzip, computing"),
        "{report}"
    );
    let table = report.to_string();
    assert!(
        table.contains("working") && table.contains("io wait"),
        "{table}"
    );
}

/// Keeps the text of every WARN event.
#[derive(Clone, Default)]
struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

struct Text<'a>(&'a mut String);

impl tracing::field::Visit for Text<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        *m.level() == tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        let mut text = String::new();
        e.record(&mut Text(&mut text));
        self.0.lock().unwrap().push(text);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn the_diagnosis_is_logged_as_a_warning() {
    let warnings = Warnings::default();
    let _guard = tracing::subscriber::set_default(warnings.clone());
    let silent = futures::stream::pending::<Result<Bytes, Error>>();
    let err = within(
        60,
        Pipeline::from(silent)
            .named("read")
            .into_named("write", Deaf)
            .stall_timeout(Duration::from_millis(100))
            .run(),
    )
    .await
    .unwrap_err();
    assert!(err.is_stalled());
    let logged = warnings.0.lock().unwrap().clone();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].contains("stage=read"), "{logged:?}");
    assert!(
        logged[0].contains(
            "read waits on its input (nothing arrives); write starved (nothing from read)"
        ),
        "{logged:?}"
    );
}

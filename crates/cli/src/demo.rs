//! `weir demo`: the seed's questions, live, in under a minute.
//!
//! 1. A fast producer against a slow consumer, with backpressure: the buffer
//!    stays at its high-water mark and memory stays flat.
//! 2. The same with backpressure ignored (`Overflow::Unbounded`, Node's
//!    behaviour when `write()`'s answer is ignored): memory climbs with the
//!    backlog. It runs in a child process, so the memory it grabs is given
//!    back before part 3.
//! 3. A generated 1 GiB log stream gzipped in constant memory, and the run
//!    report naming the bottleneck.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use weir_codecs::GzipEncoder;
use weir_core::{BufferConfig, Error, Limit, Overflow, Reader, Stats, Writer, readable, writable};
use weir_pipe::{CancellationToken, Pipeline, Timeline, TimelineRecorder};

use crate::args::Demo;
use crate::fmt::{bytes, rss, rss_now};

const HWM: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;
const CONSUMER_RATE: f64 = 20e6;
const PART_SECS: u64 = 3;
const UNBOUNDED_CAP: usize = 256 * 1024 * 1024;

pub(crate) async fn run(args: Demo, token: CancellationToken) -> Result<(), Error> {
    let dir = args
        .timelines
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("weir-demo"));
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::msg(format!("cannot create {}: {e}", dir.display())).with_stage("demo")
    })?;
    let charts = Charts(dir);
    match args.part {
        Some(1) => part1(&token, &charts).await,
        Some(2) => part2(&token, &charts).await,
        Some(3) => part3(args.size, &token, &charts).await,
        _ => {
            println!("weir demo: backpressure, live (about 25 seconds)\n");
            part1(&token, &charts).await?;
            part2_in_child(&token, &charts).await?;
            part3(args.size, &token, &charts).await?;
            println!(
                "\nThe same code paths serve the `weir` commands: try\n  \
                 weir gzip BIG_FILE -o BIG_FILE.gz --stats\n  \
                 weir copy BIG_FILE -o /dev/null --rate 20M --progress --stats"
            );
            Ok(())
        }
    }
}

/// Where the parts' timelines go.
struct Charts(std::path::PathBuf);

impl Charts {
    /// Writes `timeline` as `name` and says where.
    fn save(&self, timeline: &Timeline, name: &str) -> Result<(), Error> {
        let path = self.0.join(name);
        timeline.save(&path).map_err(|e| {
            Error::msg(format!("cannot write {}: {e}", path.display())).with_stage("demo")
        })?;
        println!(
            "  -> timeline (buffer, throughput, state over time): {}",
            path.display()
        );
        Ok(())
    }
}

/// How often the demo's timelines are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// A fresh 64 KiB chunk (a new allocation, as a real producer would make).
fn fresh_chunk(i: u64) -> Bytes {
    let mut v = vec![b'.'; CHUNK];
    v[..8].copy_from_slice(&i.to_le_bytes());
    Bytes::from(v)
}

/// Reads `rx` at about 20 MB/s until the end, a cancel, or `stop`.
async fn slow_consumer(mut rx: Reader<Bytes>, stop: Instant) -> u64 {
    let start = Instant::now();
    let mut taken = 0u64;
    while let Some(Ok(chunk)) = rx.next().await {
        taken += chunk.len() as u64;
        let due = Duration::from_secs_f64(taken as f64 / CONSUMER_RATE);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        if Instant::now() >= stop {
            break;
        }
    }
    taken
}

fn header() {
    println!(
        "  {:>6}  {:>11}  {:>11}  {:>11}  {:>11}",
        "time", "produced", "consumed", "buffered", "process RSS"
    );
}

/// Prints a row every half second until `done` is cancelled.
fn watch(
    w: weir_core::StatsHandle,
    start: Instant,
    done: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = done.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            let s = w.stats();
            println!(
                "  {:>5.1}s  {:>11}  {:>11}  {:>11}  {:>11}",
                start.elapsed().as_secs_f64(),
                bytes(s.written),
                bytes(s.read),
                bytes(s.buffered as u64),
                rss_now()
            );
        }
    })
}

/// Runs a producer against the slow consumer for a few seconds, printing a
/// row every half second; returns the buffer's stats at the end and the
/// process's peak RSS while the producer's buffer was still alive.
async fn producer_vs_consumer<F, Fut>(
    overflow: Overflow,
    token: &CancellationToken,
    produce: F,
) -> Result<(Stats, u64, Timeline), Error>
where
    F: FnOnce(Writer<Bytes>, Instant) -> Fut,
    Fut: std::future::Future<Output = Writer<Bytes>> + Send + 'static,
{
    let (tx, rx) = BufferConfig::new(Limit::<Bytes>::bytes(HWM))
        .overflow(overflow)
        .name("demo")
        .build();
    let stats = tx.stats_handle();
    let recorder = TimelineRecorder::buffer(stats.clone(), "producer", "consumer", SAMPLE_EVERY);
    let start = Instant::now();
    let stop = start + Duration::from_secs(PART_SECS);
    header();
    let done = CancellationToken::new();
    let watcher = watch(stats.clone(), start, done.clone());
    let consumer = tokio::spawn(slow_consumer(rx, stop));
    let producer = tokio::spawn(produce(tx, stop));
    let tx = tokio::select! {
        () = token.cancelled() => return Err(Error::cancelled()),
        r = producer => r.map_err(Error::other)?,
    };
    done.cancel();
    let _ = watcher.await;
    let peak_rss = rss().map_or(0, |(_, hwm)| hwm);
    let at_end = stats.stats();
    let timeline = recorder.finish().await;
    drop(tx);
    let _ = consumer.await;
    Ok((at_end, peak_rss, timeline))
}

async fn part1(token: &CancellationToken, charts: &Charts) -> Result<(), Error> {
    println!("Part 1 of 3: a fast producer, a slow consumer (20 MB/s), WITH backpressure");
    println!(
        "  The producer awaits room before each write (`send`); the buffer between them has a \
         high-water mark of {}.",
        bytes(HWM as u64)
    );
    let (s, _, timeline) =
        producer_vs_consumer(Overflow::Error, token, |mut tx, stop| async move {
            let mut i = 0u64;
            while Instant::now() < stop {
                if tx.send(fresh_chunk(i)).await.is_err() {
                    break;
                }
                i += 1;
            }
            tx.end();
            tx
        })
        .await?;
    println!(
        "  -> the buffer never held more than {} (high-water mark {} + one chunk); the producer \
         spent {:.1} s of {PART_SECS} s waiting for room, in {} Full/drain episodes. Memory stays flat.",
        bytes(s.peak_buffered as u64),
        bytes(HWM as u64),
        s.writer_wait.as_secs_f64(),
        s.full_events
    );
    charts.save(&timeline, "demo-1-backpressure.svg")?;
    println!();
    Ok(())
}

async fn part2(token: &CancellationToken, charts: &Charts) -> Result<(), Error> {
    println!("Part 2 of 3: the same producer and consumer, backpressure IGNORED");
    println!(
        "  The producer calls write() and never looks at its answer; the buffer is Unbounded \
         (Node's behaviour). Stopped at {} buffered.",
        bytes(UNBOUNDED_CAP as u64)
    );
    let (s, peak_rss, timeline) =
        producer_vs_consumer(Overflow::Unbounded, token, |mut tx, stop| async move {
            let mut i = 0u64;
            // About 150 MB/s, in bursts of 1 MiB: several times what the
            // consumer takes.
            let burst = 16;
            let pace = Duration::from_secs_f64((burst * CHUNK) as f64 / 150e6);
            'produce: while Instant::now() < stop && tx.buffered() < UNBOUNDED_CAP {
                for _ in 0..burst {
                    if tx.write(fresh_chunk(i)).is_err() {
                        break 'produce; // the consumer stopped
                    }
                    i += 1;
                }
                tokio::time::sleep(pace).await;
            }
            tx.end();
            tx
        })
        .await?;
    println!(
        "  -> {} buffered at the end (peak {}), process peak RSS {}: memory grows with the \
         backlog, and with a longer run it would grow until the process is killed. weir's \
         default policy refuses such writes at twice the high-water mark instead.",
        bytes(s.buffered as u64),
        bytes(s.peak_buffered as u64),
        bytes(peak_rss)
    );
    charts.save(&timeline, "demo-2-ignored.svg")?;
    println!();
    Ok(())
}

/// Runs part 2 as `weir demo --part 2` in a child process, so the memory it
/// grabs is given back when it exits; in this process if that fails.
async fn part2_in_child(token: &CancellationToken, charts: &Charts) -> Result<(), Error> {
    let Ok(exe) = std::env::current_exe() else {
        return part2(token, charts).await;
    };
    let mut child = match tokio::process::Command::new(exe)
        .args(["demo", "--part", "2", "--timelines"])
        .arg(&charts.0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(_) => return part2(token, charts).await,
    };
    tokio::select! {
        () = token.cancelled() => Err(Error::cancelled()),
        status = child.wait() => match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(Error::msg(format!("demo part 2 failed ({s})"))),
            Err(e) => Err(Error::io(e)),
        },
    }
}

/// About 4 MiB of web-server log lines, made up from a seeded generator.
fn log_pool() -> Bytes {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let paths = [
        "/",
        "/index.html",
        "/api/v1/items",
        "/api/v1/users",
        "/static/app.js",
        "/login",
        "/search",
    ];
    let agents = [
        "curl/8.5.0",
        "Mozilla/5.0 (X11; Linux x86_64)",
        "Go-http-client/1.1",
        "python-requests/2.31",
    ];
    let codes = [200, 200, 200, 200, 304, 404, 500];
    let mut s = String::with_capacity(4 << 20);
    while s.len() < 4 << 20 {
        let r = next();
        s.push_str(&format!(
            "10.{}.{}.{} - - [26/Nov/2026:{:02}:{:02}:{:02} +0000] \"GET {}?id={} HTTP/1.1\" {} {} \"-\" \"{}\"\n",
            r % 256,
            (r >> 8) % 256,
            (r >> 16) % 256,
            (r >> 24) % 24,
            (r >> 32) % 60,
            (r >> 40) % 60,
            paths[(r >> 44) as usize % paths.len()],
            (r >> 20) % 100_000,
            codes[(r >> 50) as usize % codes.len()],
            (r >> 12) % 50_000,
            agents[(r >> 56) as usize % agents.len()],
        ));
    }
    Bytes::from(s)
}

async fn part3(total: u64, token: &CancellationToken, charts: &Charts) -> Result<(), Error> {
    println!(
        "Part 3 of 3: {} of generated log lines, gzipped (level 6), in constant memory",
        bytes(total)
    );
    println!("  source -> gzip -> sink, joined by 64 KiB buffers; the sink discards the output.");
    let pool = log_pool();
    let chunks = total.div_ceil(CHUNK as u64);
    let last = (total - (chunks - 1) * CHUNK as u64) as usize;
    let source = readable::from_iter((0..chunks).map(move |i| {
        let len = if i + 1 == chunks { last } else { CHUNK };
        let start = (i as usize * 7919 * 64) % (pool.len() - CHUNK);
        pool.slice(start..start + len)
    }));
    let run = Pipeline::from(source)
        .named("generate")
        .spawn("gzip", GzipEncoder::with_level(6))
        .into_named("sink", writable::ChunkWriter::new(tokio::io::sink()))
        .cancel_on(token.clone())
        .timeline(SAMPLE_EVERY);
    let monitor = run.monitor();
    let start = Instant::now();
    println!(
        "  {:>6}  {:>11}  {:>11}  {:>11}",
        "time", "through", "buffered", "process RSS"
    );
    let printer = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            println!(
                "  {:>5.1}s  {:>11}  {:>11}  {:>11}",
                start.elapsed().as_secs_f64(),
                bytes(monitor.bytes_in()),
                bytes(monitor.buffered() as u64),
                rss_now()
            );
        }
    });
    let result = run.run().await;
    printer.abort();
    let report = result?;
    println!("\n{report}\n");
    let (now, _) = rss().unwrap_or((0, 0));
    let peak_buffered: usize = report.stages.iter().map(|s| s.peak_buffered).sum();
    if let Some(b) = report.bottleneck_stage() {
        let (what, time) = b.busy_with();
        println!(
            "  -> bottleneck: {}, {what} {:.0}% of the run. The generator was blocked waiting \
             for room and the sink starved waiting for data: gzip sets the pace, and the buffers \
             keep the others from running ahead.",
            b.name,
            100.0 * time.as_secs_f64() / report.elapsed.as_secs_f64()
        );
    }
    println!(
        "  -> {} in, {} out; the buffers never held more than {} together; process RSS {} at the end.",
        bytes(report.bytes_in),
        bytes(report.bytes_out),
        bytes(peak_buffered as u64),
        bytes(now)
    );
    if let Some(timeline) = report.timeline() {
        charts.save(timeline, "demo-3-gzip.svg")?;
    }
    Ok(())
}

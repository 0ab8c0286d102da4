//! Q4: memory grows, or a stream crawls — is it backpressure, and where?
//!
//! Run: `RUST_LOG=weir=debug cargo run --release --example q4_debug_backpressure`
//! (or without `RUST_LOG` for just the report)
//!
//! A pipeline of three stages over 100 000 records, one of which is secretly
//! slow. Node's advice is to watch `write()`'s return value and the `'drain'`
//! events; weir does that for you:
//! - with `RUST_LOG=weir=debug`, a buffer logs `backpressure started` when
//!   it turns full (Node's `write()` returning `false`) and `backpressure
//!   ended` with the episode's duration (`elapsed.ms`) and Full count once
//!   its reader has caught up: the buffers *before* the slow stage spend
//!   the whole run in such episodes, those after it a few milliseconds in
//!   all. `RUST_LOG=weir::backpressure=trace` also shows every
//!   `buffer full` / `buffer drained` turn (`'drain'`);
//! - the run's report shows, per stage, time busy, blocked on a full buffer
//!   downstream and starved by an empty one upstream, and names the
//!   bottleneck: the stage that is busy while the others wait.

use std::hash::{Hash, Hasher};

use weir::pipe::Pipeline;
use weir::{Output, Transform, readable};

/// A record of the stream.
#[derive(Debug, Clone)]
struct Record {
    id: u64,
    path: String,
    score: u64,
}

/// Stage 1: parse a line into a record (cheap).
struct Parse;
impl Transform for Parse {
    type In = String;
    type Out = Record;
    fn transform(&mut self, line: String, out: &mut Output<Record>) -> Result<(), weir::Error> {
        let mut parts = line.splitn(2, ' ');
        let id = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| weir::Error::corrupt(format!("no id in {line:?}")))?;
        let path = parts.next().unwrap_or("").to_string();
        out.push(Record { id, path, score: 0 });
        Ok(())
    }
    fn heavy(&self) -> bool {
        true
    }
}

/// Stage 2: "enrich" each record — the hidden slow stage: it hashes the path
/// a thousand times, as an innocent-looking lookup might.
struct Enrich;
impl Transform for Enrich {
    type In = Record;
    type Out = Record;
    fn transform(&mut self, mut r: Record, out: &mut Output<Record>) -> Result<(), weir::Error> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for i in 0..1_000u32 {
            (i, &r.path).hash(&mut h);
        }
        r.score = h.finish() % 100;
        out.push(r);
        Ok(())
    }
    fn heavy(&self) -> bool {
        true
    }
}

/// Stage 3: format for output (cheap).
struct Format;
impl Transform for Format {
    type In = Record;
    type Out = String;
    fn transform(&mut self, r: Record, out: &mut Output<String>) -> Result<(), weir::Error> {
        out.push(format!("{} {} {}\n", r.id, r.score, r.path));
        Ok(())
    }
    fn heavy(&self) -> bool {
        true
    }
}

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    // Logs go to stderr (the report and the diagnosis to stdout), coloured
    // only on a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_target(true)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let lines = (0..100_000u64).map(|i| format!("{i} /api/items/{}", i % 977));
    let (sink, mut out) = weir::BufferConfig::new(weir::Limit::<String>::items(16))
        .name("sink")
        .build();
    let drain = tokio::spawn(async move {
        let mut n = 0u64;
        while let Some(Ok(_)) = futures::StreamExt::next(&mut out).await {
            n += 1;
        }
        n
    });
    let report = Pipeline::from(readable::from_iter(lines))
        .through("parse", Parse)
        .through("enrich", Enrich)
        .through("format", Format)
        .into(sink)
        .run()
        .await?;
    let n = drain.await.map_err(weir::Error::other)?;

    println!("\n{n} records through parse -> enrich -> format\n");
    println!("{report}\n");
    let b = report
        .bottleneck_stage()
        .ok_or_else(|| weir::Error::msg("empty report"))?;
    println!(
        "Diagnosis: '{}' was busy {:.0}% of the run. The stages before it were blocked \
         (their buffers stayed full; the report's 'blocked' column shows it, and with \
         RUST_LOG=weir=debug so do the 'backpressure ended' events on stderr: the \
         episodes of the buffers in front of '{}' add up to the whole run); the stages \
         after it were starved. It is a backpressure \
         situation working as intended: memory stays bounded while the slow stage sets the pace. \
         The fix is to make '{}' faster (or run it on more cores), not to buffer more.",
        b.name,
        100.0 * b.busy.as_secs_f64() / report.elapsed.as_secs_f64(),
        b.name,
        b.name
    );
    Ok(())
}

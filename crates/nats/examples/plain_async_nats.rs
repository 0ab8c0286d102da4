//! The baseline for `weir nats publish` / `weir nats consume` in
//! benches/nats/compare.py: the same work written directly on async-nats,
//! as a user without weir would.
//!
//! Run: `cargo run --release -p weir-nats --example plain_async_nats --
//! publish URL STREAM SUBJECT FILE WINDOW` (one message per line, a
//! `Nats-Msg-Id` on each, at most WINDOW unacknowledged), or `… consume URL
//! STREAM CONSUMER FILE COUNT BATCH COMMIT` (a durable pull consumer; pulls
//! of BATCH; every COMMIT messages appended to FILE, fsync'd, then
//! acknowledged one by one; ends after COUNT messages).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::pull};
use bytes::Bytes;
use futures::StreamExt;
use weir_nats::async_nats;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .expect("missing argument (see the docs)")
    };
    let servers: Vec<&str> = arg(2).split(',').collect();
    let client = async_nats::connect(servers).await.expect("connect");
    let js = jetstream::new(client.clone());
    match arg(1) {
        "publish" => publish(&js, arg(3), arg(4), arg(5), arg(6).parse().expect("WINDOW")).await,
        "consume" => {
            consume(
                &js,
                arg(3),
                arg(4),
                arg(5),
                arg(6).parse().expect("COUNT"),
                arg(7).parse().expect("BATCH"),
                arg(8).parse().expect("COMMIT"),
            )
            .await;
        }
        other => panic!("unknown mode {other:?}"),
    }
    client.flush().await.expect("flush");
}

async fn publish(js: &jetstream::Context, stream: &str, subject: &str, file: &str, window: usize) {
    js.get_or_create_stream(jetstream::stream::Config {
        name: stream.to_string(),
        subjects: vec![subject.to_string()],
        ..Default::default()
    })
    .await
    .expect("stream");
    let input =
        std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(file).expect("input"));
    let mut acks = VecDeque::with_capacity(window);
    for (i, line) in input.split(b'\n').enumerate() {
        let line = line.expect("read");
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("plain-{}", i + 1).as_str());
        let ack = js
            .publish_with_headers(subject.to_string(), headers, Bytes::from(line))
            .await
            .expect("publish");
        acks.push_back(ack.into_future());
        if acks.len() >= window {
            acks.pop_front()
                .expect("an ack")
                .await
                .expect("acknowledged");
        }
    }
    for ack in acks {
        ack.await.expect("acknowledged");
    }
}

async fn consume(
    js: &jetstream::Context,
    stream: &str,
    name: &str,
    file: &str,
    count: u64,
    batch: usize,
    commit: usize,
) {
    let stream = js.get_stream(stream).await.expect("stream");
    let consumer = stream
        .get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.to_string()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                max_ack_pending: 8192,
                ..Default::default()
            },
        )
        .await
        .expect("consumer");
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .expect("output");
    let mut buf = Vec::new();
    let mut pending = Vec::with_capacity(commit);
    let mut done = 0u64;
    while done < count {
        let want = usize::try_from(count - done)
            .unwrap_or(usize::MAX)
            .min(batch);
        let mut messages = consumer
            .batch()
            .max_messages(want)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .expect("pull");
        while let Some(m) = messages.next().await {
            let m = m.expect("message");
            buf.extend_from_slice(&m.payload);
            buf.push(b'\n');
            pending.push(m);
            done += 1;
            if pending.len() >= commit || done == count {
                out.write_all(&buf).expect("write");
                out.sync_data().expect("fsync");
                buf.clear();
                for m in pending.drain(..) {
                    m.ack().await.expect("ack");
                }
            }
        }
    }
}

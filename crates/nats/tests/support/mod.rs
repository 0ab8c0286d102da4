//! Shared helpers: servers, streams, publishing.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod server;

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use bytes::Bytes;

#[allow(unused_imports)]
pub use self::server::{Cluster, Server, server_bin};

/// Skips the calling test (returning) when no server binary is configured.
#[macro_export]
macro_rules! server_or_skip {
    ($name:expr) => {
        match support::server_bin($name) {
            Some(bin) => bin,
            None => return,
        }
    };
}

/// Connects and creates `name` (file storage, subjects `name.>`), replicated
/// `replicas` times.
pub async fn stream(url: &str, name: &str, replicas: usize) -> jetstream::Context {
    let js = weir_nats::connect(url).await.expect("connect");
    js.create_stream(stream::Config {
        name: name.to_string(),
        subjects: vec![format!("{name}.>")],
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .expect("create stream");
    js
}

/// Publishes `n` messages `"{prefix}{i}"` to `subject`, waiting for each ack
/// in windows of 256.
pub async fn publish_n(js: &jetstream::Context, subject: &str, prefix: &str, n: usize) {
    let mut acks = Vec::new();
    for i in 0..n {
        let ack = js
            .publish(subject.to_string(), Bytes::from(format!("{prefix}{i}")))
            .await
            .expect("publish");
        acks.push(ack);
        if acks.len() == 256 {
            for a in acks.drain(..) {
                a.await.expect("ack");
            }
        }
    }
    for a in acks {
        a.await.expect("ack");
    }
}

/// The number of messages in stream `name`.
pub async fn stream_len(js: &jetstream::Context, name: &str) -> u64 {
    let mut s = js.get_stream(name).await.expect("stream");
    s.info().await.expect("stream info").state.messages
}

/// Runs `f` with a time limit.
pub async fn within<F: Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("timed out")
}

/// The consumer's figures once `ok` holds for them (or after 20 s, the last
/// ones): the broker applies acknowledgements a moment after they arrive
/// (a long moment on a loaded machine).
pub async fn broker_when(
    stats: &weir_nats::SourceStats,
    ok: impl Fn(&weir_nats::BrokerCounts) -> bool,
) -> weir_nats::BrokerCounts {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let b = stats.broker().await.expect("consumer info");
        if ok(&b) || tokio::time::Instant::now() > deadline {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

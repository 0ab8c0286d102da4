//! A three-node JetStream cluster on loopback: the stream leader is killed
//! in the middle of a publish, and the stream still holds each message
//! exactly once (retries carry the same Nats-Msg-Id).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, TryStreamExt};
use weir_nats::async_nats;
use weir_nats::{JetStreamSink, JetStreamSource};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_stream_leader_mid_publish_stores_each_message_once() {
    let bin = server_or_skip!("killing_the_stream_leader_mid_publish_stores_each_message_once");
    let mut cluster = support::Cluster::start(&bin);
    let urls = cluster.urls();
    let js = support::within(60, async {
        loop {
            let js = weir_nats::connect(&urls).await.expect("connect");
            let created = js
                .create_stream(async_nats::jetstream::stream::Config {
                    name: "HA".to_string(),
                    subjects: vec!["HA.>".to_string()],
                    num_replicas: 3,
                    ..Default::default()
                })
                .await;
            match created {
                Ok(_) => break js,
                // The meta layer may still be settling.
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    })
    .await;
    let leader = {
        let mut s = js.get_stream("HA").await.expect("stream");
        let info = s.info().await.expect("info");
        info.cluster
            .as_ref()
            .and_then(|c| c.leader.clone())
            .expect("a stream leader")
    };
    let n = 20_000u32;
    let publisher = tokio::spawn({
        let js = js.clone();
        async move {
            let mut sink = JetStreamSink::builder(js, "HA.x")
                .window(64)
                .retries(40)
                .build()
                .expect("sink");
            let stats = sink.stats();
            for i in 0..n {
                sink.send(Bytes::from(format!("{i}"))).await?;
            }
            sink.close().await?;
            Ok::<_, weir_core::Error>(stats.counts())
        }
    });
    // Kill the leader once a part has been stored.
    support::within(60, async {
        loop {
            let mut s = js.get_stream("HA").await.expect("stream");
            if s.info().await.map(|i| i.state.messages).unwrap_or(0) >= u64::from(n / 4) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    cluster.node_mut(&leader).kill();
    let counts = support::within(120, publisher)
        .await
        .expect("join")
        .expect("every message acknowledged despite the failover");
    assert_eq!(counts.published, u64::from(n));
    // The stream holds n messages (a retry stored twice would make more).
    let mut s = js.get_stream("HA").await.expect("stream");
    let state = s.info().await.expect("info").state.clone();
    assert_eq!(state.messages, u64::from(n), "{state:?}");
    // Read the stream back: each message once.
    let js2 = weir_nats::connect(&urls).await.expect("connect");
    let mut b = JetStreamSource::builder(js2, "HA", "check");
    b.batch(500).idle(Duration::from_secs(4));
    let mut source = b.open().await.expect("open");
    let mut seen = HashSet::new();
    let mut read = 0usize;
    while let Some(item) = support::within(60, source.try_next()).await.expect("read") {
        let (value, ack) = item.into_parts();
        assert!(seen.insert(value.clone()), "stored twice: {value:?}");
        ack.commit().await.expect("commit");
        read += 1;
    }
    assert_eq!(
        read, n as usize,
        "retried {} times, duplicates {}",
        counts.retried, counts.duplicates
    );
    eprintln!(
        "failover: leader {leader} killed; {} publishes retried, {} duplicates dropped by the stream",
        counts.retried, counts.duplicates
    );
}

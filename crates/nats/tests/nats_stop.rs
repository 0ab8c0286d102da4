//! The JetStream source when it stops with messages fetched and not read,
//! and when its server goes away.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use weir_nats::JetStreamSource;

/// Reads `n` messages from `source` and commits them; their payloads.
async fn read_and_commit(source: &mut JetStreamSource, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    for _ in 0..n {
        let item = support::within(10, source.try_next())
            .await
            .expect("no error")
            .expect("a message");
        let (payload, ack) = item.into_parts();
        got.push(String::from_utf8(payload.to_vec()).unwrap());
        ack.commit().await.expect("commit");
    }
    got
}

/// A second worker on the same durable consumer: everything it gets within
/// `secs` seconds (it ends after 1 s with nothing arriving), and how long
/// it took to get `want` messages.
async fn second_worker(
    js: &weir_nats::async_nats::jetstream::Context,
    stream: &str,
    consumer: &str,
    want: usize,
) -> (BTreeSet<String>, Duration) {
    let start = Instant::now();
    let mut b = JetStreamSource::builder(js.clone(), stream, consumer);
    b.create(false).idle(Duration::from_secs(1));
    let mut source = b.open().await.expect("open the second worker");
    let mut got = BTreeSet::new();
    let mut took = Duration::MAX;
    while let Some(item) = support::within(15, source.try_next())
        .await
        .expect("no error")
    {
        let (payload, ack) = item.into_parts();
        assert!(
            got.insert(String::from_utf8(payload.to_vec()).unwrap()),
            "a message twice"
        );
        ack.commit().await.expect("commit");
        if got.len() == want {
            took = start.elapsed();
        }
    }
    js.client().flush().await.expect("flush");
    (got, took)
}

/// The consumer, with an ack_wait long enough that only a release can
/// explain a prompt redelivery.
async fn open_first(
    js: &weir_nats::async_nats::jetstream::Context,
    stream: &str,
    stop: Option<tokio::sync::oneshot::Receiver<()>>,
) -> JetStreamSource {
    let mut b = JetStreamSource::builder(js.clone(), stream, "shared");
    b.batch(100).ack_wait(Duration::from_secs(30));
    if let Some(rx) = stop {
        b.stop_on(async move {
            let _ = rx.await;
        });
    }
    b.open().await.expect("open")
}

fn expected_rest(read: &[String], n: usize) -> BTreeSet<String> {
    (0..n)
        .map(|i| format!("m{i}"))
        .filter(|m| !read.contains(m))
        .collect()
}

#[tokio::test]
async fn a_stopped_source_releases_what_it_fetched_and_did_not_read() {
    let bin = server_or_skip!("a_stopped_source_releases_what_it_fetched_and_did_not_read");
    let server = support::Server::start(&bin);
    let js = support::stream(&server.url(), "STOP", 1).await;
    support::publish_n(&js, "STOP.x", "m", 300).await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut first = open_first(&js, "STOP", Some(rx)).await;
    let stats = first.stats();
    let read = read_and_commit(&mut first, 10).await;
    // Let the pull's other 90 messages arrive, unread.
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(()).unwrap();
    let end = support::within(10, first.try_next())
        .await
        .expect("no error");
    assert!(end.is_none(), "the stream ends once stopped");
    let c = stats.counts();
    assert_eq!(c.acked, 10, "{c:?}");
    assert_eq!(c.received, 10, "{c:?}");
    assert!(c.released >= 90, "fetched and unread, released: {c:?}");
    // Another worker gets every other message at once, well before the
    // 30 s ack_wait.
    let rest = expected_rest(&read, 300);
    let (got, took) = second_worker(&js, "STOP", "shared", rest.len()).await;
    assert_eq!(got, rest);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let b = stats.broker().await.expect("consumer info");
    assert_eq!(b.ack_pending, 0, "{b:?}");
}

#[tokio::test]
async fn a_dropped_source_releases_what_it_fetched_and_did_not_read() {
    let bin = server_or_skip!("a_dropped_source_releases_what_it_fetched_and_did_not_read");
    let server = support::Server::start(&bin);
    let js = support::stream(&server.url(), "DROP", 1).await;
    support::publish_n(&js, "DROP.x", "m", 300).await;
    let mut first = open_first(&js, "DROP", None).await;
    let stats = first.stats();
    let read = read_and_commit(&mut first, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(first);
    let rest = expected_rest(&read, 300);
    let (got, took) = second_worker(&js, "DROP", "shared", rest.len()).await;
    assert_eq!(got, rest);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let c = stats.counts();
    assert_eq!(c.acked, 10, "{c:?}");
    assert!(c.released >= 90, "{c:?}");
}

#[tokio::test]
async fn a_server_gone_for_good_ends_the_source_with_an_error_in_bounded_time() {
    let bin =
        server_or_skip!("a_server_gone_for_good_ends_the_source_with_an_error_in_bounded_time");
    let mut server = support::Server::start(&bin);
    support::stream(&server.url(), "GONE", 1).await;
    let js = weir_nats::connect_with(&server.url(), Duration::from_secs(1))
        .await
        .expect("connect");
    support::publish_n(&js, "GONE.x", "m", 500).await;
    let mut b = JetStreamSource::builder(js.clone(), "GONE", "c");
    b.batch(50);
    let mut source = b.open().await.expect("open");
    read_and_commit(&mut source, 20).await;
    let killed = Instant::now();
    server.kill();
    // What was fetched may still be read; then the source fails.
    let error = support::within(20, async {
        loop {
            match source.try_next().await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("the stream ended without an error"),
                Err(e) => return e,
            }
        }
    })
    .await;
    let took = killed.elapsed();
    assert_eq!(error.stage(), Some("consume"), "{error}");
    assert!(error.to_string().contains("connection"), "{error}");
    // About the reconnect time (1 s), not the client's default.
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[tokio::test]
async fn a_server_back_within_the_reconnect_time_is_picked_up_again() {
    let bin = server_or_skip!("a_server_back_within_the_reconnect_time_is_picked_up_again");
    let mut server = support::Server::start(&bin);
    support::stream(&server.url(), "BACK", 1).await;
    let js = weir_nats::connect_with(&server.url(), Duration::from_secs(20))
        .await
        .expect("connect");
    support::publish_n(&js, "BACK.x", "m", 2000).await;
    let mut b = JetStreamSource::builder(js.clone(), "BACK", "c");
    b.batch(50)
        .ack_wait(Duration::from_secs(2))
        .idle(Duration::from_secs(4));
    let mut source = b.open().await.expect("open");
    let mut got: Vec<String> = read_and_commit(&mut source, 100).await;
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart();
    server.wait_healthy();
    // Every message arrives (those fetched and not committed when the
    // server went away come again after ack_wait); duplicates are possible
    // but bounded by what was in flight.
    support::within(60, async {
        while let Some(item) = source.try_next().await.expect("no error") {
            let (payload, ack) = item.into_parts();
            got.push(String::from_utf8(payload.to_vec()).unwrap());
            ack.commit().await.expect("commit");
        }
    })
    .await;
    let uniq: BTreeSet<&String> = got.iter().collect();
    let all: BTreeSet<String> = (0..2000).map(|i| format!("m{i}")).collect();
    assert_eq!(
        uniq.len(),
        2000,
        "missing: {:?}",
        all.iter()
            .filter(|m| !uniq.contains(m))
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(got.len() <= 2000 + 200, "{} deliveries", got.len());
}

//! The JetStream source against a real server: bounded fetching,
//! acknowledgements through transforms, redelivery, poison messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use weir_nats::{Ack, Acked, JetStreamSource, Settled};

#[tokio::test]
async fn an_unpolled_reader_leaves_at_most_two_pulls_outstanding() {
    let bin = server_or_skip!("an_unpolled_reader_leaves_at_most_two_pulls_outstanding");
    let server = support::Server::start(&bin);
    let js = support::stream(&server.url(), "UNPOLLED", 1).await;
    support::publish_n(&js, "UNPOLLED.x", "m", 5000).await;
    let mut b = JetStreamSource::builder(js.clone(), "UNPOLLED", "slow");
    b.batch(50).max_ack_pending(10_000);
    let mut source = b.open().await.expect("open");
    let stats = source.stats();
    let mut read = Vec::new();
    for _ in 0..10 {
        read.push(
            support::within(10, source.try_next())
                .await
                .expect("item")
                .expect("some"),
        );
    }
    // Not polled from here on: the fetching must stop.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let broker = stats.broker().await.expect("consumer info");
    assert!(
        broker.ack_pending <= 100,
        "{} messages outstanding with pulls of 50",
        broker.ack_pending
    );
    assert!(broker.delivered_stream_sequence <= 100, "{broker:?}");
    assert!(broker.pending >= 4900, "{broker:?}");
    assert!(stats.counts().pulls <= 2, "{:?}", stats.counts());
    // Committing what was read lowers the broker's count by as much.
    for item in read {
        item.into_parts().1.commit().await.expect("commit");
    }
    js.client().flush().await.expect("flush");
    let after = support::broker_when(&stats, |b| b.ack_pending + 10 <= broker.ack_pending).await;
    assert_eq!(after.ack_pending, broker.ack_pending - 10, "{after:?}");
    assert_eq!(after.ack_floor_stream_sequence, 10, "{after:?}");
}

#[tokio::test]
async fn every_message_arrives_once_and_is_acked_after_commit() {
    let bin = server_or_skip!("every_message_arrives_once_and_is_acked_after_commit");
    let server = support::Server::start(&bin);
    let js = support::stream(&server.url(), "ALL", 1).await;
    support::publish_n(&js, "ALL.x", "m", 3000).await;
    let mut b = JetStreamSource::builder(js.clone(), "ALL", "all");
    // The end is 3 s without a message: long enough that a loaded machine's
    // slow broker does not end the stream early.
    b.batch(100).idle(Duration::from_secs(3));
    let source = b.open().await.expect("open");
    let stats = source.stats();
    // Through a map and a merge (batches of 64), committed per batch.
    let mut seen = Vec::new();
    let mut batches = source
        .map_ok(|a| a.map(|p: Bytes| String::from_utf8_lossy(&p).into_owned()))
        .try_chunks(64);
    while let Some(chunk) = support::within(20, batches.next()).await {
        let chunk = chunk.expect("no error");
        let merged = Acked::merge(chunk, |v| v);
        let (values, ack) = merged.into_parts();
        seen.extend(values);
        ack.commit().await.expect("commit");
    }
    js.client().flush().await.expect("flush");
    assert_eq!(seen.len(), 3000);
    let expected: Vec<String> = (0..3000).map(|i| format!("m{i}")).collect();
    assert_eq!(seen, expected, "in stream order, once each");
    let counts = stats.counts();
    assert_eq!(counts.acked, 3000);
    assert_eq!(counts.redelivered, 0);
    let broker = support::broker_when(&stats, |b| b.ack_pending == 0).await;
    assert_eq!(broker.ack_pending, 0, "{broker:?}");
    assert_eq!(broker.pending, 0, "{broker:?}");
    assert!(broker.starved());
    // The source's own count of its pulls stayed true (a status it took for
    // the end of a pull that was already over made it send more and more):
    // no more than its two are waiting at the broker.
    assert!(broker.waiting <= 2, "{broker:?}");
    assert!(
        stats.counts().pulls <= 3000 / 100 + 10,
        "{:?}",
        stats.counts()
    );
}

#[tokio::test]
async fn a_failed_item_is_delivered_again_and_a_lost_share_blocks_the_ack() {
    let bin = server_or_skip!("a_failed_item_is_delivered_again_and_a_lost_share_blocks_the_ack");
    let server = support::Server::start(&bin);
    let js = support::stream(&server.url(), "RETRY", 1).await;
    support::publish_n(&js, "RETRY.x", "m", 2).await;
    let mut b = JetStreamSource::builder(js.clone(), "RETRY", "retry");
    b.batch(1).max_deliver(5);
    let mut source = b.open().await.expect("open");
    let stats = source.stats();

    // The sink fails the first message: it comes back, delivered twice.
    let first = support::within(10, source.try_next())
        .await
        .expect("ok")
        .expect("item");
    assert_eq!(first.ack().delivered(), 1);
    let seq = first.ack().stream_sequences();
    let settled = first
        .into_parts()
        .1
        .fail(Duration::from_millis(100))
        .await
        .expect("nak");
    assert_eq!(settled, Settled::Redelivered);
    let again = loop {
        let item = support::within(10, source.try_next())
            .await
            .expect("ok")
            .expect("item");
        if item.ack().stream_sequences() == seq {
            break item;
        }
        item.into_parts().1.commit().await.expect("commit other");
    };
    assert_eq!(again.ack().delivered(), 2);
    assert_eq!(again.value().as_ref(), b"m0");

    // Split in two, one piece committed and one lost: not acknowledged
    // (negatively, so it comes back at once).
    let (pieces, rest) = again.split([1u8, 2u8]);
    assert!(rest.is_none());
    let mut pieces = pieces.into_iter();
    let one = pieces.next().expect("piece");
    drop(pieces); // the second piece is lost
    one.into_parts().1.commit().await.expect("commit piece");
    let third = loop {
        let item = support::within(10, source.try_next())
            .await
            .expect("ok")
            .expect("item");
        if item.ack().stream_sequences() == seq {
            break item;
        }
        item.into_parts().1.commit().await.expect("commit other");
    };
    assert_eq!(third.ack().delivered(), 3);
    // Both pieces committed: acknowledged.
    let (pieces, _) = third.split([1u8, 2u8]);
    for p in pieces {
        p.into_parts().1.commit().await.expect("commit");
    }
    js.client().flush().await.expect("flush");
    let broker = support::broker_when(&stats, |b| b.ack_pending == 0).await;
    assert_eq!(broker.ack_pending, 0, "{broker:?}");
    let counts = stats.counts();
    assert_eq!(counts.naked, 2, "{counts:?}");
    assert_eq!(counts.acked, 2, "{counts:?}");
    assert_eq!(counts.redelivered, 2, "{counts:?}");
}

#[tokio::test]
async fn a_poison_message_is_terminated_after_max_deliver_and_the_rest_goes_on() {
    let bin =
        server_or_skip!("a_poison_message_is_terminated_after_max_deliver_and_the_rest_goes_on");
    let server = support::Server::start(&bin);
    let js = support::stream(&server.url(), "POISON", 1).await;
    support::publish_n(&js, "POISON.x", "ok", 20).await;
    js.publish("POISON.x", Bytes::from_static(b"poison"))
        .await
        .expect("pub")
        .await
        .expect("ack");
    support::publish_n(&js, "POISON.x", "late", 20).await;
    let mut b = JetStreamSource::builder(js.clone(), "POISON", "poison");
    b.batch(8).max_deliver(3).idle(Duration::from_secs(3));
    let mut source = b.open().await.expect("open");
    assert_eq!(source.max_deliver(), Some(3));
    let stats = source.stats();
    let mut delivered: BTreeMap<String, u64> = BTreeMap::new();
    let mut outcomes = Vec::new();
    while let Some(item) = support::within(30, source.try_next())
        .await
        .expect("no error")
    {
        let text = String::from_utf8_lossy(item.value()).into_owned();
        *delivered.entry(text.clone()).or_default() += 1;
        let ack: Ack = item.into_parts().1;
        if text == "poison" {
            outcomes.push(ack.fail(Duration::from_millis(50)).await.expect("fail"));
        } else {
            ack.commit().await.expect("commit");
        }
    }
    js.client().flush().await.expect("flush");
    assert_eq!(delivered.get("poison"), Some(&3));
    assert_eq!(
        outcomes,
        [
            Settled::Redelivered,
            Settled::Redelivered,
            Settled::Terminated
        ]
    );
    assert_eq!(delivered.len(), 41, "every other message went through");
    assert!(delivered.iter().all(|(k, n)| k == "poison" || *n == 1));
    assert_eq!(stats.terminated(), vec![21]);
    assert_eq!(stats.counts().terminated, 1);
    let broker = support::broker_when(&stats, |b| b.ack_pending == 0).await;
    assert_eq!(broker.ack_pending, 0, "{broker:?}");
    assert_eq!(broker.pending, 0, "{broker:?}");
}

#[tokio::test]
async fn a_missing_stream_or_consumer_is_a_clear_error() {
    let bin = server_or_skip!("a_missing_stream_or_consumer_is_a_clear_error");
    let server = support::Server::start(&bin);
    let js = support::stream(&server.url(), "THERE", 1).await;
    let e = JetStreamSource::builder(js.clone(), "NOPE", "c")
        .open()
        .await
        .expect_err("no stream");
    assert_eq!(e.stage(), Some("consume"));
    assert!(
        e.to_string().contains("stream \"NOPE\" does not exist"),
        "{e}"
    );
    let e = JetStreamSource::builder(js.clone(), "THERE", "c")
        .create(false)
        .open()
        .await
        .expect_err("no consumer");
    assert!(
        e.to_string().contains("consumer \"c\" does not exist"),
        "{e}"
    );
}

#[tokio::test]
async fn a_server_that_is_down_is_a_connect_error() {
    // No server needed: nothing listens on this port.
    let port = support::server::free_port();
    let e = weir_nats::connect(&format!("nats://127.0.0.1:{port}"))
        .await
        .expect_err("down");
    assert_eq!(e.stage(), Some("connect"));
    assert!(e.to_string().contains(&port.to_string()), "{e}");
}

#[tokio::test]
async fn idle_counts_only_time_spent_waiting_not_a_slow_reader() {
    let bin = server_or_skip!("idle_counts_only_time_spent_waiting_not_a_slow_reader");
    let server = support::Server::start(&bin);
    let js = support::stream(&server.url(), "IDLE", 1).await;
    support::publish_n(&js, "IDLE.x", "m", 60).await;
    let mut b = JetStreamSource::builder(js.clone(), "IDLE", "idle");
    // An idle time a loaded machine's broker stays well within, and a
    // sink away for twice as long.
    b.batch(10).idle(Duration::from_secs(1));
    let mut source = b.open().await.expect("open");
    let mut n = 0;
    while let Some(item) = support::within(20, source.try_next())
        .await
        .expect("no error")
    {
        n += 1;
        item.into_parts().1.commit().await.expect("commit");
        if n % 20 == 0 {
            // A slow sink: away for longer than the idle time.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    assert_eq!(n, 60, "the stream ended early");
}

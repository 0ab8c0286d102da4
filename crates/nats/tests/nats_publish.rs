//! The JetStream sink against a real server: the window, message IDs,
//! deduplication, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use bytes::Bytes;
use futures::SinkExt;
use weir_core::Written;
use weir_nats::JetStreamSink;

#[tokio::test]
async fn the_window_bounds_unacked_publishes_and_every_message_has_an_id() {
    let bin = server_or_skip!("the_window_bounds_unacked_publishes_and_every_message_has_an_id");
    let server = support::Server::start(&bin);
    let js = support::stream(&server.url(), "PUB", 1).await;
    let mut sink = JetStreamSink::builder(js.clone(), "PUB.lines")
        .window(16)
        .msg_id_prefix("run1")
        .build()
        .expect("sink");
    let stats = sink.stats();
    let mut fulls = 0;
    for i in 0..1000u32 {
        match sink.write(Bytes::from(format!("line {i}"))).expect("write") {
            Written::Ready => {}
            Written::Full => {
                fulls += 1;
                assert!(sink.in_flight() >= 16);
                support::within(10, sink.drained()).await.expect("drained");
                assert!(sink.in_flight() <= 8, "drained at half the window");
            }
        }
        assert!(
            sink.in_flight() <= 16,
            "never more than the window in flight"
        );
    }
    support::within(10, sink.close()).await.expect("close");
    assert_eq!(sink.in_flight(), 0);
    assert!(fulls >= 1000 / 16 / 2, "{fulls} Full answers");
    let counts = stats.counts();
    assert_eq!(counts.published, 1000);
    assert_eq!(counts.duplicates, 0);
    assert_eq!(support::stream_len(&js, "PUB").await, 1000);
    let stream = js.get_stream("PUB").await.expect("stream");
    for seq in [1u64, 500, 1000] {
        let m = stream.get_raw_message(seq).await.expect("message");
        assert_eq!(m.payload, Bytes::from(format!("line {}", seq - 1)));
        let id = m
            .headers
            .get("Nats-Msg-Id")
            .expect("an id")
            .as_str()
            .to_string();
        assert_eq!(id, format!("run1-{seq}"));
    }
}

#[tokio::test]
async fn the_same_ids_again_are_stored_once() {
    let bin = server_or_skip!("the_same_ids_again_are_stored_once");
    let server = support::Server::start(&bin);
    let js = support::stream(&server.url(), "DEDUP", 1).await;
    for _run in 0..2 {
        let mut sink = JetStreamSink::builder(js.clone(), "DEDUP.x")
            .msg_id_prefix("same")
            .build()
            .expect("sink");
        for i in 0..100u32 {
            sink.send(Bytes::from(format!("{i}"))).await.expect("send");
        }
        sink.close().await.expect("close");
        if _run == 1 {
            assert_eq!(sink.stats().counts().duplicates, 100);
        }
    }
    assert_eq!(support::stream_len(&js, "DEDUP").await, 100);
}

#[tokio::test]
async fn a_message_over_the_max_payload_fails_the_sink_naming_the_stage() {
    let bin = server_or_skip!("a_message_over_the_max_payload_fails_the_sink_naming_the_stage");
    let server = support::Server::start_with(&bin, "max_payload: 4096");
    let js = support::stream(&server.url(), "BIG", 1).await;
    let mut sink = JetStreamSink::builder(js.clone(), "BIG.x")
        .build()
        .expect("sink");
    sink.send(Bytes::from_static(b"small"))
        .await
        .expect("small");
    let big = Bytes::from(vec![b'x'; 8192]);
    let e = async {
        sink.send(big).await?;
        sink.flush().await
    }
    .await
    .expect_err("too big");
    assert_eq!(e.stage(), Some("publish"), "{e}");
    assert!(e.to_string().contains("maximum payload"), "{e}");
    assert_eq!(support::stream_len(&js, "BIG").await, 1);
}

#[tokio::test]
async fn bad_subjects_are_refused_before_anything_is_sent() {
    // No server needed: the subject is checked first.
    for bad in ["has space", "wild.*", "wild.>", "", "a..b", ".a", "tab\tx"] {
        let e = weir_nats::check_subject(bad).expect_err(bad);
        assert_eq!(e.stage(), Some("publish"));
        assert!(e.to_string().contains("subject"), "{e}");
    }
    weir_nats::check_subject("orders.eu.created").expect("a good subject");
}

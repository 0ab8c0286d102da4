//! Helpers shared by weir-core's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

/// Fails the test if `f` takes longer than `secs` seconds.
pub async fn within<F: std::future::Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("the test hung")
}

/// Deterministic pseudo-random numbers.
pub fn rng(seed: u64) -> weir_core::testing::Rng {
    weir_core::testing::Rng::new(seed)
}

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Sink;
use weir_core::Error;

/// A sink whose `close` also waits for a helper task (the one moving data
/// on to the final writer) to finish.
pub struct Joined<K> {
    pub sink: K,
    pub task: tokio::task::JoinHandle<()>,
}

impl<K: Sink<Bytes, Error = Error> + Unpin> Sink<Bytes> for Joined<K> {
    type Error = Error;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.sink).poll_ready(cx)
    }
    fn start_send(mut self: Pin<&mut Self>, item: Bytes) -> Result<(), Error> {
        Pin::new(&mut self.sink).start_send(item)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.sink).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        futures::ready!(Pin::new(&mut self.sink).poll_close(cx))?;
        Pin::new(&mut self.task)
            .poll(cx)
            .map(|r| r.map_err(|e| Error::msg(e.to_string())))
    }
}

use std::future::Future;

//! Helpers for weir-pipe's tests: streams and sinks that count themselves
//! alive, fail on cue, or go slowly.
#![allow(dead_code, unreachable_pub)]

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Sink, Stream};
use weir::{Error, Output, Transform};

/// Counts live objects: each `Alive` adds one while it exists.
#[derive(Clone, Default)]
pub struct Census(Arc<AtomicUsize>);

impl Census {
    pub fn alive(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    pub fn token(&self) -> Alive {
        self.0.fetch_add(1, Ordering::SeqCst);
        Alive(self.0.clone())
    }
}

pub struct Alive(Arc<AtomicUsize>);
impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A source of `n` chunks of `size` bytes that fails at chunk `fail_at`
/// (if given), and counts itself alive.
pub struct Source {
    pub left: usize,
    pub size: usize,
    pub fail_at: Option<usize>,
    pub sent: usize,
    pub _alive: Alive,
}

impl Stream for Source {
    type Item = Result<Bytes, Error>;
    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if Some(self.sent) == self.fail_at {
            self.fail_at = None;
            return Poll::Ready(Some(Err(Error::io(std::io::Error::other(
                "disk read failed",
            )))));
        }
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        self.sent += 1;
        Poll::Ready(Some(Ok(Bytes::from(vec![b'a'; self.size]))))
    }
}

pub fn source(census: &Census, n: usize, size: usize, fail_at: Option<usize>) -> Source {
    Source {
        left: n,
        size,
        fail_at,
        sent: 0,
        _alive: census.token(),
    }
}

/// A sink that collects bytes (into a shared counter), optionally slowly,
/// optionally failing after `fail_after` bytes; counts itself alive; records
/// whether it was closed.
pub struct Collect {
    pub got: Arc<AtomicUsize>,
    pub closed: Arc<AtomicUsize>,
    pub fail_after: Option<usize>,
    pub delay: Option<Duration>,
    pub sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    pub _alive: Alive,
}

pub fn collect(census: &Census) -> Collect {
    Collect {
        got: Arc::default(),
        closed: Arc::default(),
        fail_after: None,
        delay: None,
        sleep: None,
        _alive: census.token(),
    }
}

impl Sink<Bytes> for Collect {
    type Error = Error;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if let Some(d) = self.delay {
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(d)));
            futures::ready!(sleep.as_mut().poll(cx));
            self.sleep = None;
        }
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, item: Bytes) -> Result<(), Error> {
        let total = self.got.fetch_add(item.len(), Ordering::SeqCst) + item.len();
        if self.fail_after.is_some_and(|n| total > n) {
            return Err(Error::io(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left",
            )));
        }
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.closed.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Ok(()))
    }
}

use std::future::Future;

/// A transform that upper-cases, optionally burning CPU, optionally failing
/// or panicking at chunk `n`; declares itself heavy or not.
pub struct Work {
    pub heavy: bool,
    pub spin: Duration,
    pub fail_at: Option<usize>,
    pub panic_at: Option<usize>,
    pub seen: usize,
    pub _alive: Alive,
}

pub fn work(census: &Census, heavy: bool) -> Work {
    Work {
        heavy,
        spin: Duration::ZERO,
        fail_at: None,
        panic_at: None,
        seen: 0,
        _alive: census.token(),
    }
}

impl Transform for Work {
    type In = Bytes;
    type Out = Bytes;
    fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
        if Some(self.seen) == self.fail_at {
            return Err(Error::corrupt(format!("bad chunk {}", self.seen)));
        }
        if Some(self.seen) == self.panic_at {
            panic!("transform bug at chunk {}", self.seen);
        }
        self.seen += 1;
        if !self.spin.is_zero() {
            let t = std::time::Instant::now();
            while t.elapsed() < self.spin {
                std::hint::spin_loop();
            }
        }
        out.push(Bytes::from(chunk.to_ascii_uppercase()));
        Ok(())
    }
    fn heavy(&self) -> bool {
        self.heavy
    }
}

pub async fn within<F: Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("the test hung")
}

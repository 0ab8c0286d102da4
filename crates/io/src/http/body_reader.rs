use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use http_body::Body;
use pin_project_lite::pin_project;
use weir_core::{BoxError, Error};

use super::rate_guard::{MinRate, RateGuard};

pin_project! {
    /// Any HTTP body (a server's request body, a client's response body) as
    /// a weir readable: a stream of `Bytes` chunks (Node's
    /// `http.IncomingMessage`).
    ///
    /// Hyper reads the socket only when this stream is polled, so a consumer
    /// that stops stops the transfer (the TCP window closes on the peer).
    ///
    /// Guards, all off by default:
    /// - [`limit`](BodyReader::limit): past that many bytes the stream fails
    ///   with an error for which [`Error::is_limit`] is true (the server's
    ///   413 Payload Too Large; see [`error_status`](super::error_status)).
    ///   A declared `Content-Length` over the limit fails at the first poll,
    ///   before anything is read.
    /// - [`min_rate`](BodyReader::min_rate) and
    ///   [`idle_timeout`](BodyReader::idle_timeout): a peer that sends slower
    ///   than the rate (averaged over the time spent waiting for it, after a
    ///   grace period) or not at all for the timeout fails the stream with an
    ///   error for which [`Error::is_timeout`] is true (408).
    ///
    /// Trailers are skipped. The stream is fused after the end or an error.
    ///
    /// # Examples
    /// ```
    /// use futures::TryStreamExt;
    /// use http_body_util::Full;
    /// use weir_io::http::BodyReader;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let small = BodyReader::new(Full::new(bytes::Bytes::from("hello"))).limit(10);
    /// let got: Vec<_> = small.try_collect().await.unwrap();
    /// assert_eq!(got.concat(), b"hello");
    ///
    /// let big = BodyReader::new(Full::new(bytes::Bytes::from("hello world"))).limit(10);
    /// let err = big.try_collect::<Vec<_>>().await.unwrap_err();
    /// assert!(err.is_limit());
    /// # }
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct BodyReader<B> {
        #[pin]
        body: B,
        limit: Option<u64>,
        read: u64,
        guard: RateGuard,
        idle: Option<Duration>,
        rate: Option<MinRate>,
        done: bool,
    }
}

impl<B> fmt::Debug for BodyReader<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader")
            .field("limit", &self.limit)
            .field("read", &self.read)
            .field("done", &self.done)
            .finish()
    }
}

impl<B> BodyReader<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    /// Reads `body` with no limit and no guards.
    pub fn new(body: B) -> Self {
        BodyReader {
            body,
            limit: None,
            read: 0,
            guard: RateGuard::new(None, None),
            idle: None,
            rate: None,
            done: false,
        }
    }

    /// Fails the stream past `max` bytes.
    pub fn limit(mut self, max: u64) -> Self {
        self.limit = Some(max);
        self
    }

    /// Fails the stream if the peer sends slower than `bytes_per_sec`,
    /// averaged over the time spent waiting for it, once that time passes
    /// `grace` (Kestrel's `MinRequestBodyDataRate`: 240 bytes/s, 5 s).
    pub fn min_rate(mut self, bytes_per_sec: u64, grace: Duration) -> Self {
        self.rate = Some(MinRate {
            bytes_per_sec,
            grace,
        });
        self.guard = RateGuard::new(self.idle, self.rate);
        self
    }

    /// Fails the stream if nothing arrives for `timeout` while it waits.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = Some(timeout);
        self.guard = RateGuard::new(self.idle, self.rate);
        self
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The body.
    pub fn into_inner(self) -> B {
        self.body
    }
}

impl<B> Stream for BodyReader<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Item = Result<Bytes, Error>;

    /// # Return value
    /// - `Poll::Pending`: nothing has arrived; the waker (and the guard's
    ///   timer, if any) is registered.
    /// - `Poll::Ready(Some(Ok(chunk)))`: the next bytes, never empty.
    /// - `Poll::Ready(Some(Err(e)))`: the body failed, passed its limit, or
    ///   its peer was too slow; fused.
    /// - `Poll::Ready(None)`: the end; fused.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if *this.read == 0
            && let Some(max) = *this.limit
            && this.body.size_hint().lower() > max
        {
            *this.done = true;
            return Poll::Ready(Some(Err(too_large(max))));
        }
        loop {
            match this.body.as_mut().poll_frame(cx) {
                Poll::Pending => {
                    return match this.guard.poll_pending(cx) {
                        Ok(()) => Poll::Pending,
                        Err(trip) => {
                            *this.done = true;
                            Poll::Ready(Some(Err(Error::timeout(format!(
                                "body: peer too slow: {trip}"
                            ))
                            .with_stage("http.body"))))
                        }
                    };
                }
                Poll::Ready(None) => {
                    *this.done = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    *this.done = true;
                    return Poll::Ready(Some(Err(Error::other(e).with_stage("http.body"))));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers
                    };
                    this.guard.progress(data.len());
                    if data.is_empty() {
                        continue;
                    }
                    *this.read += data.len() as u64;
                    if let Some(max) = *this.limit
                        && *this.read > max
                    {
                        *this.done = true;
                        return Poll::Ready(Some(Err(too_large(max))));
                    }
                    return Poll::Ready(Some(Ok(data)));
                }
            }
        }
    }
}

impl<B> FusedStream for BodyReader<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    fn is_terminated(&self) -> bool {
        self.done
    }
}

fn too_large(max: u64) -> Error {
    Error::limit(format!("body larger than {max} bytes")).with_stage("http.body")
}

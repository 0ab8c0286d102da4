use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_core::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::{Output, Transform};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Pull the next input chunk.
    Pull,
    /// Call `resume` until it says nothing is held back, then pull.
    ResumeThenPull,
    /// Input ended and `flush` ran: call `resume` until done, then end.
    ResumeThenEnd,
    /// Finished (ended or failed).
    Done,
}

pin_project! {
    /// A stream running a [`Transform`] over an upstream stream, pull-driven:
    /// upstream is polled only when all output so far has been taken.
    ///
    /// Made by [`ReadableExt::through`](crate::ReadableExt::through) or
    /// [`Through::new`]. It yields the transform's output, then ends after
    /// upstream ends and [`Transform::flush`] has run. An upstream error is
    /// passed on as it is; a transform error is named after the transform
    /// (unless it names a stage already). Either ends the stream: it is fused.
    #[must_use = "streams do nothing unless polled"]
    pub struct Through<S, T: Transform> {
        #[pin]
        upstream: S,
        transform: T,
        out: Output<T::Out>,
        phase: Phase,
        name: Option<Arc<str>>,
    }
}

impl<S, T: Transform> Through<S, T> {
    /// Runs `transform` over `upstream`.
    pub fn new(upstream: S, transform: T) -> Self {
        Through {
            upstream,
            transform,
            out: Output::new(),
            phase: Phase::Pull,
            name: None,
        }
    }

    /// Names the stage in errors (instead of [`Transform::name`]).
    pub fn with_name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The upstream stream.
    pub fn get_ref(&self) -> &S {
        &self.upstream
    }

    /// The transform.
    pub fn transform_ref(&self) -> &T {
        &self.transform
    }

    /// The upstream stream, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.upstream
    }

    /// The upstream stream and the transform. Output not yet taken is lost.
    pub fn into_parts(self) -> (S, T) {
        (self.upstream, self.transform)
    }
}

fn stage_error(name: &Option<Arc<str>>, t: &impl Transform, e: Error) -> Error {
    match name {
        Some(n) => e.with_stage(n.clone()),
        None => e.with_stage(t.name()),
    }
}

impl<S, T> Stream for Through<S, T>
where
    S: Stream<Item = Result<T::In, Error>>,
    T: Transform,
{
    type Item = Result<T::Out, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if let Some(chunk) = this.out.pop() {
                return Poll::Ready(Some(Ok(chunk)));
            }
            let step = match *this.phase {
                Phase::Done => return Poll::Ready(None),
                Phase::ResumeThenPull | Phase::ResumeThenEnd => {
                    match this.transform.resume(this.out) {
                        Ok(true) => Ok(()),
                        Ok(false) => {
                            *this.phase = if *this.phase == Phase::ResumeThenPull {
                                Phase::Pull
                            } else {
                                Phase::Done
                            };
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
                Phase::Pull => match ready!(this.upstream.as_mut().poll_next(cx)) {
                    Some(Ok(chunk)) => {
                        *this.phase = Phase::ResumeThenPull;
                        this.transform.transform(chunk, this.out)
                    }
                    Some(Err(e)) => {
                        *this.phase = Phase::Done;
                        this.out.clear();
                        return Poll::Ready(Some(Err(e)));
                    }
                    None => {
                        *this.phase = Phase::ResumeThenEnd;
                        this.transform.flush(this.out)
                    }
                },
            };
            if let Err(e) = step {
                *this.phase = Phase::Done;
                this.out.clear();
                return Poll::Ready(Some(Err(stage_error(this.name, this.transform, e))));
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.out.len(), None)
    }
}

impl<S, T> FusedStream for Through<S, T>
where
    S: Stream<Item = Result<T::In, Error>>,
    T: Transform,
{
    fn is_terminated(&self) -> bool {
        self.phase == Phase::Done && self.out.is_empty()
    }
}

impl<S: fmt::Debug, T: Transform> fmt::Debug for Through<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Through")
            .field("upstream", &self.upstream)
            .field("transform", &self.transform.name())
            .field("pending", &self.out.len())
            .finish()
    }
}

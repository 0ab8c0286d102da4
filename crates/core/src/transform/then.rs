use std::fmt;

use super::{Output, Transform};
use crate::error::Error;

/// Two transforms fused into one: the output of `A` feeds `B` in the same
/// call. Made by [`TransformExt::then`](crate::TransformExt::then).
///
/// It keeps the [`Transform`] protocol for both: `B` is given no new chunk
/// while it holds work back, and is flushed only after `A` has flushed and
/// both have emitted everything. Errors keep the name of the inner transform
/// that failed.
pub struct Then<A: Transform, B> {
    a: A,
    b: B,
    mid: Output<A::Out>,
    phase: Phase,
    name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Flushing,
    Flushed,
}

impl<A, B> Then<A, B>
where
    A: Transform,
    B: Transform<In = A::Out>,
{
    pub(crate) fn new(a: A, b: B) -> Self {
        let name = format!("{}+{}", a.name(), b.name());
        Then {
            a,
            b,
            mid: Output::new(),
            phase: Phase::Running,
            name,
        }
    }

    /// The two transforms.
    pub fn into_inner(self) -> (A, B) {
        (self.a, self.b)
    }

    fn a_err(&self, e: Error) -> Error {
        e.with_stage(self.a.name())
    }

    fn b_err(&self, e: Error) -> Error {
        e.with_stage(self.b.name())
    }

    /// Feeds `A`'s pending output into `B`, stopping as soon as `B` holds
    /// work back. Returns whether more remains to be done.
    fn feed(&mut self, out: &mut Output<B::Out>) -> Result<bool, Error> {
        while let Some(x) = self.mid.pop() {
            if let Err(e) = self.b.transform(x, out) {
                self.mid.clear();
                return Err(self.b_err(e));
            }
            if self.b.resume(out).map_err(|e| self.b_err(e))? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// One step of draining both sides; whether more remains.
    fn step(&mut self, out: &mut Output<B::Out>) -> Result<bool, Error> {
        if self.b.resume(out).map_err(|e| self.b_err(e))? || self.feed(out)? {
            return Ok(true);
        }
        let more_a = self.a.resume(&mut self.mid).map_err(|e| self.a_err(e))?;
        Ok(self.feed(out)? || more_a)
    }
}

impl<A, B> Transform for Then<A, B>
where
    A: Transform,
    B: Transform<In = A::Out>,
{
    type In = A::In;
    type Out = B::Out;

    #[inline]
    fn transform(&mut self, chunk: A::In, out: &mut Output<B::Out>) -> Result<(), Error> {
        if let Err(e) = self.a.transform(chunk, &mut self.mid) {
            return Err(self.a_err(e));
        }
        self.feed(out).map(|_| ())
    }

    fn flush(&mut self, out: &mut Output<B::Out>) -> Result<(), Error> {
        if self.phase != Phase::Running {
            return Ok(());
        }
        self.phase = Phase::Flushing;
        if let Err(e) = self.a.flush(&mut self.mid) {
            return Err(self.a_err(e));
        }
        // `B` is flushed from `resume`, once everything `A` flushed has
        // passed through it (the driver calls `resume` after `flush`).
        self.feed(out).map(|_| ())
    }

    fn resume(&mut self, out: &mut Output<B::Out>) -> Result<bool, Error> {
        match self.phase {
            Phase::Running => self.step(out),
            Phase::Flushing => {
                if self.step(out)? {
                    return Ok(true);
                }
                self.phase = Phase::Flushed;
                self.b.flush(out).map_err(|e| self.b_err(e))?;
                Ok(true)
            }
            Phase::Flushed => self.b.resume(out).map_err(|e| self.b_err(e)),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn heavy(&self) -> bool {
        self.a.heavy() || self.b.heavy()
    }

    fn worker_busy(&self) -> Option<crate::WorkerBusy> {
        self.a.worker_busy().or_else(|| self.b.worker_busy())
    }
}

impl<A: Transform, B> fmt::Debug for Then<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Then").field("name", &self.name).finish()
    }
}

/// A transform with a name of its own. Made by
/// [`TransformExt::named`](crate::TransformExt::named).
pub struct Named<T> {
    inner: T,
    name: String,
}

impl<T> Named<T> {
    pub(crate) fn new(inner: T, name: String) -> Self {
        Named { inner, name }
    }

    /// The transform inside.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transform> Transform for Named<T> {
    type In = T::In;
    type Out = T::Out;

    #[inline]
    fn transform(&mut self, chunk: T::In, out: &mut Output<T::Out>) -> Result<(), Error> {
        self.inner.transform(chunk, out)
    }
    fn flush(&mut self, out: &mut Output<T::Out>) -> Result<(), Error> {
        self.inner.flush(out)
    }
    fn resume(&mut self, out: &mut Output<T::Out>) -> Result<bool, Error> {
        self.inner.resume(out)
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn heavy(&self) -> bool {
        self.inner.heavy()
    }
    fn worker_busy(&self) -> Option<crate::WorkerBusy> {
        self.inner.worker_busy()
    }
}

impl<T> fmt::Debug for Named<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Named").field("name", &self.name).finish()
    }
}

//! Synchronous transforms of chunks, and the pull-driven adapter that runs them.
//!
//! A [`Transform`] turns each input chunk into zero or more output chunks
//! (Node's `_transform` + `this.push()`), and may emit a last few at the end
//! of input ([`Transform::flush`], Node's `_flush`). It is plain synchronous
//! code: codecs, parsers, maps. Async work belongs in `Stream` combinators.
//!
//! # Backpressure
//! [`Through`] runs a transform over a stream and is *pull-driven*: it asks
//! upstream for a chunk only when everything the transform emitted so far has
//! been taken by downstream. A slow consumer therefore slows every stage
//! before it, through any chain of transforms, with no extra code; each stage
//! holds at most the output of one input chunk.
//!
//! # Bounded expansion
//! A transform whose output can be far larger than its input (a decompressor)
//! may stop early inside [`Transform::transform`], keep the rest of its input,
//! and emit more when the adapter calls [`Transform::resume`], which it does
//! each time the previous output has been taken, before pulling more input.
//!
//! # Fusing
//! [`TransformExt::then`] joins two transforms into one, so a chain of cheap
//! stages runs in one task with no channel between them.

mod filter;
mod inspect;
mod map;
mod output;
mod pass_through;
mod then;
mod through;

pub use self::filter::{Filter, filter};
pub use self::inspect::{Inspect, inspect};
pub use self::map::{Map, TryMap, map, try_map};
pub use self::output::Output;
pub use self::pass_through::PassThrough;
pub use self::then::{Named, Then};
pub use self::through::Through;

use crate::error::Error;

/// A synchronous transform of chunks: each input chunk becomes zero or more
/// output chunks.
///
/// # Errors
/// A transform that returns an error ends its stream with that error, named
/// after the transform (see [`Transform::name`]) unless it already names a
/// stage.
///
/// # Examples
/// The seed's upper-casing transform:
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::{readable, Output, ReadableExt, Transform};
///
/// struct Upper;
///
/// impl Transform for Upper {
///     type In = Bytes;
///     type Out = Bytes;
///     fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), weir::Error> {
///         out.push(Bytes::from(chunk.to_ascii_uppercase()));
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let words = readable::from_iter(["quiet ", "please"].map(|s: &'static str| Bytes::from(s)));
/// let loud: Vec<Bytes> = words.through(Upper).try_collect().await?;
/// assert_eq!(loud.concat(), b"QUIET PLEASE");
/// # Ok(()) }
/// ```
pub trait Transform {
    /// The chunks it takes.
    type In;
    /// The chunks it emits.
    type Out;

    /// Transforms one chunk, pushing any output to `out`.
    ///
    /// # Errors
    /// Returns an error if the chunk cannot be transformed (corrupt input, a
    /// limit reached); the stream ends with it.
    fn transform(&mut self, chunk: Self::In, out: &mut Output<Self::Out>) -> Result<(), Error>;

    /// Called once, when the input has ended and [`resume`](Transform::resume)
    /// has returned `false`: emits whatever the transform still holds (a
    /// trailer, a last partial line). The default emits nothing.
    ///
    /// # Errors
    /// Returns an error if the input ended where it must not (a truncated
    /// frame); the stream ends with it instead of ending cleanly.
    fn flush(&mut self, out: &mut Output<Self::Out>) -> Result<(), Error> {
        let _ = out;
        Ok(())
    }

    /// Continues work held back by an earlier call (see "Bounded expansion"
    /// in the [module docs](self)): pushes more output to `out` and returns
    /// `true` while more remains to be emitted without new input.
    ///
    /// The driver ([`Through`], a pipeline stage) calls it after every
    /// [`transform`](Transform::transform) and [`flush`](Transform::flush)
    /// call, once the output so far has been taken, and again for as long as
    /// it returns `true`; only then does it pull more input (or end). So
    /// `transform` is never given a chunk while work is held back. The
    /// default holds nothing back.
    ///
    /// # Errors
    /// As for [`transform`](Transform::transform).
    fn resume(&mut self, out: &mut Output<Self::Out>) -> Result<bool, Error> {
        let _ = out;
        Ok(false)
    }

    /// The name errors and reports use for this transform. Defaults to the
    /// type's name without its path.
    fn name(&self) -> &str {
        short_type_name::<Self>()
    }

    /// Whether the transform does enough work per chunk (compression,
    /// hashing, heavy parsing) to deserve a task of its own in a pipeline, so
    /// that it runs on another core than the stages around it. Cheap
    /// transforms (the default, `false`) are fused into a neighbour's task: a
    /// task hop costs more than a cheap map.
    fn heavy(&self) -> bool {
        false
    }

    /// The busy-time meters of the worker threads the transform runs its
    /// work on, if it has any (a parallel codec): a pipeline stage running
    /// it puts their figures in its run report. The default has none.
    fn worker_busy(&self) -> Option<crate::WorkerBusy> {
        None
    }
}

/// Combinators on every [`Transform`].
pub trait TransformExt: Transform + Sized {
    /// Fuses `self` and `next` into one transform: each output chunk of
    /// `self` goes straight into `next`, in the same task.
    ///
    /// # Examples
    /// ```
    /// use futures::TryStreamExt;
    /// use weir::transform::{filter, map};
    /// use weir::{readable, ReadableExt, TransformExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let evens_squared = filter(|n: &u32| n % 2 == 0).then(map(|n: u32| n * n));
    /// let out: Vec<u32> = readable::from_iter(1..=6).through(evens_squared).try_collect().await?;
    /// assert_eq!(out, [4, 16, 36]);
    /// # Ok(()) }
    /// ```
    fn then<B>(self, next: B) -> Then<Self, B>
    where
        B: Transform<In = Self::Out>,
    {
        Then::new(self, next)
    }

    /// Gives the transform a name for errors and reports.
    fn named(self, name: impl Into<String>) -> Named<Self> {
        Named::new(self, name.into())
    }
}

impl<T: Transform> TransformExt for T {}

impl<T: Transform + ?Sized> Transform for Box<T> {
    type In = T::In;
    type Out = T::Out;

    fn transform(&mut self, chunk: Self::In, out: &mut Output<Self::Out>) -> Result<(), Error> {
        (**self).transform(chunk, out)
    }
    fn flush(&mut self, out: &mut Output<Self::Out>) -> Result<(), Error> {
        (**self).flush(out)
    }
    fn resume(&mut self, out: &mut Output<Self::Out>) -> Result<bool, Error> {
        (**self).resume(out)
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn heavy(&self) -> bool {
        (**self).heavy()
    }
    fn worker_busy(&self) -> Option<crate::WorkerBusy> {
        (**self).worker_busy()
    }
}

/// `std::any::type_name` without the module path or generic arguments.
pub(crate) fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

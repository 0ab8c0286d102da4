use std::fmt;
use std::marker::PhantomData;

use super::{Output, Transform};
use crate::error::Error;

/// A transform that shows each chunk to a function and passes it on
/// unchanged. Made by [`inspect`].
pub struct Inspect<F, T> {
    f: F,
    _types: PhantomData<fn(T) -> T>,
}

/// A transform that calls `f` with a reference to each chunk and passes the
/// chunk on unchanged: for logging, metrics, assertions (Node's
/// `stream.on('data', …)` alongside the pipe, without taking the chunk).
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir::{readable, transform::inspect, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let mut seen = 0;
/// let out: Vec<u8> = readable::from_iter(1..=3u8)
///     .through(inspect(|n: &u8| seen += *n as u32))
///     .try_collect()
///     .await?;
/// assert_eq!(out, [1, 2, 3]);
/// assert_eq!(seen, 6);
/// # Ok(()) }
/// ```
pub fn inspect<T, F: FnMut(&T)>(f: F) -> Inspect<F, T> {
    Inspect {
        f,
        _types: PhantomData,
    }
}

impl<F: FnMut(&T), T> Transform for Inspect<F, T> {
    type In = T;
    type Out = T;

    #[inline]
    fn transform(&mut self, chunk: T, out: &mut Output<T>) -> Result<(), Error> {
        (self.f)(&chunk);
        out.push(chunk);
        Ok(())
    }

    fn name(&self) -> &str {
        "inspect"
    }
}

impl<F, T> fmt::Debug for Inspect<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Inspect")
    }
}

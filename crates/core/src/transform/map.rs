use std::fmt;
use std::marker::PhantomData;

use super::{Output, Transform};
use crate::error::Error;

/// A transform applying a function to each chunk. Made by [`map`].
pub struct Map<F, I, O> {
    f: F,
    _types: PhantomData<fn(I) -> O>,
}

/// A transform applying `f` to each chunk.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir::{readable, transform::map, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let lens: Vec<usize> = readable::from_iter(["a", "bcd"]).through(map(str::len)).try_collect().await?;
/// assert_eq!(lens, [1, 3]);
/// # Ok(()) }
/// ```
pub fn map<I, O, F: FnMut(I) -> O>(f: F) -> Map<F, I, O> {
    Map {
        f,
        _types: PhantomData,
    }
}

impl<F: FnMut(I) -> O, I, O> Transform for Map<F, I, O> {
    type In = I;
    type Out = O;

    #[inline]
    fn transform(&mut self, chunk: I, out: &mut Output<O>) -> Result<(), Error> {
        out.push((self.f)(chunk));
        Ok(())
    }

    fn name(&self) -> &str {
        "map"
    }
}

impl<F, I, O> fmt::Debug for Map<F, I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Map")
    }
}

/// A transform applying a fallible function to each chunk. Made by [`try_map`].
pub struct TryMap<F, I, O> {
    f: F,
    _types: PhantomData<fn(I) -> O>,
}

/// A transform applying `f` to each chunk; an `Err` ends the stream.
///
/// # Errors
/// The stream yields the first error `f` returns, after the output of the
/// items before it; the item that failed has no output.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir::{readable, transform::try_map, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let parse = try_map(|s: &str| s.parse::<u8>().map_err(weir::Error::other));
/// let res: Result<Vec<u8>, _> = readable::from_iter(["1", "x"]).through(parse).try_collect().await;
/// assert!(res.is_err());
/// # }
/// ```
pub fn try_map<I, O, F: FnMut(I) -> Result<O, Error>>(f: F) -> TryMap<F, I, O> {
    TryMap {
        f,
        _types: PhantomData,
    }
}

impl<F: FnMut(I) -> Result<O, Error>, I, O> Transform for TryMap<F, I, O> {
    type In = I;
    type Out = O;

    #[inline]
    fn transform(&mut self, chunk: I, out: &mut Output<O>) -> Result<(), Error> {
        out.push((self.f)(chunk)?);
        Ok(())
    }

    fn name(&self) -> &str {
        "try_map"
    }
}

impl<F, I, O> fmt::Debug for TryMap<F, I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryMap")
    }
}

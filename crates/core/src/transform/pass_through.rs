use std::fmt;
use std::marker::PhantomData;

use super::{Output, Transform};
use crate::error::Error;

/// A transform that passes every chunk on unchanged (Node's `PassThrough`):
/// a placeholder stage, or a point to observe a stream.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir::{readable, transform::PassThrough, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let same: Vec<u8> = readable::from_iter([1u8, 2]).through(PassThrough::new()).try_collect().await?;
/// assert_eq!(same, [1, 2]);
/// # Ok(()) }
/// ```
pub struct PassThrough<T> {
    _types: PhantomData<fn(T) -> T>,
}

impl<T> PassThrough<T> {
    /// A pass-through transform.
    pub fn new() -> Self {
        PassThrough {
            _types: PhantomData,
        }
    }
}

impl<T> Default for PassThrough<T> {
    fn default() -> Self {
        PassThrough::new()
    }
}

impl<T> Clone for PassThrough<T> {
    fn clone(&self) -> Self {
        PassThrough::new()
    }
}

impl<T> Transform for PassThrough<T> {
    type In = T;
    type Out = T;

    #[inline]
    fn transform(&mut self, chunk: T, out: &mut Output<T>) -> Result<(), Error> {
        out.push(chunk);
        Ok(())
    }

    fn name(&self) -> &str {
        "pass_through"
    }
}

impl<T> fmt::Debug for PassThrough<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PassThrough")
    }
}

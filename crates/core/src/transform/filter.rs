use std::fmt;
use std::marker::PhantomData;

use super::{Output, Transform};
use crate::error::Error;

/// A transform keeping the chunks a predicate accepts. Made by [`filter`].
pub struct Filter<F, T> {
    f: F,
    _types: PhantomData<fn(T) -> T>,
}

/// A transform keeping the chunks for which `f` returns `true`.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir::{readable, transform::filter, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let odd: Vec<u8> = readable::from_iter(1..=5u8).through(filter(|n: &u8| n % 2 == 1)).try_collect().await?;
/// assert_eq!(odd, [1, 3, 5]);
/// # Ok(()) }
/// ```
pub fn filter<T, F: FnMut(&T) -> bool>(f: F) -> Filter<F, T> {
    Filter {
        f,
        _types: PhantomData,
    }
}

impl<F: FnMut(&T) -> bool, T> Transform for Filter<F, T> {
    type In = T;
    type Out = T;

    #[inline]
    fn transform(&mut self, chunk: T, out: &mut Output<T>) -> Result<(), Error> {
        if (self.f)(&chunk) {
            out.push(chunk);
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "filter"
    }
}

impl<F, T> fmt::Debug for Filter<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Filter")
    }
}

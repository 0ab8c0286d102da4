//! How much a buffer may hold: the high-water mark and the unit it is measured in.

use std::any::{Any, TypeId};
use std::fmt;

/// The unit a [`Limit`] counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Each chunk counts its length in bytes (Node's byte mode).
    Bytes,
    /// Each chunk counts 1 (Node's `objectMode`).
    Items,
    /// Each chunk counts what a user-supplied function says.
    Weighted,
}

impl Unit {
    /// A short name for the unit, as printed in stats (`"bytes"`, `"items"`, `"units"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Items => "items",
            Unit::Weighted => "units",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A buffer's high-water mark, and how its chunks are measured against it.
///
/// This is Node's `highWaterMark`. [`Limit::bytes`] measures a chunk by its
/// length (for `Bytes`, `Vec<u8>`, `String`…), [`Limit::items`] counts every
/// chunk as 1 (object mode), and [`Limit::weighted`] lets a function decide.
///
/// The defaults follow current Node.js: [`Limit::default_bytes`] is 64 KiB and
/// [`Limit::default_items`] is 16 items (not part of the semver contract).
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use weir::Limit;
///
/// let bytes: Limit<Bytes> = Limit::bytes(16 * 1024);
/// assert_eq!(bytes.high_water_mark(), 16 * 1024);
/// assert_eq!(bytes.measure(&Bytes::from_static(b"hello")), 5);
///
/// let items: Limit<(u32, String)> = Limit::items(16);
/// assert_eq!(items.measure(&(1, "anything".into())), 1);
///
/// let by_len: Limit<Vec<String>> = Limit::weighted(100, |batch| batch.len());
/// assert_eq!(by_len.measure(&vec!["a".into(), "b".into()]), 2);
/// ```
pub struct Limit<T> {
    high: usize,
    unit: Unit,
    measure: fn(&T) -> usize,
}

impl<T> Clone for Limit<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Limit<T> {}

impl<T> fmt::Debug for Limit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limit")
            .field("high", &self.high)
            .field("unit", &self.unit)
            .finish()
    }
}

fn one<T>(_: &T) -> usize {
    1
}

fn byte_len<T: AsRef<[u8]>>(chunk: &T) -> usize {
    chunk.as_ref().len()
}

/// The default high-water mark of byte buffers: 64 KiB (Node.js ≥ 22).
pub const DEFAULT_BYTES: usize = 64 * 1024;
/// The default high-water mark of object buffers: 16 items (Node.js).
pub const DEFAULT_ITEMS: usize = 16;

impl<T> Limit<T> {
    /// Object mode: every chunk counts 1, and the buffer's high mark is `high`
    /// chunks. A `high` of 0 is raised to 1.
    pub fn items(high: usize) -> Self {
        Limit {
            high: high.max(1),
            unit: Unit::Items,
            measure: one::<T>,
        }
    }

    /// Object mode with Node's default mark of 16 items.
    pub fn default_items() -> Self {
        Limit::items(DEFAULT_ITEMS)
    }

    /// Every chunk counts what `measure` says (e.g. the number of records in a
    /// batch, or an estimate of a struct's heap size). A `high` of 0 is raised to 1.
    pub fn weighted(high: usize, measure: fn(&T) -> usize) -> Self {
        Limit {
            high: high.max(1),
            unit: Unit::Weighted,
            measure,
        }
    }

    /// The high-water mark, in [`unit`](Limit::unit)s.
    pub fn high_water_mark(&self) -> usize {
        self.high
    }

    /// The unit chunks are measured in.
    pub fn unit(&self) -> Unit {
        self.unit
    }

    /// How much `chunk` counts against the mark.
    #[inline]
    pub fn measure(&self, chunk: &T) -> usize {
        match self.unit {
            Unit::Items => 1,
            _ => (self.measure)(chunk),
        }
    }

    /// The same limit with another high mark (at least 1).
    #[must_use]
    pub fn with_high_water_mark(mut self, high: usize) -> Self {
        self.high = high.max(1);
        self
    }
}

fn auto_len<T: 'static>(chunk: &T) -> usize {
    let any = chunk as &dyn Any;
    if let Some(b) = any.downcast_ref::<bytes::Bytes>() {
        b.len()
    } else if let Some(b) = any.downcast_ref::<bytes::BytesMut>() {
        b.len()
    } else if let Some(v) = any.downcast_ref::<Vec<u8>>() {
        v.len()
    } else if let Some(s) = any.downcast_ref::<String>() {
        s.len()
    } else if let Some(b) = any.downcast_ref::<Box<[u8]>>() {
        b.len()
    } else {
        1
    }
}

/// Whether `T` is one of the byte-chunk types [`Limit::auto`] measures in bytes.
fn is_byte_chunk<T: 'static>() -> bool {
    let id = TypeId::of::<T>();
    id == TypeId::of::<bytes::Bytes>()
        || id == TypeId::of::<bytes::BytesMut>()
        || id == TypeId::of::<Vec<u8>>()
        || id == TypeId::of::<String>()
        || id == TypeId::of::<Box<[u8]>>()
}

impl<T: 'static> Limit<T> {
    /// The natural limit for `T` when the caller does not choose: byte mode
    /// with `bytes` as the mark for byte chunks (`Bytes`, `BytesMut`,
    /// `Vec<u8>`, `String`, `Box<[u8]>`), object mode with `items` for
    /// anything else. Generic code (a pipeline) uses it to pick Node's
    /// defaults without knowing the chunk type; the choice costs nothing at
    /// run time (it is decided per type at compile time).
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    /// use weir::{Limit, Unit};
    ///
    /// assert_eq!(Limit::<Bytes>::auto(65536, 16).unit(), Unit::Bytes);
    /// assert_eq!(Limit::<Bytes>::auto(65536, 16).measure(&Bytes::from_static(b"abc")), 3);
    /// assert_eq!(Limit::<(u32, f64)>::auto(65536, 16).unit(), Unit::Items);
    /// assert_eq!(Limit::<(u32, f64)>::auto(65536, 16).high_water_mark(), 16);
    /// ```
    pub fn auto(bytes: usize, items: usize) -> Self {
        if is_byte_chunk::<T>() {
            Limit {
                high: bytes.max(1),
                unit: Unit::Bytes,
                measure: auto_len::<T>,
            }
        } else {
            Limit::items(items)
        }
    }
}

impl<T: AsRef<[u8]>> Limit<T> {
    /// Byte mode: every chunk counts its length, and the buffer's high mark is
    /// `high` bytes. A `high` of 0 is raised to 1.
    pub fn bytes(high: usize) -> Self {
        Limit {
            high: high.max(1),
            unit: Unit::Bytes,
            measure: byte_len::<T>,
        }
    }

    /// Byte mode with the default mark of 64 KiB.
    pub fn default_bytes() -> Self {
        Limit::bytes(DEFAULT_BYTES)
    }
}

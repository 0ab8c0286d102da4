use std::fmt;
use std::marker::PhantomData;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::Encoder;
use weir_core::{BoxError, Error, Output, Transform};

use super::{codec_error, short_type_name};

/// Any `tokio-util` [`Encoder`] as a [`Transform`] from items to bytes.
///
/// Each item is encoded with [`Encoder::encode`] into a buffer and handed
/// on at once as one chunk (what `FramedWrite` would write for it), so a
/// live stream is never held back waiting for more items. `LinesCodec`
/// (`String` or `&str` items), `AnyDelimiterCodec`, `LengthDelimitedCodec`
/// and `BytesCodec` (`Bytes` items) and your own encoders all fit; `I` is
/// the item type, as in `Encoder<I>`.
///
/// # Errors
/// The stream ends with the first error of the encoder, named after the
/// stage ([`name`](CodecEncoder::name), default: the codec's type name),
/// its message naming the byte offset in the output where the item would
/// have started. An item over the codec's maximum (a payload longer than
/// `LengthDelimitedCodec`'s `max_frame_length`): an error for which
/// `Error::is_limit` is true. A weir [`Error`] returned by the encoder is
/// kept as it is; other errors are as for
/// [`CodecDecoder`](crate::CodecDecoder).
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use tokio_util::codec::LengthDelimitedCodec;
/// use weir::codecs::CodecEncoder;
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let items = readable::from_iter([&b"hi"[..], &b"there"[..]].map(Bytes::from_static));
/// let framed = CodecEncoder::new(LengthDelimitedCodec::new());
/// let wire: Vec<Bytes> = items.through(framed).try_collect().await?;
/// assert_eq!(wire.concat(), b"\0\0\0\x02hi\0\0\0\x05there");
/// # Ok(()) }
/// ```
pub struct CodecEncoder<E, I> {
    codec: E,
    buf: BytesMut,
    /// Bytes emitted so far.
    offset: u64,
    name: Option<Box<str>>,
    _items: PhantomData<fn(I)>,
}

impl<E: Encoder<I>, I> CodecEncoder<E, I> {
    /// Encodes items with `codec`.
    pub fn new(codec: E) -> Self {
        CodecEncoder {
            codec,
            buf: BytesMut::new(),
            offset: 0,
            name: None,
            _items: PhantomData,
        }
    }

    /// Names the stage for errors and reports (default: the codec's type
    /// name, such as `LinesCodec`).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// The codec.
    pub fn get_ref(&self) -> &E {
        &self.codec
    }

    /// The codec, mutably (to change its settings between items).
    pub fn get_mut(&mut self) -> &mut E {
        &mut self.codec
    }

    /// The codec.
    pub fn into_inner(self) -> E {
        self.codec
    }
}

impl<E, I> Transform for CodecEncoder<E, I>
where
    E: Encoder<I>,
    E::Error: Into<BoxError>,
{
    type In = I;
    type Out = Bytes;

    fn transform(&mut self, item: I, out: &mut Output<Bytes>) -> Result<(), Error> {
        if let Err(e) = self.codec.encode(item, &mut self.buf) {
            // What a failed call may have written is not a whole item.
            self.buf.clear();
            return Err(codec_error(e, "item", self.offset));
        }
        if !self.buf.is_empty() {
            let chunk = self.buf.split().freeze();
            self.offset += chunk.len() as u64;
            out.push(chunk);
        }
        Ok(())
    }

    fn name(&self) -> &str {
        match &self.name {
            Some(n) => n,
            None => short_type_name::<E>(),
        }
    }
}

impl<E: fmt::Debug, I> fmt::Debug for CodecEncoder<E, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecEncoder")
            .field("codec", &self.codec)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

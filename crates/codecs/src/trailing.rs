/// What a decoder does with bytes after the end of the compressed stream.
///
/// For gzip, "the end" is the end of the last member: bytes that start
/// another gzip header (`1f 8b`) are decoded as the next member (unless
/// multi-member decoding is turned off), and zero bytes are padding that is
/// always ignored, as `gunzip` does. Anything else is trailing garbage.
///
/// # Examples
/// ```
/// use weir::codecs::{GzipDecoder, Trailing};
///
/// // Decode like `gunzip`, which warns about trailing garbage but succeeds.
/// let dec = GzipDecoder::builder().trailing(Trailing::Ignore).build();
/// # let _ = dec;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Trailing {
    /// Trailing garbage is an error (naming its byte offset). The default.
    #[default]
    Error,
    /// Trailing bytes are consumed and ignored.
    Ignore,
}

/// What [`Utf8Decoder`](crate::Utf8Decoder) does with bytes that are not
/// valid UTF-8.
///
/// # Examples
/// ```
/// use weir::codecs::{Invalid, Utf8Decoder};
///
/// let lenient = Utf8Decoder::with_invalid(Invalid::Replace);
/// # let _ = lenient;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Invalid {
    /// End the stream with an error naming the byte offset. The default.
    #[default]
    Error,
    /// Replace each maximal invalid sequence with U+FFFD, as
    /// `String::from_utf8_lossy`, Node's `setEncoding('utf8')` and the
    /// WHATWG `TextDecoder` do.
    Replace,
}

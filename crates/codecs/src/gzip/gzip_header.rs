/// The header of a gzip member (RFC 1952): the original file name, a
/// comment, the modification time and so on.
///
/// A [`GzipDecoder`](crate::GzipDecoder) reports the first member's header
/// once it has read it; a [`GzipEncoder`](crate::GzipEncoder) writes the one
/// its builder was given. Names and comments are bytes (ISO 8859-1 by the
/// RFC, often UTF-8 in practice); a decoder keeps at most their first
/// 4096 bytes.
///
/// # Examples
/// ```
/// use weir::codecs::GzipEncoder;
///
/// // What `gzip -N` records: the name and the modification time.
/// let enc = GzipEncoder::builder().file_name("access.log").mtime(1_700_000_000).build();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GzipHeader {
    pub(crate) name: Option<Vec<u8>>,
    pub(crate) comment: Option<Vec<u8>>,
    pub(crate) extra: Option<Vec<u8>>,
    pub(crate) mtime: u32,
    pub(crate) os: Option<u8>,
    pub(crate) text: bool,
}

impl GzipHeader {
    /// The original file name (FNAME), if recorded.
    pub fn name(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }

    /// The comment (FCOMMENT), if any.
    pub fn comment(&self) -> Option<&[u8]> {
        self.comment.as_deref()
    }

    /// The extra field (FEXTRA), if any.
    pub fn extra(&self) -> Option<&[u8]> {
        self.extra.as_deref()
    }

    /// The modification time in seconds since the Unix epoch; 0 if not
    /// recorded.
    pub fn mtime(&self) -> u32 {
        self.mtime
    }

    /// The operating system byte (3 = Unix, 255 = unknown), when read from
    /// a stream.
    pub fn os(&self) -> Option<u8> {
        self.os
    }

    /// Whether the FTEXT flag was set.
    pub fn is_text(&self) -> bool {
        self.text
    }
}

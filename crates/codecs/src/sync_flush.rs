/// When an encoder sync-flushes: emits everything it has taken so far,
/// byte-aligned, so that a decoder on the other end can decode all of it
/// without waiting for more (zlib's `Z_SYNC_FLUSH`, the end of a zstd block,
/// a brotli flush).
///
/// Each flush costs a few bytes and some compression ratio, so a file
/// compressor flushes never; a live stream (a log tail, server-sent events,
/// an HTTP response written piece by piece) flushes per chunk or per so many
/// bytes. An encoder built with `flush_on_empty(true)` also flushes on an
/// **empty input chunk** (when it has taken anything since its last flush),
/// which [`flush_when_idle`](crate::flush_when_idle) sends whenever its
/// upstream has nothing ready. The end of input always finishes the stream
/// with its complete trailer.
///
/// # Examples
/// ```
/// use weir::codecs::{GzipEncoder, SyncFlush};
///
/// let enc = GzipEncoder::builder().level(6).sync_flush(SyncFlush::EveryChunk).build();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncFlush {
    /// Only at the end of the stream (and on an empty chunk, with
    /// `flush_on_empty(true)`).
    #[default]
    Never,
    /// After every input chunk.
    EveryChunk,
    /// After the input chunk that brings the bytes taken since the last
    /// flush to at least this many (and on an empty chunk).
    EveryBytes(u64),
}

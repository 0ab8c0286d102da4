use bytes::Bytes;
use weir_core::{Error, Output, Transform};

use super::Invalid;

const REPLACEMENT: char = '\u{FFFD}';

/// Decodes a byte stream as UTF-8 into `String` chunks, never splitting a
/// character between chunks (Node's `readable.setEncoding('utf8')`).
///
/// A [`Transform`] from `Bytes` to `String`. The up to 3 bytes of a
/// character cut by a chunk boundary are held until the next chunk
/// completes it. Invalid sequences are an error (the default) or replaced
/// with U+FFFD ([`Invalid::Replace`]); the result is the same whatever the
/// chunk boundaries. A character left incomplete at the end of input is
/// invalid. A leading byte-order mark is kept (it is a valid character).
///
/// # Errors
/// With [`Invalid::Error`], invalid UTF-8: an error for which
/// `Error::is_corrupt` is true, naming the byte offset.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{Invalid, Utf8Decoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// // "né" with the two bytes of 'é' in different chunks.
/// let src = readable::from_iter([&b"n\xc3"[..], &b"\xa9"[..]].map(Bytes::from_static));
/// let text: Vec<String> = src.through(Utf8Decoder::new()).try_collect().await?;
/// assert_eq!(text, ["n", "é"]);
///
/// let src = readable::from_iter([Bytes::from_static(b"a\xffb")]);
/// let text: Vec<String> = src.through(Utf8Decoder::with_invalid(Invalid::Replace)).try_collect().await?;
/// assert_eq!(text.concat(), "a\u{FFFD}b");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Utf8Decoder {
    partial: [u8; 4],
    plen: usize,
    invalid: Invalid,
    /// Stream offset of the next byte not yet decoded (the partial
    /// character's first byte while one is held).
    offset: u64,
}

impl Utf8Decoder {
    /// A decoder for which invalid UTF-8 is an error.
    pub fn new() -> Self {
        Utf8Decoder::with_invalid(Invalid::Error)
    }

    /// A decoder that treats invalid UTF-8 as `invalid` says.
    pub fn with_invalid(invalid: Invalid) -> Self {
        Utf8Decoder {
            partial: [0; 4],
            plen: 0,
            invalid,
            offset: 0,
        }
    }

    /// An invalid sequence of `len` bytes at stream offset `at`.
    fn bad(&self, at: u64, len: usize, s: &mut String) -> Result<(), Error> {
        match self.invalid {
            Invalid::Replace => {
                s.push(REPLACEMENT);
                Ok(())
            }
            Invalid::Error => Err(Error::corrupt(format!(
                "utf8: invalid UTF-8 sequence of {len} byte(s) at byte offset {at}"
            ))),
        }
    }

    /// Completes the held partial character with the start of `data`;
    /// returns how many bytes of `data` were used, or `None` when `data`
    /// ran out first (all of it then joined the partial character).
    fn complete(&mut self, data: &[u8], s: &mut String) -> Result<Option<usize>, Error> {
        let take = data.len().min(4 - self.plen);
        let mut joined = [0u8; 8];
        joined[..self.plen].copy_from_slice(&self.partial[..self.plen]);
        joined[self.plen..self.plen + take].copy_from_slice(&data[..take]);
        let joined = &joined[..self.plen + take];
        let plen = self.plen;
        let used_total = match std::str::from_utf8(joined) {
            Ok(text) => first_char_len(text),
            Err(e) if e.valid_up_to() > 0 => {
                let valid = std::str::from_utf8(&joined[..e.valid_up_to()]).unwrap_or_default();
                first_char_len(valid)
            }
            Err(e) => match e.error_len() {
                None => {
                    // Still a prefix of a character: keep all of it.
                    self.partial[plen..plen + take].copy_from_slice(&data[..take]);
                    self.plen += take;
                    return Ok(None);
                }
                Some(n) => {
                    self.bad(self.offset, n, s)?;
                    self.plen = 0;
                    self.offset += n as u64;
                    return Ok(Some(n.saturating_sub(plen)));
                }
            },
        };
        if let Ok(text) = std::str::from_utf8(&joined[..used_total]) {
            s.push_str(text);
        }
        self.plen = 0;
        self.offset += used_total as u64;
        Ok(Some(used_total.saturating_sub(plen)))
    }
}

/// The byte length of the first character of `text` (0 if empty).
fn first_char_len(text: &str) -> usize {
    text.chars().next().map_or(0, char::len_utf8)
}

impl Default for Utf8Decoder {
    fn default() -> Self {
        Utf8Decoder::new()
    }
}

impl Transform for Utf8Decoder {
    type In = Bytes;
    type Out = String;

    fn transform(&mut self, chunk: Bytes, out: &mut Output<String>) -> Result<(), Error> {
        let mut s = String::with_capacity(chunk.len() + 4);
        let mut data: &[u8] = &chunk;
        if self.plen > 0 {
            match self.complete(data, &mut s)? {
                None => data = &[],
                Some(used) => data = &data[used.min(data.len())..],
            }
        }
        while !data.is_empty() {
            match std::str::from_utf8(data) {
                Ok(text) => {
                    s.push_str(text);
                    self.offset += data.len() as u64;
                    break;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    if let Ok(text) = std::str::from_utf8(&data[..valid]) {
                        s.push_str(text);
                    }
                    self.offset += valid as u64;
                    match e.error_len() {
                        Some(n) => {
                            self.bad(self.offset, n, &mut s)?;
                            self.offset += n as u64;
                            data = &data[valid + n..];
                        }
                        None => {
                            // An incomplete character at the end: hold it.
                            let tail = &data[valid..];
                            self.partial[..tail.len()].copy_from_slice(tail);
                            self.plen = tail.len();
                            break;
                        }
                    }
                }
            }
        }
        if !s.is_empty() {
            out.push(s);
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Output<String>) -> Result<(), Error> {
        if self.plen > 0 {
            let mut s = String::new();
            self.bad(self.offset, self.plen, &mut s)?;
            self.plen = 0;
            out.push(s);
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "utf8"
    }
}

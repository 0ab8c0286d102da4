use std::fmt;

use http::HeaderMap;
use http::header::{ACCEPT_ENCODING, HeaderValue};

/// A content coding a response can be sent in (RFC 9110 §8.4.1), for
/// [`negotiate_encoding`].
///
/// # Examples
/// ```
/// use weir_io::http::ContentCoding;
///
/// assert_eq!(ContentCoding::Brotli.as_str(), "br");
/// assert_eq!(ContentCoding::from_token("X-GZIP"), Some(ContentCoding::Gzip));
/// assert_eq!(ContentCoding::Identity.header_value(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentCoding {
    /// No coding: the representation as it is (no `Content-Encoding`).
    Identity,
    /// `gzip` (also spelled `x-gzip`).
    Gzip,
    /// `deflate`: zlib-wrapped DEFLATE (RFC 1950), as HTTP means it.
    Deflate,
    /// `br`: Brotli.
    Brotli,
    /// `zstd`: Zstandard.
    Zstd,
}

impl ContentCoding {
    /// The coding's token, as in `Accept-Encoding` and `Content-Encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentCoding::Identity => "identity",
            ContentCoding::Gzip => "gzip",
            ContentCoding::Deflate => "deflate",
            ContentCoding::Brotli => "br",
            ContentCoding::Zstd => "zstd",
        }
    }

    /// The coding a token names (case-insensitive; `x-gzip` is gzip, as RFC
    /// 9110 §8.4.1.3 asks), or `None` for any other token (including `*`).
    pub fn from_token(token: &str) -> Option<ContentCoding> {
        const ALL: [ContentCoding; 5] = [
            ContentCoding::Identity,
            ContentCoding::Gzip,
            ContentCoding::Deflate,
            ContentCoding::Brotli,
            ContentCoding::Zstd,
        ];
        if token.eq_ignore_ascii_case("x-gzip") {
            return Some(ContentCoding::Gzip);
        }
        ALL.into_iter()
            .find(|c| token.eq_ignore_ascii_case(c.as_str()))
    }

    /// The `Content-Encoding` value for a response in this coding: `None`
    /// for identity, which is sent without the header.
    pub fn header_value(self) -> Option<HeaderValue> {
        match self {
            ContentCoding::Identity => None,
            other => Some(HeaderValue::from_static(other.as_str())),
        }
    }
}

impl fmt::Display for ContentCoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Picks the content coding to answer a request in: the one of `offered`
/// (the codings the server can send, in its order of preference) that the
/// request's `Accept-Encoding` weighs highest, or `None` if the client
/// accepts none of them (it then refused identity too, and the server may
/// answer `406 Not Acceptable`, or send identity anyway).
///
/// The rules are RFC 9110 §12.5.3's:
/// - Each entry of `Accept-Encoding` (all its header lines together) is a
///   coding, `identity` or `*`, with an optional weight `;q=` from 0 to 1
///   (at most three decimals). Names are case-insensitive. An entry whose
///   weight is malformed (`q=2`, `q=0.5x`, `q=0.1234`) is ignored; a
///   coding named twice keeps its first weight.
/// - A coding is weighed by its own entry, else by `*`'s; a weight of 0
///   means "not acceptable". A coding named by neither is not acceptable,
///   except identity, which is acceptable unless `identity;q=0`, or
///   `*;q=0` without an `identity` entry, excludes it. Left implicit,
///   identity weighs less than any coding the client named (so
///   `gzip;q=0.1` still picks gzip).
/// - The highest weight wins; among equal weights a coding named by the
///   client beats one matched by `*`, and then `offered`'s order decides.
/// - An empty `Accept-Encoding` means "no coding": identity only.
/// - Without `Accept-Encoding`, any coding is acceptable by the RFC, but
///   this returns identity if offered (else `offered`'s first): clients
///   that can decode a coding say so, and one that sends no header (`curl`
///   without `--compressed`, a script) often cannot.
///
/// # Examples
/// ```
/// use http::HeaderMap;
/// use weir_io::http::{ContentCoding::*, negotiate_encoding};
///
/// let mut headers = HeaderMap::new();
/// let offered = [Zstd, Brotli, Gzip, Identity];
/// headers.insert("accept-encoding", "gzip, deflate, br;q=0.9".parse().unwrap());
/// assert_eq!(negotiate_encoding(&headers, &offered), Some(Gzip));
/// headers.insert("accept-encoding", "gzip;q=0, *".parse().unwrap());
/// assert_eq!(negotiate_encoding(&headers, &offered), Some(Zstd));
/// headers.insert("accept-encoding", "br;q=0, identity;q=0".parse().unwrap());
/// assert_eq!(negotiate_encoding(&headers, &[Brotli, Identity]), None);
/// ```
pub fn negotiate_encoding(headers: &HeaderMap, offered: &[ContentCoding]) -> Option<ContentCoding> {
    if !headers.contains_key(ACCEPT_ENCODING) {
        return offered
            .iter()
            .copied()
            .find(|c| *c == ContentCoding::Identity)
            .or_else(|| offered.first().copied());
    }
    let accept = Accepted::parse(headers);
    let mut best: Option<(Weight, ContentCoding)> = None;
    for &coding in offered {
        let Some(weight) = accept.weight(coding) else {
            continue;
        };
        // Strictly better only: among equals, `offered`'s order decides.
        if best.is_none_or(|(b, _)| weight > b) {
            best = Some((weight, coding));
        }
    }
    best.map(|(_, c)| c)
}

/// How much a client wants a coding: its quality in thousandths, then how
/// the quality was found (compared in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Weight {
    quality: u16,
    source: Source,
}

/// Where a coding's weight came from, least specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    /// Identity, acceptable without being named.
    Implicit,
    /// The `*` entry.
    Wildcard,
    /// The coding's own entry.
    Named,
}

/// The weights an `Accept-Encoding` gives, in thousandths.
#[derive(Debug, Default)]
struct Accepted {
    named: Vec<(ContentCoding, u16)>,
    star: Option<u16>,
}

impl Accepted {
    fn parse(headers: &HeaderMap) -> Self {
        let mut out = Accepted::default();
        let entries = headers
            .get_all(ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','));
        for entry in entries {
            let mut parts = entry.split(';');
            let token = parts.next().unwrap_or("").trim();
            if token.is_empty() {
                continue;
            }
            let mut quality = Some(1000);
            for param in parts {
                let Some((name, value)) = param.split_once('=') else {
                    continue;
                };
                if name.trim().eq_ignore_ascii_case("q") {
                    quality = parse_qvalue(value.trim());
                }
            }
            let Some(quality) = quality else {
                continue;
            };
            if token == "*" {
                out.star.get_or_insert(quality);
            } else if let Some(coding) = ContentCoding::from_token(token)
                && !out.named.iter().any(|(c, _)| *c == coding)
            {
                out.named.push((coding, quality));
            }
        }
        out
    }

    /// How much the client wants `coding`; `None` if not at all.
    fn weight(&self, coding: ContentCoding) -> Option<Weight> {
        let named = self.named.iter().find(|(c, _)| *c == coding);
        let weight = match (named, self.star) {
            (Some(&(_, quality)), _) => Weight {
                quality,
                source: Source::Named,
            },
            (None, Some(quality)) => Weight {
                quality,
                source: Source::Wildcard,
            },
            (None, None) if coding == ContentCoding::Identity => Weight {
                quality: 1,
                source: Source::Implicit,
            },
            (None, None) => return None,
        };
        (weight.quality > 0).then_some(weight)
    }
}

/// A `qvalue` (RFC 9110 §12.4.2: `0`, `0.` to `0.999`, `1`, `1.` to
/// `1.000`) in thousandths, or `None` if malformed.
fn parse_qvalue(s: &str) -> Option<u16> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

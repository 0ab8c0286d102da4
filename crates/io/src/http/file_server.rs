use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use super::beneath::{Kind, Root};
use super::file_server_builder::{EncoderFactory, FileServerBuilder};
use super::pooled_encode::{CompressPermits, PooledEncode};
use super::resolve::{io_status, segments};
use super::{ContentCoding, FileServerStats, ResponseBody, negotiate_encoding};
use crate::BlockingSource;
use crate::gauge::{HolderGuard, MemoryGauge};
use crate::trace::io_error;

/// Files smaller than this are never compressed: the gzip framing would
/// outweigh the gain.
const MIN_COMPRESS: u64 = 256;

pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    /// A handle on `root`: every lookup starts from it.
    pub(crate) handle: Root,
    pub(crate) chunk_size: usize,
    pub(crate) block_size: usize,
    pub(crate) min_block_size: usize,
    pub(crate) gzip: Option<EncoderFactory>,
    /// What compressions wait for: at most this many run at once.
    pub(crate) compress_permits: CompressPermits,
    pub(crate) listing: bool,
    /// The file blocks of every response, and the responses open.
    pub(crate) gauge: MemoryGauge,
}

/// A static file server over one folder: what `weir serve` runs, and a
/// handler for an [`HttpServer`](super::HttpServer) (nginx's `root`, Node's
/// `pipeline(fs.createReadStream(path), res)` with the HTTP details done).
///
/// - Files are streamed, never read whole: a file is read in blocks on
///   Tokio's blocking pool, as fast as the client takes it (see
///   [`ResponseBody`]). At most the file's length at the time of the
///   request is sent, so `Content-Length` always holds.
/// - `GET` and `HEAD`; other methods get 405.
/// - `Content-Type` from the extension of the name requested,
///   `Content-Length`, `Last-Modified`, `Accept-Ranges: bytes`; 304 for
///   `If-None-Match: *` (also on a folder's listing), or, without
///   `If-None-Match`, for an `If-Modified-Since` the file is not newer
///   than.
/// - A single `Range` on an identity response gets 206 with
///   `Content-Range` (honouring `If-Range`); an unsatisfiable one 416;
///   several ranges, or a malformed header, the whole file (as RFC 9110
///   allows).
/// - gzip (when configured) for compressible types when the client's
///   `Accept-Encoding` prefers it to identity ([`negotiate_encoding`]:
///   weights, `*`, `identity;q=0`), streamed with `Transfer-Encoding: chunked`,
///   with `Vary: Accept-Encoding`.
/// - A folder: its `index.html`, else a listing of its entries (or 403);
///   `/dir` without the slash is redirected (301) to `/dir/` (`//dir` to
///   `/dir/`: never to a path a browser would read as a host name).
/// - Refused: any path with `..` (also percent-encoded), a path that
///   leaves the root through a symlink (403), anything that is neither a
///   file nor a folder (403). A name too long for the file system is 404.
///   An error the client cannot be told about (500) is logged at ERROR
///   with its cause (with the `tracing` feature).
///
/// # Symlinks
/// Symlinks are followed as long as they stay under the root: relative
/// ones, and absolute ones naming a place under the root's canonical path
/// (an absolute link spelled through another path to the same place is
/// refused). Links leading outside are refused, and listings leave them
/// out. On Unix every lookup starts from a handle on the root opened once,
/// resolving the path and opening the file in one step (Linux's `openat2`
/// with `RESOLVE_BENEATH`, or name by name with `O_NOFOLLOW`, following
/// links by hand, where it is missing), and every check (kind, size, date)
/// is made on the opened file: a symlink swapped in during a request is
/// never followed out of the root. (Elsewhere the lookup is by path,
/// checked against the canonical root, and such a race is not caught.)
///
/// # Examples
/// ```
/// use http::{Request, StatusCode};
/// use weir_io::http::FileServer;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.txt"), "hello")?;
/// let files = FileServer::new(dir.path()).await?;
/// let ok = files.handle(&Request::get("/a.txt").body(())?).await;
/// assert_eq!(ok.status(), StatusCode::OK);
/// assert_eq!(ok.headers()["content-length"], "5");
/// let out = files.handle(&Request::get("/../etc/passwd").body(())?).await;
/// assert_eq!(out.status(), StatusCode::FORBIDDEN);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FileServer {
    inner: Arc<Inner>,
}

impl fmt::Debug for FileServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileServer")
            .field("root", &self.inner.root)
            .field("gzip", &self.inner.gzip.is_some())
            .finish()
    }
}

impl FileServer {
    /// Options for a server over `root`.
    pub fn builder(root: impl AsRef<Path>) -> FileServerBuilder {
        FileServerBuilder::new(root.as_ref())
    }

    /// A server over `root` with the default options.
    ///
    /// # Cancel safety
    /// Cancel safe, as [`FileServerBuilder::build`].
    ///
    /// # Errors
    /// If `root` does not exist or is not a folder.
    pub async fn new(root: impl AsRef<Path>) -> Result<FileServer, weir_core::Error> {
        FileServer::builder(root).build().await
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        FileServer {
            inner: Arc::new(inner),
        }
    }

    /// The canonical root folder.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// What the responses being sent hold in memory now: their file blocks
    /// (read, read ahead, or queued in hyper's write buffer) and how many
    /// there are.
    pub fn stats(&self) -> FileServerStats {
        let g = &self.inner.gauge;
        FileServerStats {
            bodies: g.holders(),
            buffered: g.held(),
            peak_buffered: g.peak(),
        }
    }

    /// Answers one request. Its body, if any, is not read.
    ///
    /// # Cancel safety
    /// Cancel safe: the server keeps no state per request. A future dropped
    /// before it completes sends nothing; a file it had opened is closed
    /// (by the blocking-pool task that opened it, if that was still
    /// running).
    pub async fn handle<B>(&self, req: &Request<B>) -> Response<ResponseBody> {
        match self.answer(req).await {
            Ok(r) => r,
            Err(status) => status_page(status),
        }
    }

    async fn answer<B>(&self, req: &Request<B>) -> Result<Response<ResponseBody>, StatusCode> {
        let head = match *req.method() {
            Method::GET => false,
            Method::HEAD => true,
            _ => {
                let mut r = status_page(StatusCode::METHOD_NOT_ALLOWED);
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                return Ok(r);
            }
        };
        let names = segments(req.uri().path())?;
        let (file, meta) = self
            .blocking(req, {
                let names = names.clone();
                move |inner| {
                    let file = inner.handle.open(&as_strs(&names))?;
                    let meta = file.metadata()?;
                    Ok((file, meta))
                }
            })
            .await?;
        if meta.is_dir() {
            return self.folder(req, names, file, head).await;
        }
        if !meta.is_file() {
            return Err(StatusCode::FORBIDDEN);
        }
        let name = names.last().map_or("", String::as_str);
        self.file(req, file, &meta, name, head)
    }

    /// Runs `f` on the blocking pool (file system calls block), mapping an
    /// I/O error to its status.
    async fn blocking<B, T, F>(&self, req: &Request<B>, f: F) -> Result<T, StatusCode>
    where
        F: FnOnce(&Inner) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let inner = self.inner.clone();
        match tokio::task::spawn_blocking(move || f(&inner)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(io_status(&e, req.uri().path())),
            Err(e) => {
                io_error!(path = %req.uri().path(), error = %e, "file server: a blocking task failed");
                let _ = e;
                Err(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    /// A folder (`dir`, named by `names`): a redirect to the name with a
    /// slash, its `index.html`, or a listing.
    async fn folder<B>(
        &self,
        req: &Request<B>,
        names: Vec<String>,
        dir: File,
        head: bool,
    ) -> Result<Response<ResponseBody>, StatusCode> {
        if !req.uri().path().ends_with('/') {
            return Ok(redirect_to_folder(req));
        }
        let index = self
            .blocking(req, {
                let mut names = names.clone();
                names.push(INDEX.to_owned());
                move |inner| {
                    // Any failure (missing, refused, leading outside): no index.
                    let Ok(file) = inner.handle.open(&as_strs(&names)) else {
                        return Ok(None);
                    };
                    let meta = file.metadata()?;
                    Ok(meta.is_file().then_some((file, meta)))
                }
            })
            .await?;
        if let Some((file, meta)) = index {
            return self.file(req, file, &meta, INDEX, head);
        }
        if !self.inner.listing {
            return Err(StatusCode::FORBIDDEN);
        }
        if none_match(req.headers()) == Some(true) {
            return Ok(status_only(StatusCode::NOT_MODIFIED));
        }
        let names = self
            .blocking(req, move |inner| list(inner, &names, &dir))
            .await?;
        Ok(listing_page(req.uri().path(), &names, head))
    }

    /// Answers with the opened `file` (whose metadata is `meta`), requested
    /// as `name`.
    fn file<B>(
        &self,
        req: &Request<B>,
        file: File,
        meta: &Metadata,
        name: &str,
        head: bool,
    ) -> Result<Response<ResponseBody>, StatusCode> {
        let len = meta.len();
        let mime = mime_guess::from_path(name).first_or_octet_stream();
        let modified = meta.modified().ok().map(whole_seconds);
        let last_modified = modified.map(httpdate::fmt_http_date);
        let mut headers = file_headers(&mime, last_modified.as_deref());

        if is_not_modified(req.headers(), modified) {
            let mut r = status_only(StatusCode::NOT_MODIFIED);
            headers.remove(header::CONTENT_TYPE);
            *r.headers_mut() = headers;
            return Ok(r);
        }

        // A single range, on the identity representation.
        match wanted_range(req.headers(), len, last_modified.as_deref()) {
            Some(Ok((start, end))) => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                    headers.insert(header::CONTENT_RANGE, v);
                }
                let part = Part {
                    status: StatusCode::PARTIAL_CONTENT,
                    start,
                    len: end - start + 1,
                };
                return self.respond(req, file, headers, part, head);
            }
            Some(Err(unsatisfiable)) => return Ok(unsatisfiable),
            None => {}
        }

        if let Some(make) = &self.inner.gzip
            && is_compressible(mime.essence_str())
        {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            if len >= MIN_COMPRESS && wants_gzip(req.headers()) {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                let mut r = Response::new(ResponseBody::empty());
                if !head {
                    // A slice read and compressed per job, on the
                    // blocking pool (see `PooledEncode`).
                    let encoded =
                        PooledEncode::new(file.take(len), make(), &self.inner.compress_permits);
                    *r.body_mut() = ResponseBody::from_readable(self.held(encoded));
                }
                *r.headers_mut() = headers;
                return Ok(r);
            }
        }
        let whole = Part {
            status: StatusCode::OK,
            start: 0,
            len,
        };
        self.respond(req, file, headers, whole, head)
    }

    /// A response of `part` of `file`.
    fn respond<B>(
        &self,
        req: &Request<B>,
        file: File,
        mut headers: HeaderMap,
        part: Part,
        head: bool,
    ) -> Result<Response<ResponseBody>, StatusCode> {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(part.len));
        let body = if head || part.len == 0 {
            ResponseBody::empty()
        } else {
            let source = self.source(req, file, part.start, part.len)?;
            ResponseBody::from_readable(self.held(source)).with_len(part.len)
        };
        let mut r = Response::new(body);
        *r.status_mut() = part.status;
        *r.headers_mut() = headers;
        Ok(r)
    }

    /// A source of `len` bytes of `file` from `start`, read on the
    /// blocking pool.
    fn source<B>(
        &self,
        req: &Request<B>,
        mut file: File,
        start: u64,
        len: u64,
    ) -> Result<BlockingSource<io::Take<File>>, StatusCode> {
        // Only the file offset moves: no I/O to wait for.
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .map_err(|e| io_status(&e, req.uri().path()))?;
        }
        Ok(BlockingSource::builder()
            .chunk_size(self.inner.chunk_size)
            .block_size(self.inner.block_size)
            .adaptive(self.inner.min_block_size)
            .fill(true)
            .name("file")
            .gauge(self.inner.gauge.clone())
            .build(file.take(len)))
    }

    /// `body`, counted as an open response until it is dropped.
    fn held<S>(&self, body: S) -> Held<S> {
        Held {
            body,
            _guard: self.inner.gauge.holder(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body counted on the server's gauge while it lives.
    struct Held<S> {
        #[pin]
        body: S,
        _guard: HolderGuard,
    }
}

impl<S: futures_core::Stream> futures_core::Stream for Held<S> {
    type Item = S::Item;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        self.project().body.poll_next(cx)
    }
}

/// What a response sends of a file: `len` bytes from `start`, with
/// `status`.
struct Part {
    status: StatusCode,
    start: u64,
    len: u64,
}

/// The headers of a file's response of type `mime`, modified at
/// `last_modified`.
fn file_headers(mime: &mime_guess::Mime, last_modified: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let content_type =
        if mime.type_() == mime_guess::mime::TEXT && mime.get_param("charset").is_none() {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_string()
        };
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Some(lm) = last_modified
        && let Ok(v) = HeaderValue::from_str(lm)
    {
        headers.insert(header::LAST_MODIFIED, v);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers
}

/// The one range of a `len`-byte file to send (first and last byte), the
/// 416 answer to an unsatisfiable one, or `None` for the whole file: no
/// `Range`, an `If-Range` that does not hold, several ranges or a header
/// that may be ignored (RFC 9110 allows it).
fn wanted_range(
    headers: &HeaderMap,
    len: u64,
    last_modified: Option<&str>,
) -> Option<Result<(u64, u64), Response<ResponseBody>>> {
    let range = header_str(headers, header::RANGE)?;
    if !if_range_holds(headers, last_modified) {
        return None;
    }
    match http_range_header::parse_range_header(range).map(|p| p.validate(len)) {
        Ok(Ok(ranges)) if ranges.len() == 1 => Some(Ok((*ranges[0].start(), *ranges[0].end()))),
        Ok(Err(http_range_header::RangeUnsatisfiableError::Unsatisfiable)) => {
            let mut r = status_page(StatusCode::RANGE_NOT_SATISFIABLE);
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            Some(Err(r))
        }
        _ => None,
    }
}

/// The name of a folder's index file.
const INDEX: &str = "index.html";

fn as_strs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// The entries of the folder `dir` (named by `names`) to list, folders
/// with a trailing `/`, sorted. A symlink is looked up from the root like
/// any request, and left out if it leads outside (or nowhere).
fn list(inner: &Inner, names: &[String], dir: &File) -> io::Result<Vec<String>> {
    let names = as_strs(names);
    let mut out = Vec::new();
    for (name, kind) in inner.handle.entries(&names, dir)? {
        let is_dir = match kind {
            Kind::Dir => true,
            Kind::Other => false,
            Kind::Link => {
                let mut path = names.clone();
                path.push(&name);
                match inner.handle.open(&path).and_then(|f| f.metadata()) {
                    Ok(meta) => meta.is_dir(),
                    Err(_) => continue,
                }
            }
        };
        out.push(if is_dir { format!("{name}/") } else { name });
    }
    out.sort();
    Ok(out)
}

/// An HTML page listing `names`, the entries of the folder at `raw_path`.
fn listing_page(raw_path: &str, names: &[String], head: bool) -> Response<ResponseBody> {
    let title = escape_html(raw_path);
    let mut page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body><h1>{title}</h1>\n<ul>\n"
    );
    for name in names {
        let href = percent_encoding::utf8_percent_encode(name, HREF).to_string();
        page.push_str(&format!(
            "<li><a href=\"{href}\">{}</a></li>\n",
            escape_html(name)
        ));
    }
    page.push_str("</ul></body></html>\n");
    let len = page.len() as u64;
    let mut r = Response::new(if head {
        ResponseBody::empty()
    } else {
        ResponseBody::full(page)
    });
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

/// 301 to the request's path with a slash added (and its query kept).
fn redirect_to_folder<B>(req: &Request<B>) -> Response<ResponseBody> {
    // One leading slash only: `//sub/` would be read as the host `sub`.
    let mut location = format!("/{}/", req.uri().path().trim_start_matches('/'));
    if let Some(q) = req.uri().query() {
        location.push('?');
        location.push_str(q);
    }
    let mut r = status_page(StatusCode::MOVED_PERMANENTLY);
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Characters escaped in a listing's links: controls, space and the
/// characters with a meaning in a URL or in HTML.
const HREF: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'\'')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'&');

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A response with `status` and no body.
fn status_only(status: StatusCode) -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::empty());
    *r.status_mut() = status;
    r
}

/// A short plain-text page for an error or redirect status.
fn status_page(status: StatusCode) -> Response<ResponseBody> {
    let text = format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let len = text.len() as u64;
    let mut r = Response::new(ResponseBody::full(text));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether the client's copy is current, so that a GET or HEAD gets 304
/// (RFC 9110 §13.1.2, §13.2.2). `If-None-Match` comes first (see
/// [`none_match`]); only without it, the file must not be newer than
/// `If-Modified-Since`.
fn is_not_modified(headers: &HeaderMap, modified: Option<SystemTime>) -> bool {
    if let Some(star) = none_match(headers) {
        return star;
    }
    matches!(
        (modified, header_str(headers, header::IF_MODIFIED_SINCE)),
        (Some(m), Some(since)) if httpdate::parse_http_date(since).is_ok_and(|since| m <= since)
    )
}

/// `None` without `If-None-Match`; else whether it matches what exists:
/// `*` matches anything that exists, and no other value can match, as no
/// entity tags are sent. (When it is present, `If-Modified-Since` is
/// ignored.)
fn none_match(headers: &HeaderMap) -> Option<bool> {
    headers.contains_key(header::IF_NONE_MATCH).then(|| {
        headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.trim() == "*")
    })
}

/// `If-Range` absent, or naming the file's current `Last-Modified`.
fn if_range_holds(headers: &HeaderMap, last_modified: Option<&str>) -> bool {
    match header_str(headers, header::IF_RANGE) {
        None => true,
        Some(v) => last_modified.is_some_and(|lm| lm == v.trim()),
    }
}

/// Whether the request's `Accept-Encoding` prefers gzip to identity (see
/// [`negotiate_encoding`]). A client that refuses both still gets identity:
/// a file server disregarding the header is allowed (RFC 9110 §12.5.3), and
/// more useful to it than a 406.
fn wants_gzip(headers: &HeaderMap) -> bool {
    negotiate_encoding(headers, &[ContentCoding::Gzip, ContentCoding::Identity])
        == Some(ContentCoding::Gzip)
}

fn is_compressible(essence: &str) -> bool {
    essence.starts_with("text/")
        || matches!(
            essence,
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/wasm"
                | "image/svg+xml"
                | "application/x-javascript"
                | "application/xhtml+xml"
        )
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

/// HTTP dates have whole seconds: compare modification times that way.
fn whole_seconds(t: SystemTime) -> SystemTime {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

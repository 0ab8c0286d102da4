//! A minimal HTTP/1.1 client whose response bodies are weir readables.

use http::header::{self, HeaderValue};
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use weir_core::Error;

use super::{BodyReader, ResponseBody};

/// Sends `GET url` and returns the response once its head has arrived; the
/// body is a weir readable, read from the socket only as fast as it is
/// consumed.
///
/// Only `http://` URLs (no TLS); one connection per request. Redirects are
/// not followed.
///
/// # Cancel safety
/// Cancel safe: dropping the future closes the connection.
///
/// # Errors
/// A malformed or non-`http` URL, a connection error ([`Error::is_io`]),
/// or an HTTP protocol error. A 4xx or 5xx answer is *not* an error: check
/// [`Response::status`].
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use hyper::{Request, Response};
/// use weir_io::http::{HttpServer, ResponseBody};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let server = HttpServer::bind("127.0.0.1:0").await?;
/// let url = format!("http://{}/", server.local_addr()?);
/// tokio::spawn(server.serve(|_req: Request<hyper::body::Incoming>| async {
///     Response::new(ResponseBody::full("streamed\n"))
/// }));
/// let response = weir_io::http::get(&url).await?;
/// assert_eq!(response.status(), 200);
/// let body: Vec<_> = response.into_body().try_collect().await?;
/// assert_eq!(body.concat(), b"streamed\n");
/// # Ok(()) }
/// ```
pub async fn get(url: &str) -> Result<Response<BodyReader<Incoming>>, Error> {
    let req = Request::get(url)
        .body(ResponseBody::empty())
        .map_err(|e| Error::other(e).with_stage("http.client"))?;
    fetch(req).await
}

/// Sends `req` (its body a weir readable, pulled as fast as the server takes
/// it) and returns the response once its head has arrived.
///
/// The URI must be absolute (`http://host[:port]/path`); `Host` is set from
/// it unless present.
///
/// # Cancel safety
/// Cancel safe: dropping the future closes the connection.
///
/// # Errors
/// As [`get`].
///
/// # Examples
/// ```
/// use http::Request;
/// use weir_io::http::{fetch, ResponseBody};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let req = Request::get("https://example.invalid/").body(ResponseBody::empty()).unwrap();
/// let err = fetch(req).await.unwrap_err();
/// assert!(err.to_string().contains("only http"));
/// # }
/// ```
pub async fn fetch(
    mut req: Request<ResponseBody>,
) -> Result<Response<BodyReader<Incoming>>, Error> {
    let stage = "http.client";
    let uri = req.uri().clone();
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => {
            return Err(
                Error::msg(format!("{other}:// is not supported (only http://)")).with_stage(stage),
            );
        }
        None => return Err(Error::msg(format!("not an absolute URL: {uri}")).with_stage(stage)),
    }
    let Some(host) = uri.host() else {
        return Err(Error::msg(format!("no host in {uri}")).with_stage(stage));
    };
    let port = uri.port_u16().unwrap_or(80);
    let host_trimmed = host.trim_start_matches('[').trim_end_matches(']');
    let socket = tokio::net::TcpStream::connect((host_trimmed, port))
        .await
        .map_err(|e| Error::from(e).with_stage(stage))?;
    let _ = socket.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(socket))
        .await
        .map_err(|e| Error::other(e).with_stage(stage))?;
    tokio::spawn(async move {
        // Ends when the response body is read or dropped.
        let _ = conn.await;
    });
    if !req.headers().contains_key(header::HOST) {
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host);
        if let Ok(v) = HeaderValue::from_str(authority) {
            req.headers_mut().insert(header::HOST, v);
        }
    }
    let origin = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .parse::<Uri>()
        .map_err(|e| Error::other(e).with_stage(stage))?;
    *req.uri_mut() = origin;
    let response = sender
        .send_request(req)
        .await
        .map_err(|e| Error::other(e).with_stage(stage))?;
    Ok(response.map(BodyReader::new))
}

//! The static file server against a real client (`curl`, which must be
//! installed) and our own: identical downloads, gzip, ranges, a throttled
//! client, HEAD, conditional requests, and every way out of the root
//! refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use futures::TryStreamExt;
use http::Request;
use hyper::body::Incoming;
use support::{random, raw_http, status_of, within};
use weir_codecs::GzipEncoder;
use weir_io::http::{FileServer, HttpServer};

/// Text that compresses: log-like lines.
fn text(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 80);
    let mut i = 0u64;
    while v.len() < n {
        v.extend_from_slice(
            format!(
                "10.1.{}.{} GET /items/{} 200 {}\n",
                i % 256,
                i % 9,
                i * 31 % 997,
                i % 5000
            )
            .as_bytes(),
        );
        i += 1;
    }
    v.truncate(n);
    v
}

struct Site {
    _dir: tempfile::TempDir,
    _outside: tempfile::TempDir,
    root: std::path::PathBuf,
    addr: SocketAddr,
}

async fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("random.bin"), random(7, 3_000_000)).unwrap();
    std::fs::write(root.join("log.txt"), text(1_500_000)).unwrap();
    std::fs::write(root.join("empty.txt"), b"").unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/index.html"), b"<p>index</p>").unwrap();
    std::fs::create_dir(root.join("plain")).unwrap();
    std::fs::write(root.join("plain/a b.txt"), b"spaced").unwrap();
    std::fs::write(outside.path().join("secret.txt"), b"secret").unwrap();
    std::fs::write(dir.path().join("sibling.txt"), b"sibling").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("leakdir")).unwrap();
    std::os::unix::fs::symlink(root.join("log.txt"), root.join("inside-link.txt")).unwrap();
    let files = FileServer::builder(&root)
        .gzip(|| Box::new(GzipEncoder::with_level(6)))
        .build()
        .await
        .unwrap();
    let server = HttpServer::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.serve(move |req: Request<Incoming>| {
        let files = files.clone();
        async move { files.handle(&req).await }
    }));
    Site {
        _dir: dir,
        _outside: outside,
        root,
        addr,
    }
}

/// Runs curl (on a blocking thread) with `args`; the URL path is appended
/// to the site's address.
async fn curl(site: &Site, args: &[&str], path: &str) -> Output {
    let url = format!("http://{}{path}", site.addr);
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "20"]).args(args).arg(url);
    tokio::task::spawn_blocking(move || {
        cmd.output()
            .expect("curl must be installed to run these tests")
    })
    .await
    .unwrap()
}

fn code(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_downloads_are_byte_identical() {
    within(60, async {
        let s = site().await;
        let out = tempfile::tempdir().unwrap();
        for name in ["random.bin", "log.txt", "empty.txt", "inside-link.txt"] {
            let dest = out.path().join(name);
            let o = curl(
                &s,
                &["-o", dest.to_str().unwrap(), "-w", "%{http_code}"],
                &format!("/{name}"),
            )
            .await;
            assert_eq!(
                code(&o),
                "200",
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let want = read(&s.root.join(name));
            assert_eq!(read(&dest), want, "{name}");
        }
        // A percent-encoded name.
        let dest = out.path().join("spaced");
        let o = curl(
            &s,
            &["-o", dest.to_str().unwrap(), "-w", "%{http_code}"],
            "/plain/a%20b.txt",
        )
        .await;
        assert_eq!(code(&o), "200");
        assert_eq!(read(&dest), b"spaced");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_compressed_gets_gzip_and_decodes_it() {
    within(60, async {
        let s = site().await;
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("log.txt");
        let o = curl(
            &s,
            &["--compressed", "-D", "-", "-o", dest.to_str().unwrap()],
            "/log.txt",
        )
        .await;
        let headers = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
        assert!(headers.contains("content-encoding: gzip"), "{headers}");
        assert!(headers.contains("vary: accept-encoding"), "{headers}");
        assert!(!headers.contains("content-length"), "{headers}");
        assert_eq!(read(&dest), read(&s.root.join("log.txt")));
        // Without --compressed: identity, with its length.
        let o = curl(&s, &["-D", "-", "-o", "/dev/null"], "/log.txt").await;
        let headers = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
        assert!(!headers.contains("content-encoding"), "{headers}");
        assert!(headers.contains("content-length: 1500000"), "{headers}");
        // Binary types are never compressed.
        let o = curl(
            &s,
            &["--compressed", "-D", "-", "-o", "/dev/null"],
            "/random.bin",
        )
        .await;
        let headers = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
        assert!(!headers.contains("content-encoding"), "{headers}");
        // gzip;q=0 refuses it.
        let o = curl(
            &s,
            &[
                "-H",
                "accept-encoding: gzip;q=0",
                "-D",
                "-",
                "-o",
                "/dev/null",
            ],
            "/log.txt",
        )
        .await;
        let headers = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
        assert!(!headers.contains("content-encoding"), "{headers}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_ranges_get_206_with_the_right_bytes() {
    within(60, async {
        let s = site().await;
        let whole = read(&s.root.join("random.bin"));
        let len = whole.len();
        let out = tempfile::tempdir().unwrap();
        let cases: [(&str, std::ops::Range<usize>); 4] = [
            ("0-99", 0..100),
            ("1000000-1999999", 1_000_000..2_000_000),
            ("2999000-", 2_999_000..len),
            ("-500", len - 500..len),
        ];
        for (range, want) in cases {
            let dest = out.path().join("part");
            let o = curl(
                &s,
                &[
                    "-r",
                    range,
                    "-o",
                    dest.to_str().unwrap(),
                    "-w",
                    "%{http_code}",
                ],
                "/random.bin",
            )
            .await;
            assert_eq!(code(&o), "206", "{range}");
            assert_eq!(read(&dest), &whole[want], "{range}");
        }
        // A range with --compressed is still identity.
        let o = curl(
            &s,
            &["--compressed", "-r", "0-9", "-D", "-", "-o", "/dev/null"],
            "/log.txt",
        )
        .await;
        let h = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
        assert!(
            h.contains("206") && h.contains("content-range: bytes 0-9/1500000"),
            "{h}"
        );
        assert!(!h.contains("content-encoding"), "{h}");
        // Several ranges: the whole file, 200.
        let o = curl(
            &s,
            &[
                "-r",
                "0-1,5-6",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{size_download}",
            ],
            "/random.bin",
        )
        .await;
        assert_eq!(code(&o), format!("200 {len}"));
        // Past the end: 416 with the length.
        let o = curl(
            &s,
            &["-r", "5000000-", "-D", "-", "-o", "/dev/null"],
            "/random.bin",
        )
        .await;
        let h = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
        assert!(
            h.contains(" 416") && h.contains("content-range: bytes */3000000"),
            "{h}"
        );
        // If-Range with another date: the whole file.
        let o = curl(
            &s,
            &[
                "-r",
                "0-9",
                "-H",
                "if-range: Mon, 01 Jan 2001 00:00:00 GMT",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ],
            "/random.bin",
        )
        .await;
        assert_eq!(code(&o), "200");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_limit_rate_gets_it_all_at_its_pace() {
    within(60, async {
        let s = site().await;
        // curl's limiter lets the first megabytes through in a burst: use
        // a file well past that.
        std::fs::write(s.root.join("big.bin"), random(8, 16 << 20)).unwrap();
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("slow");
        let t = std::time::Instant::now();
        let o = curl(
            &s,
            &[
                "--limit-rate",
                "4M",
                "-o",
                dest.to_str().unwrap(),
                "-w",
                "%{http_code}",
            ],
            "/big.bin",
        )
        .await;
        let took = t.elapsed();
        assert_eq!(code(&o), "200");
        assert_eq!(read(&dest), read(&s.root.join("big.bin")));
        // 16 MiB at 4 MiB/s (less the burst): curl really was the slow side.
        assert!(took.as_secs_f64() > 1.0, "{took:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_conditional_and_methods() {
    within(60, async {
        let s = site().await;
        let o = curl(&s, &["-I"], "/random.bin").await;
        let raw_head = String::from_utf8_lossy(&o.stdout).to_string();
        let h = raw_head.to_ascii_lowercase();
        assert!(h.starts_with("http/1.1 200"), "{h}");
        assert!(h.contains("content-length: 3000000"), "{h}");
        assert!(h.contains("accept-ranges: bytes"), "{h}");
        assert!(h.contains("last-modified: "), "{h}");
        assert!(h.contains("content-type: application/octet-stream"), "{h}");
        let lm = raw_head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("last-modified: ")
                    .then(|| l[15..].to_string())
            })
            .unwrap()
            .trim()
            .to_string();
        // HEAD through a raw socket: headers and no body.
        let r = raw_http(
            s.addr,
            b"HEAD /log.txt HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&r), 200);
        assert!(r.ends_with("\r\n\r\n"), "a HEAD answer had a body: {r}");
        // If-Modified-Since the file's own date: 304.
        let o = curl(
            &s,
            &[
                "-H",
                &format!("if-modified-since: {lm}"),
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ],
            "/random.bin",
        )
        .await;
        assert_eq!(code(&o), "304");
        let o = curl(
            &s,
            &["-X", "POST", "-D", "-", "-o", "/dev/null"],
            "/random.bin",
        )
        .await;
        let h = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
        assert!(h.contains(" 405") && h.contains("allow: get, head"), "{h}");
        // Folders: redirect, index, listing.
        let o = curl(
            &s,
            &["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"],
            "/sub",
        )
        .await;
        assert_eq!(code(&o), format!("301 http://{}/sub/", s.addr));
        let o = curl(&s, &[], "/sub/").await;
        assert_eq!(String::from_utf8_lossy(&o.stdout), "<p>index</p>");
        let o = curl(&s, &[], "/").await;
        let page = String::from_utf8_lossy(&o.stdout);
        assert!(
            page.contains("random.bin") && page.contains("plain/"),
            "{page}"
        );
        assert!(page.contains("href=\"inside-link.txt\""), "{page}");
        assert!(
            !page.contains("leak"),
            "a link leading outside was listed: {page}"
        );
        assert!(!page.contains("sibling"), "{page}");
        let o = curl(&s, &[], "/plain/").await;
        assert!(String::from_utf8_lossy(&o.stdout).contains("href=\"a%20b.txt\""));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_escaping_the_root_is_refused() {
    within(60, async {
        let s = site().await;
        for path in [
            "/../sibling.txt",
            "/%2e%2e/sibling.txt",
            "/%2E%2E/sibling.txt",
            "/sub/../../sibling.txt",
            "/sub/%2e%2e/%2e%2e/sibling.txt",
            "/..%2fsibling.txt",
            "/%2e%2e%2fsibling.txt",
            "/leak.txt",
            "/leakdir/secret.txt",
            "/leakdir/",
            "/%00",
        ] {
            let o = curl(&s, &["--path-as-is", "-o", "-", "-w", "\n%{http_code}"], path).await;
            let text = String::from_utf8_lossy(&o.stdout);
            let status = text.lines().last().unwrap_or("");
            assert!(
                ["400", "403", "404"].contains(&status),
                "{path} -> {status}"
            );
            assert!(!text.contains("secret") && !text.contains("sibling\n"), "{path} leaked: {text}");
        }
        // Absolute-form request targets and odd request lines.
        for req in [
            &b"GET http://127.0.0.1/../sibling.txt HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"[..],
            b"GET /..\\sibling.txt HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
            b"GET //etc/passwd HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
            b"GET /etc/passwd HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
        ] {
            let r = raw_http(s.addr, req).await;
            let status = status_of(&r);
            assert!([400, 403, 404].contains(&status), "{:?} -> {r}", String::from_utf8_lossy(req));
            assert!(!r.contains("root:") && !r.contains("sibling\n"), "{r}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_reads_the_body_as_a_readable() {
    within(30, async {
        let s = site().await;
        let resp = weir_io::http::get(&format!("http://{}/random.bin", s.addr))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let chunks: Vec<bytes::Bytes> = resp.into_body().try_collect().await.unwrap();
        assert_eq!(chunks.concat(), read(&s.root.join("random.bin")));
        let resp = weir_io::http::get(&format!("http://{}/missing", s.addr))
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        let err = weir_io::http::get("http://127.0.0.1:1/").await.unwrap_err();
        assert!(err.is_io(), "{err}");
    })
    .await;
}

/// The value of header `name` in a raw response, if any.
fn header_of<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_redirect_never_names_another_host() {
    within(30, async {
        let s = site().await;
        // `Location: //sub/` would send a browser to the host `sub`.
        for (target, want) in [
            ("/sub", "/sub/"),
            ("//sub", "/sub/"),
            ("///sub", "/sub/"),
            ("//sub?a=1", "/sub/?a=1"),
            ("//plain/.", "/plain/./"),
        ] {
            let req = format!("GET {target} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n");
            let r = raw_http(s.addr, req.as_bytes()).await;
            assert_eq!(status_of(&r), 301, "{target}: {r}");
            assert_eq!(header_of(&r, "location"), Some(want), "{target}: {r}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_names_and_odd_files_are_no_server_errors() {
    within(30, async {
        let s = site().await;
        let long = "a".repeat(300);
        // One name over the file system's 255 bytes, and a path over
        // PATH_MAX (4096) made of names each short enough.
        let too_deep = format!("/{}", vec!["b".repeat(250); 20].join("/"));
        for (path, want) in [
            (format!("/{long}"), 404),
            (format!("/sub/{long}"), 404),
            (format!("/{long}/x"), 404),
            (too_deep, 404),
        ] {
            let req = format!("GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n");
            let r = raw_http(s.addr, req.as_bytes()).await;
            assert_eq!(status_of(&r), want, "{}...: {r}", &path[..20]);
        }
        // Neither a file nor a folder: a socket (which cannot be opened)
        // and a FIFO (which must not block the server).
        let _socket = std::os::unix::net::UnixListener::bind(s.root.join("sock")).unwrap();
        let fifo = Command::new("mkfifo")
            .arg(s.root.join("fifo"))
            .status()
            .unwrap();
        assert!(fifo.success());
        for path in ["/sock", "/fifo"] {
            let req = format!("GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n");
            let r = raw_http(s.addr, req.as_bytes()).await;
            assert_eq!(status_of(&r), 403, "{path}: {r}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_star_is_304_and_overrides_if_modified_since() {
    within(30, async {
        let s = site().await;
        let ask = |method: &str, path: &str, extra: &str| {
            format!("{method} {path} HTTP/1.1\r\nhost: t\r\n{extra}connection: close\r\n\r\n")
        };
        let r = raw_http(s.addr, ask("HEAD", "/log.txt", "").as_bytes()).await;
        let lm = header_of(&r, "last-modified").unwrap().to_string();
        for (method, path, extra, want) in [
            // `*`: any current representation matches, so GET/HEAD get 304.
            ("GET", "/log.txt", "if-none-match: *\r\n".to_string(), 304),
            ("HEAD", "/log.txt", "if-none-match: *\r\n".into(), 304),
            ("GET", "/sub/", "if-none-match: *\r\n".into(), 304),
            ("GET", "/plain/", "if-none-match: *\r\n".into(), 304),
            ("GET", "/plain", "if-none-match: *\r\n".into(), 301),
            ("GET", "/missing", "if-none-match: *\r\n".into(), 404),
            // No entity tag is ever sent, so no other value matches; and
            // with If-None-Match, If-Modified-Since is ignored (RFC 9110
            // §13.1.3).
            (
                "GET",
                "/log.txt",
                format!("if-none-match: \"abc\"\r\nif-modified-since: {lm}\r\n"),
                200,
            ),
            (
                "GET",
                "/log.txt",
                format!("if-modified-since: {lm}\r\n"),
                304,
            ),
        ] {
            let r = raw_http(s.addr, ask(method, path, &extra).as_bytes()).await;
            assert_eq!(status_of(&r), want, "{method} {path} {extra:?}: {r}");
            if want == 304 {
                assert!(r.ends_with("\r\n\r\n"), "a 304 had a body: {r}");
            }
        }
    })
    .await;
}

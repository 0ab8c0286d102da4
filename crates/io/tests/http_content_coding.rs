//! `negotiate_encoding`: RFC 9110 §12.5.3's rules, edge case by edge case,
//! and the file server following them.
#![allow(clippy::expect_used)]

use http::{HeaderMap, HeaderValue, Request};
use weir_io::http::ContentCoding::{self, Brotli, Deflate, Gzip, Identity, Zstd};
use weir_io::http::{FileServer, negotiate_encoding};

const ALL: [ContentCoding; 5] = [Zstd, Brotli, Gzip, Deflate, Identity];

/// The coding picked from `offered` for these `Accept-Encoding` lines.
fn pick(lines: &[&str], offered: &[ContentCoding]) -> Option<ContentCoding> {
    let mut headers = HeaderMap::new();
    for line in lines {
        headers.append(
            "accept-encoding",
            HeaderValue::from_str(line).expect("header value"),
        );
    }
    negotiate_encoding(&headers, offered)
}

#[test]
fn no_header_means_identity_when_offered() {
    assert_eq!(pick(&[], &ALL), Some(Identity));
    // Any coding is acceptable then: without identity, the server's first.
    assert_eq!(pick(&[], &[Brotli, Gzip]), Some(Brotli));
    assert_eq!(pick(&[], &[]), None);
}

#[test]
fn an_empty_header_asks_for_no_coding() {
    assert_eq!(pick(&[""], &ALL), Some(Identity));
    assert_eq!(pick(&[" , ,"], &ALL), Some(Identity));
    assert_eq!(pick(&[""], &[Gzip]), None);
}

#[test]
fn a_named_coding_is_taken_and_others_are_not() {
    assert_eq!(pick(&["gzip"], &ALL), Some(Gzip));
    assert_eq!(pick(&["br"], &ALL), Some(Brotli));
    assert_eq!(pick(&["zstd"], &ALL), Some(Zstd));
    assert_eq!(pick(&["deflate"], &ALL), Some(Deflate));
    // Unknown codings are skipped; identity stays acceptable.
    assert_eq!(pick(&["compress, x-bzip2"], &ALL), Some(Identity));
    // Named, but not offered: identity.
    assert_eq!(pick(&["br"], &[Gzip, Identity]), Some(Identity));
    assert_eq!(pick(&["br"], &[Gzip]), None);
}

#[test]
fn names_and_q_are_case_insensitive_and_x_gzip_is_gzip() {
    assert_eq!(pick(&["GZip"], &ALL), Some(Gzip));
    assert_eq!(pick(&["x-gzip"], &ALL), Some(Gzip));
    assert_eq!(pick(&["BR;Q=0.5, gzip;q=0.4"], &ALL), Some(Brotli));
}

#[test]
fn the_highest_quality_wins() {
    assert_eq!(pick(&["gzip;q=0.8, br;q=0.9"], &ALL), Some(Brotli));
    assert_eq!(pick(&["gzip;q=1.0, br;q=0.999"], &ALL), Some(Gzip));
    assert_eq!(pick(&["zstd;q=0.1, gzip;q=0.2"], &ALL), Some(Gzip));
    // Identity named with a higher weight beats a coding.
    assert_eq!(pick(&["gzip;q=0.5, identity"], &ALL), Some(Identity));
    assert_eq!(pick(&["gzip;q=0.5, identity;q=0.4"], &ALL), Some(Gzip));
}

#[test]
fn equal_qualities_follow_the_servers_order() {
    assert_eq!(pick(&["gzip, br"], &[Brotli, Gzip]), Some(Brotli));
    assert_eq!(pick(&["gzip, br"], &[Gzip, Brotli]), Some(Gzip));
    assert_eq!(
        pick(&["gzip;q=0.5, br;q=0.5"], &[Zstd, Gzip, Brotli]),
        Some(Gzip)
    );
}

#[test]
fn q_zero_refuses_a_coding() {
    assert_eq!(pick(&["gzip;q=0"], &ALL), Some(Identity));
    assert_eq!(pick(&["gzip;q=0.0"], &ALL), Some(Identity));
    assert_eq!(pick(&["gzip;q=0.000"], &ALL), Some(Identity));
    assert_eq!(pick(&["gzip;q=0, br"], &[Gzip, Brotli]), Some(Brotli));
    // The smallest positive weight is still acceptable, and beats an
    // identity left implicit.
    assert_eq!(pick(&["gzip;q=0.001"], &ALL), Some(Gzip));
}

#[test]
fn star_weighs_every_coding_not_named() {
    // The server's first offered coding.
    assert_eq!(pick(&["*"], &ALL), Some(Zstd));
    assert_eq!(pick(&["*"], &[Gzip, Identity]), Some(Gzip));
    // Named codings keep their own weight: gzip;q=0 with * is still no gzip.
    assert_eq!(pick(&["gzip;q=0, *"], &[Gzip, Identity]), Some(Identity));
    assert_eq!(pick(&["gzip;q=0, *"], &[Gzip, Brotli]), Some(Brotli));
    // A coding named lower than * loses to one matched by *.
    assert_eq!(
        pick(&["*;q=0.5, gzip;q=0.1"], &[Gzip, Brotli]),
        Some(Brotli)
    );
    // On equal weights, the named one beats the one matched by *.
    assert_eq!(pick(&["*, gzip"], &[Brotli, Gzip]), Some(Gzip));
}

#[test]
fn identity_is_refused_only_explicitly() {
    // identity;q=0 with nothing else acceptable: nothing.
    assert_eq!(pick(&["identity;q=0"], &[Gzip, Identity]), None);
    assert_eq!(pick(&["identity;q=0"], &[Identity]), None);
    // identity;q=0 with a coding: that coding.
    assert_eq!(pick(&["identity;q=0, gzip;q=0.5"], &ALL), Some(Gzip));
    assert_eq!(pick(&["identity;q=0, *"], &[Gzip, Identity]), Some(Gzip));
    // *;q=0 without an identity entry refuses identity too...
    assert_eq!(pick(&["*;q=0"], &[Gzip, Identity]), None);
    assert_eq!(
        pick(&["gzip, *;q=0"], &[Brotli, Gzip, Identity]),
        Some(Gzip)
    );
    // ...but not with one.
    assert_eq!(
        pick(&["*;q=0, identity"], &[Gzip, Identity]),
        Some(Identity)
    );
    assert_eq!(
        pick(&["*;q=0, identity;q=0.5"], &[Gzip, Identity]),
        Some(Identity)
    );
}

#[test]
fn malformed_weights_void_their_entry() {
    for bad in [
        "gzip;q=2",
        "gzip;q=1.001",
        "gzip;q=0.1234",
        "gzip;q=0.5x",
        "gzip;q=",
        "gzip;q=-1",
        "gzip;q=.5",
        "gzip;q=01",
    ] {
        assert_eq!(pick(&[bad], &ALL), Some(Identity), "{bad}");
    }
    // A malformed identity;q=0 does not refuse identity.
    assert_eq!(
        pick(&["identity;q=zero"], &[Gzip, Identity]),
        Some(Identity)
    );
    // The valid entries beside a void one still count.
    assert_eq!(pick(&["gzip;q=2, br;q=0.3"], &ALL), Some(Brotli));
    // Edge spellings that are valid.
    assert_eq!(pick(&["gzip;q=1."], &ALL), Some(Gzip));
    assert_eq!(pick(&["gzip;q=1.000"], &ALL), Some(Gzip));
    assert_eq!(pick(&["gzip;q=0."], &ALL), Some(Identity));
}

#[test]
fn whitespace_and_several_header_lines() {
    assert_eq!(pick(&["  gzip ; q=0.5 ,\tbr ; q=0.6 "], &ALL), Some(Brotli));
    // Lines are one list.
    assert_eq!(pick(&["gzip;q=0.2", "br;q=0.3"], &ALL), Some(Brotli));
    assert_eq!(
        pick(&["identity;q=0", "gzip"], &[Gzip, Identity]),
        Some(Gzip)
    );
    // A coding named twice keeps its first weight.
    assert_eq!(
        pick(&["gzip;q=0", "gzip"], &[Gzip, Identity]),
        Some(Identity)
    );
}

/// The file server's gzip follows the same rules.
#[tokio::test]
async fn the_file_server_negotiates_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.txt"), "hello world\n".repeat(100)).expect("write");
    let files = FileServer::builder(dir.path())
        .gzip(|| Box::new(weir_codecs::GzipEncoder::new()))
        .build()
        .await
        .expect("file server");
    let cases: [(Option<&str>, bool); 9] = [
        (None, false),
        (Some("gzip"), true),
        (Some("gzip;q=0"), false),
        // Before `negotiate_encoding`, * made this gzip despite gzip;q=0.
        (Some("gzip;q=0, *"), false),
        (Some("*"), true),
        (Some("gzip;q=0.5, identity"), false),
        (Some("identity;q=0, gzip;q=0.5"), true),
        (Some("br, zstd"), false),
        // Nothing acceptable: identity anyway, not 406.
        (Some("identity;q=0"), false),
    ];
    for (accept, gzip) in cases {
        let mut req = Request::get("/a.txt");
        if let Some(accept) = accept {
            req = req.header("accept-encoding", accept);
        }
        let response = files.handle(&req.body(()).expect("request")).await;
        assert_eq!(response.status(), 200, "{accept:?}");
        let coding = response.headers().get("content-encoding");
        assert_eq!(coding.is_some_and(|v| v == "gzip"), gzip, "{accept:?}");
        assert_eq!(response.headers()["vary"], "accept-encoding", "{accept:?}");
    }
}

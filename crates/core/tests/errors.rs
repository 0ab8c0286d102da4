//! The error type: stage names, kinds, and `std::io::Error` interop both ways.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

use std::error::Error as _;
use std::io;

use weir_core::{Error, SendError};

#[test]
fn io_errors_round_trip_unchanged() {
    let io = io::Error::new(io::ErrorKind::PermissionDenied, "no access");
    let ours = Error::from(io);
    assert!(ours.is_io());
    assert_eq!(ours.io_kind(), io::ErrorKind::PermissionDenied);
    assert_eq!(ours.to_string(), "no access");
    let back: io::Error = ours.into();
    assert_eq!(back.kind(), io::ErrorKind::PermissionDenied);
    assert_eq!(back.to_string(), "no access");
}

#[test]
fn our_errors_survive_a_trip_through_io_error() {
    for (e, kind) in [
        (Error::corrupt("bad magic"), io::ErrorKind::InvalidData),
        (Error::limit("over 10 MB"), io::ErrorKind::OutOfMemory),
        (Error::reader_gone(), io::ErrorKind::BrokenPipe),
        (Error::writer_dropped(), io::ErrorKind::UnexpectedEof),
        (Error::timeout("header read"), io::ErrorKind::TimedOut),
    ] {
        let text = e.to_string();
        let io: io::Error = e.with_stage("s").into();
        assert_eq!(io.kind(), kind);
        let back = Error::from(io);
        assert_eq!(back.stage(), Some("s"));
        assert_eq!(back.to_string(), format!("s: {text}"));
    }
}

#[test]
fn an_io_error_with_a_stage_keeps_both() {
    let e = Error::io(io::Error::new(io::ErrorKind::NotFound, "missing.txt")).with_stage("file");
    assert_eq!(e.to_string(), "file: missing.txt");
    let io: io::Error = e.into();
    assert_eq!(io.kind(), io::ErrorKind::NotFound);
    assert_eq!(Error::from(io).stage(), Some("file"));
}

#[test]
fn the_innermost_stage_wins() {
    let e = Error::corrupt("x")
        .with_stage("gunzip")
        .with_stage("pipeline");
    assert_eq!(e.stage(), Some("gunzip"));
}

#[test]
fn sources_are_chained() {
    let e = Error::aborted_by(io::Error::other("peer reset"));
    assert!(e.is_aborted());
    assert_eq!(e.source().unwrap().to_string(), "peer reset");
    let e = Error::other(io::Error::other("inner"));
    assert_eq!(e.to_string(), "inner");
}

#[test]
fn kinds_are_distinct() {
    let all = [
        Error::corrupt(""),
        Error::limit(""),
        Error::overflow(""),
        Error::aborted(""),
        Error::reader_gone(),
        Error::writer_dropped(),
        Error::ended(),
        Error::cancelled(),
        Error::timeout(""),
        Error::panicked(""),
    ];
    let checks: [fn(&Error) -> bool; 10] = [
        Error::is_corrupt,
        Error::is_limit,
        Error::is_overflow,
        Error::is_aborted,
        Error::is_reader_gone,
        Error::is_writer_dropped,
        Error::is_ended,
        Error::is_cancelled,
        Error::is_timeout,
        Error::is_panic,
    ];
    for (i, e) in all.iter().enumerate() {
        for (j, check) in checks.iter().enumerate() {
            assert_eq!(check(e), i == j, "error {i} check {j}");
        }
    }
}

#[test]
fn a_send_error_hands_the_chunk_back() {
    let (mut tx, rx) = weir_core::buffer::<String>(weir_core::Limit::items(1));
    drop(rx);
    let e: SendError<String> = tx.write("keep me".into()).unwrap_err();
    assert!(e.error().is_reader_gone());
    assert_eq!(e.to_string(), "reader gone");
    let (chunk, err) = e.into_parts();
    assert_eq!(chunk, "keep me");
    assert!(err.is_reader_gone());
}

#[test]
fn duplicate_keeps_kind_stage_and_message() {
    let e = Error::io(io::Error::new(io::ErrorKind::ConnectionReset, "reset")).with_stage("tcp");
    let d = e.duplicate();
    assert_eq!(d.to_string(), e.to_string());
    assert_eq!(d.io_kind(), io::ErrorKind::ConnectionReset);
}

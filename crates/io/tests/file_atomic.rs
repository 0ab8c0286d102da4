//! The atomic mode of `FileSink`: the target is replaced on a successful
//! close and on nothing else, and no temporary file survives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, SinkExt, StreamExt};
use support::{names, path_in, random, temp_files, tempdir, within};
use weir_core::Error;
use weir_io::{FileSink, FileSource};

async fn atomic(path: &std::path::Path) -> FileSink {
    FileSink::builder(path)
        .atomic(true)
        .block_size(4096)
        .create()
        .await
        .unwrap()
}

#[tokio::test]
async fn success_replaces_an_existing_file() {
    within(10, async {
        let dir = tempdir();
        let target = path_in(&dir, "data.txt");
        std::fs::write(&target, b"old contents").unwrap();
        let data = random(1, 30_000);
        let mut sink = atomic(&target).await;
        assert!(sink.is_atomic());
        let temp = sink.temp_path().unwrap().to_path_buf();
        // Same folder, hidden, named after the target.
        assert_eq!(temp.parent(), Some(dir.path()));
        let temp_name = temp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(temp_name.starts_with(".data.txt.weir-"), "{temp_name}");
        assert!(temp_name.ends_with(".tmp"), "{temp_name}");
        for piece in data.chunks(3000) {
            sink.send(Bytes::copy_from_slice(piece)).await.unwrap();
            // Until the close, the target is the old file.
            assert_eq!(std::fs::read(&target).unwrap(), b"old contents");
        }
        sink.close().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), data);
        assert!(!temp.exists());
        assert_eq!(names(dir.path()), ["data.txt"]);
    })
    .await;
}

#[tokio::test]
async fn success_creates_a_new_file_even_an_empty_one() {
    within(10, async {
        let dir = tempdir();
        let target = path_in(&dir, "empty");
        let mut sink = atomic(&target).await;
        sink.close().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"");
        assert_eq!(names(dir.path()), ["empty"]);
    })
    .await;
}

#[tokio::test]
async fn drop_without_close_leaves_nothing() {
    within(10, async {
        let dir = tempdir();
        let old = path_in(&dir, "old");
        let new = path_in(&dir, "new");
        std::fs::write(&old, b"untouched").unwrap();
        for target in [&old, &new] {
            let mut sink = atomic(target).await;
            // Several batches: some written, one maybe in flight at the drop.
            for _ in 0..10 {
                sink.send(Bytes::from(vec![9u8; 3000])).await.unwrap();
            }
            drop(sink);
            assert!(temp_files(dir.path()).is_empty());
        }
        assert_eq!(std::fs::read(&old).unwrap(), b"untouched");
        assert!(!new.exists());
        // A write in flight at the drop finishes into the removed file:
        // nothing reappears later.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(names(dir.path()), ["old"]);
    })
    .await;
}

#[tokio::test]
async fn a_failing_pipeline_leaves_the_old_file() {
    within(10, async {
        let dir = tempdir();
        let input = path_in(&dir, "input");
        let target = path_in(&dir, "target");
        std::fs::write(&input, random(2, 100_000)).unwrap();
        std::fs::write(&target, b"previous run").unwrap();
        // The source fails halfway through.
        let src = FileSource::builder(&input)
            .chunk_size(1000)
            .block_size(8000)
            .open()
            .await
            .unwrap();
        let failing = src.enumerate().map(|(i, c)| {
            if i == 50 {
                Err(Error::msg("upstream broke").with_stage("transform"))
            } else {
                c
            }
        });
        let sink = atomic(&target).await;
        let written = sink.counter();
        let err = failing.forward(sink).await.unwrap_err();
        assert_eq!(err.stage(), Some("transform"));
        assert!(
            written.get() > 0,
            "some batches were written before the failure"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"previous run");
        assert_eq!(names(dir.path()), ["input", "target"]);
    })
    .await;
}

#[tokio::test]
async fn concurrent_sinks_use_their_own_temporary_files() {
    within(10, async {
        let dir = tempdir();
        let target = path_in(&dir, "shared");
        let mut a = atomic(&target).await;
        let mut b = atomic(&target).await;
        assert_ne!(a.temp_path(), b.temp_path());
        a.send(Bytes::from_static(b"from a")).await.unwrap();
        b.send(Bytes::from_static(b"from b")).await.unwrap();
        a.close().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"from a");
        b.close().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"from b");
        assert_eq!(names(dir.path()), ["shared"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_during_close_the_target_is_old_or_complete() {
    within(20, async {
        let dir = tempdir();
        let target = path_in(&dir, "t");
        let data = random(3, 2 << 20);
        let (mut old_seen, mut new_seen) = (0, 0);
        for round in 0..20u64 {
            std::fs::write(&target, b"old").unwrap();
            let mut sink = FileSink::builder(&target)
                .atomic(true)
                .block_size(256 * 1024)
                .create()
                .await
                .unwrap();
            for piece in data.chunks(64 * 1024) {
                sink.feed(Bytes::copy_from_slice(piece)).await.unwrap();
            }
            // Start closing, let it run a little (longer each round), drop it.
            {
                let mut close = sink.close();
                let _ = (&mut close).now_or_never();
                tokio::time::sleep(Duration::from_micros(200 * round)).await;
                let _ = close.now_or_never();
            }
            drop(sink);
            let got = std::fs::read(&target).unwrap();
            if got == b"old" {
                old_seen += 1;
            } else {
                assert!(got == data, "a partly written target ({} bytes)", got.len());
                new_seen += 1;
            }
            assert!(temp_files(dir.path()).is_empty());
        }
        eprintln!("old {old_seen}, new {new_seen}");
        // Both outcomes are allowed; the point is that nothing in between is.
        assert_eq!(old_seen + new_seen, 20);
    })
    .await;
}

#[tokio::test]
async fn a_symbolic_link_is_followed() {
    within(10, async {
        let dir = tempdir();
        let real = path_in(&dir, "real");
        let link = path_in(&dir, "link");
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut sink = atomic(&link).await;
        sink.send(Bytes::from_static(b"new")).await.unwrap();
        sink.close().await.unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["link", "real"]);
    })
    .await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_dangling_symlink_and_a_relative_chain_are_followed() {
    within(10, async {
        let dir = tempdir();
        std::fs::create_dir(path_in(&dir, "a")).unwrap();
        std::fs::create_dir(path_in(&dir, "b")).unwrap();
        // a/first -> second (relative, same folder) -> ../b/file (missing).
        std::os::unix::fs::symlink("second", path_in(&dir, "a/first")).unwrap();
        std::os::unix::fs::symlink("../b/file", path_in(&dir, "a/second")).unwrap();
        let mut sink = atomic(&path_in(&dir, "a/first")).await;
        sink.send(Bytes::from_static(b"new")).await.unwrap();
        sink.close().await.unwrap();
        for link in ["a/first", "a/second"] {
            let meta = std::fs::symlink_metadata(path_in(&dir, link)).unwrap();
            assert!(meta.file_type().is_symlink(), "{link} is still a link");
        }
        assert_eq!(std::fs::read(path_in(&dir, "b/file")).unwrap(), b"new");
        assert_eq!(names(&path_in(&dir, "b")), ["file"]);
    })
    .await;
}

#[tokio::test]
async fn non_atomic_mode_writes_in_place() {
    within(10, async {
        let dir = tempdir();
        let target = path_in(&dir, "t");
        std::fs::write(&target, b"a much longer old file").unwrap();
        let mut sink = FileSink::builder(&target)
            .block_size(4)
            .create()
            .await
            .unwrap();
        assert!(!sink.is_atomic());
        assert!(sink.temp_path().is_none());
        // Truncated at creation, written as batches fill.
        assert_eq!(std::fs::read(&target).unwrap(), b"");
        sink.send(Bytes::from_static(b"new!")).await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new!");
        drop(sink);
        assert_eq!(names(dir.path()), ["t"]);
    })
    .await;
}

//! Cancellation: dropping sources, sinks and whole copies at awkward
//! moments never panics, leaks no file descriptor and leaves no temporary
//! file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use support::{names, path_in, random, temp_files, tempdir, within};
use weir_io::{FileSink, FileSource};

/// How many of this process's descriptors are open on files under `dir`
/// (other tests' runtimes open descriptors of their own at any moment, so
/// only ours are counted).
fn open_fds(dir: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.starts_with(dir))
        .count()
}

/// Waits (up to 20 s, for a loaded machine) until the open descriptors
/// under `dir` are back to `n` or fewer; blocking jobs that were let go
/// close theirs when they finish.
async fn fds_back_to(dir: &std::path::Path, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = open_fds(dir);
        if now <= n || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// One test per file touches the descriptor table, so the counts are not
// disturbed by other tests running in parallel threads of this binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_mid_stream_closes_files_and_leaves_no_temporary_file() {
    within(30, async {
        let dir = tempdir();
        let input = path_in(&dir, "input");
        std::fs::write(&input, random(1, 4 << 20)).unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let before = open_fds(&root);
        for round in 0..10 {
            // A source dropped after one chunk, with its read-ahead in flight.
            let mut src = FileSource::builder(&input)
                .block_size(1 << 20)
                .open()
                .await
                .unwrap();
            assert!(src.next().await.unwrap().is_ok());
            drop(src);

            // A sink dropped with a batch in flight.
            let target = path_in(&dir, &format!("out{round}"));
            let mut sink = FileSink::builder(&target)
                .atomic(round % 2 == 0)
                .block_size(256 * 1024)
                .create()
                .await
                .unwrap();
            for _ in 0..5 {
                sink.send(Bytes::from(vec![3u8; 128 * 1024])).await.unwrap();
            }
            drop(sink);
        }
        assert_eq!(before, 0);
        assert_eq!(
            fds_back_to(&root, before).await,
            before,
            "file descriptors leaked"
        );
        assert!(temp_files(dir.path()).is_empty());
    })
    .await;
}

/// A copy with a slow consumer in the middle, cancelled (dropped) part way
/// through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_copy_leaves_the_target_untouched() {
    within(60, async {
        let dir = tempdir();
        let input = path_in(&dir, "input");
        let target = path_in(&dir, "target");
        std::fs::write(&input, random(2, 2 << 20)).unwrap();
        std::fs::write(&target, b"before").unwrap();
        let src = FileSource::open(&input).await.unwrap();
        let read = src.counter();
        let sink = FileSink::builder(&target)
            .atomic(true)
            .block_size(64 * 1024)
            .create()
            .await
            .unwrap();
        let slow = src.then(|c| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            c
        });
        // Cut once some of the input has been read, however long a loaded
        // machine takes to get there (the copy cannot end first: 5 ms per
        // chunk, and far more than one chunk to go).
        let mut copy = Box::pin(slow.forward(sink));
        loop {
            tokio::select! {
                r = &mut copy => panic!("the copy should have been cut short: {r:?}"),
                () = tokio::time::sleep(Duration::from_millis(1)) => {
                    if read.get() > 0 {
                        break;
                    }
                }
            }
        }
        // Dropped here (boxed, so the copy itself goes, not a reference):
        // the sink removes its temporary file during the drop.
        drop(copy);
        assert!(read.get() > 0 && read.get() < 2 << 20, "{}", read.get());
        assert_eq!(std::fs::read(&target).unwrap(), b"before");
        assert_eq!(names(dir.path()), ["input", "target"]);
    })
    .await;
}

/// An aborted task and a runtime shut down under a running copy.
#[test]
fn aborted_tasks_and_runtime_shutdown() {
    let dir = tempdir();
    let input = path_in(&dir, "input");
    std::fs::write(&input, random(3, 8 << 20)).unwrap();
    let copy = |name: &'static str| {
        let input = input.clone();
        let target = dir.path().join(name);
        async move {
            let src = FileSource::builder(&input)
                .block_size(256 * 1024)
                .open()
                .await?;
            let sink = FileSink::builder(&target)
                .atomic(true)
                .block_size(256 * 1024)
                .create()
                .await?;
            let slow = src.then(|c| async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                c
            });
            slow.forward(sink).await
        }
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let task = tokio::spawn(copy("aborted"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
    });
    // The runtime goes away with a copy (and its blocking jobs) running.
    let running = rt.spawn(copy("shut-down"));
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
    rt.shutdown_timeout(Duration::from_secs(5));
    drop(running);
    assert_eq!(names(dir.path()), ["input"]);
}

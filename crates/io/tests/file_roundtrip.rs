//! Files through a `FileSource` and a `FileSink`: every byte arrives, chunk
//! sizes are honoured, counters add up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use support::{chunks, path_in, random, temp_files, tempdir, within};
use weir_io::{FileSink, FileSource};

/// Copies `data` through a file, a source and a sink (atomic or not) with
/// the given sizes, and checks the output and the chunking.
async fn roundtrip(data: &[u8], chunk: usize, block: usize, atomic: bool) {
    let dir = tempdir();
    let input = path_in(&dir, "in.bin");
    let output = path_in(&dir, "out.bin");
    std::fs::write(&input, data).unwrap();

    let src = FileSource::builder(&input)
        .chunk_size(chunk)
        .block_size(block)
        .open()
        .await
        .unwrap();
    assert_eq!(src.file_len(), data.len() as u64);
    let got = chunks(src).await.unwrap();
    let lens: Vec<usize> = got.iter().map(Bytes::len).collect();
    // Every chunk but the last is exactly `chunk` long; none is empty.
    if let Some((last, full)) = lens.split_last() {
        assert!(full.iter().all(|&n| n == chunk), "chunk sizes {lens:?}");
        assert!(*last >= 1 && *last <= chunk);
    }
    assert_eq!(lens.len(), data.len().div_ceil(chunk));
    assert_eq!(got.concat(), data);

    let src = FileSource::builder(&input)
        .chunk_size(chunk)
        .block_size(block)
        .open()
        .await
        .unwrap();
    let read = src.counter();
    let sink = FileSink::builder(&output)
        .block_size(block)
        .atomic(atomic)
        .create()
        .await
        .unwrap();
    let written = sink.counter();
    src.forward(sink).await.unwrap();
    assert_eq!(std::fs::read(&output).unwrap(), data);
    assert_eq!(read.get(), data.len() as u64);
    assert_eq!(written.get(), data.len() as u64);
    assert!(temp_files(dir.path()).is_empty());
}

#[tokio::test]
async fn sizes_around_chunks_and_blocks() {
    within(30, async {
        let chunk = 1000;
        let block = 4000;
        for (i, n) in [0, 1, 999, 1000, 1001, 3999, 4000, 4001, 12_345, 40_000]
            .into_iter()
            .enumerate()
        {
            let data = random(i as u64, n);
            roundtrip(&data, chunk, block, false).await;
            roundtrip(&data, chunk, block, true).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_sizes_several_blocks() {
    within(30, async {
        // 3.5 blocks of 1 MiB plus an odd tail, in 64 KiB chunks.
        let data = random(7, 3 * 1024 * 1024 + 512 * 1024 + 77);
        roundtrip(
            &data,
            weir_io::DEFAULT_CHUNK_SIZE,
            weir_io::DEFAULT_BLOCK_SIZE,
            true,
        )
        .await;
        roundtrip(
            &data,
            weir_io::DEFAULT_CHUNK_SIZE,
            weir_io::DEFAULT_BLOCK_SIZE,
            false,
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn odd_chunk_sizes_and_blocks_smaller_than_chunks() {
    within(30, async {
        let data = random(11, 100_003);
        roundtrip(&data, 1, 7, false).await;
        roundtrip(&data, 4096, 1, true).await; // block raised to the chunk size
        roundtrip(&data, 3000, 10_000, false).await; // block rounded up to 12 000
        roundtrip(&data, 200_000, 1 << 20, true).await; // one chunk holds all
    })
    .await;
}

#[tokio::test]
async fn block_size_is_rounded_to_whole_chunks() {
    let dir = tempdir();
    let input = path_in(&dir, "in.bin");
    std::fs::write(&input, b"x").unwrap();
    let src = FileSource::builder(&input)
        .chunk_size(3000)
        .block_size(10_000)
        .open()
        .await
        .unwrap();
    assert_eq!((src.chunk_size(), src.block_size()), (3000, 12_000));
    let src = FileSource::builder(&input)
        .chunk_size(0)
        .block_size(0)
        .open()
        .await
        .unwrap();
    assert_eq!((src.chunk_size(), src.block_size()), (1, 1));
}

#[tokio::test]
async fn sink_counts_and_flushes() {
    within(10, async {
        let dir = tempdir();
        let output = path_in(&dir, "out.bin");
        let mut sink = FileSink::builder(&output)
            .block_size(10)
            .create()
            .await
            .unwrap();
        // Below one batch: accepted, not yet written.
        sink.feed(Bytes::from_static(b"abc")).await.unwrap();
        assert_eq!(sink.buffered(), 3);
        assert_eq!(sink.bytes_written(), 0);
        sink.flush().await.unwrap();
        assert_eq!(sink.buffered(), 0);
        assert_eq!(sink.bytes_written(), 3);
        assert_eq!(std::fs::read(&output).unwrap(), b"abc");
        // Many tiny chunks (coalesced) and a large one.
        for _ in 0..1000 {
            sink.feed(Bytes::from_static(b"z")).await.unwrap();
        }
        sink.feed(Bytes::from(vec![b'L'; 10_000])).await.unwrap();
        sink.close().await.unwrap();
        let out = std::fs::read(&output).unwrap();
        assert_eq!(out.len(), 3 + 1000 + 10_000);
        assert!(out[3..1003].iter().all(|&b| b == b'z'));
        assert!(out[1003..].iter().all(|&b| b == b'L'));
        assert_eq!(sink.bytes_written(), out.len() as u64);
        // Closing again is fine; sending after close is an error.
        sink.close().await.unwrap();
        let err = sink.send(Bytes::from_static(b"late")).await.unwrap_err();
        assert!(err.is_ended(), "{err}");
    })
    .await;
}

#[tokio::test]
async fn fsync_modes_write_the_same_bytes() {
    within(10, async {
        let dir = tempdir();
        let data = random(3, 50_000);
        for (atomic, name) in [(false, "plain"), (true, "atomic")] {
            let output = path_in(&dir, name);
            let mut sink = FileSink::builder(&output)
                .atomic(atomic)
                .fsync(true)
                .block_size(8192)
                .create()
                .await
                .unwrap();
            for piece in data.chunks(5000) {
                sink.send(Bytes::copy_from_slice(piece)).await.unwrap();
            }
            sink.close().await.unwrap();
            assert_eq!(std::fs::read(&output).unwrap(), data);
        }
        assert!(temp_files(dir.path()).is_empty());
    })
    .await;
}

#[tokio::test]
async fn early_writeback_steps_write_the_same_bytes() {
    within(20, async {
        let dir = tempdir();
        let data = random(4, 300_000);
        // Off, a step smaller than a write, one between, one past the end.
        for step in [0, 1000, 65_536, 1 << 20] {
            for atomic in [false, true] {
                let output = path_in(&dir, &format!("wb-{step}-{atomic}"));
                let mut sink = FileSink::builder(&output)
                    .writeback(step)
                    .atomic(atomic)
                    .block_size(16_384)
                    .create()
                    .await
                    .unwrap();
                for piece in data.chunks(7000) {
                    sink.send(Bytes::copy_from_slice(piece)).await.unwrap();
                }
                sink.close().await.unwrap();
                assert_eq!(std::fs::read(&output).unwrap(), data, "step {step}");
            }
        }
        assert!(temp_files(dir.path()).is_empty());
    })
    .await;
}

#[tokio::test]
async fn source_is_fused() {
    within(10, async {
        let dir = tempdir();
        let input = path_in(&dir, "in.bin");
        std::fs::write(&input, b"hello").unwrap();
        let mut src = FileSource::open(&input).await.unwrap();
        assert_eq!(src.next().await.unwrap().unwrap(), "hello");
        assert!(src.next().await.is_none());
        assert!(futures::stream::FusedStream::is_terminated(&src));
        assert!(src.next().await.is_none());
        assert_eq!(src.bytes_read(), 5);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_pipe_is_passed_on_as_it_arrives() {
    within(20, async {
        let dir = tempdir();
        let fifo = path_in(&dir, "fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let (go_on, wait) = std::sync::mpsc::channel::<()>();
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
                w.write_all(b"first").unwrap();
                w.flush().unwrap();
                // Hold the pipe open until the reader has seen "first".
                let _ = wait.recv();
                w.write_all(b" second").unwrap();
            })
        };
        let mut src = FileSource::builder(&fifo)
            .chunk_size(1 << 20)
            .open()
            .await
            .unwrap();
        assert_eq!(src.file_len(), 0);
        let first = src.next().await.unwrap().unwrap();
        assert_eq!(first, "first");
        go_on.send(()).unwrap();
        let rest = chunks(src).await.unwrap();
        assert_eq!(rest.concat(), b" second");
        writer.join().unwrap();
    })
    .await;
}

//! The file server against a symlink swapped in under its feet: an entry
//! inside the root is renamed over, in a tight loop, by a regular file and
//! by a symlink to a secret file outside the root, while a client asks for
//! it thousands of times. The file served must always be the file checked,
//! so the secret must never come back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::Request;
use hyper::body::Incoming;
use support::{raw_http, status_of, within};
use weir_io::http::{FileServer, HttpServer};

const SECRET: &str = "TOP-SECRET-outside-the-root";
/// What any part of the secret file starts with (a response cut to the
/// regular file's length still leaks it).
const SECRET_START: &str = "TOP-SECRET";
const PUBLIC: &str = "public-inside-the-root";
/// Requests made in all, spread over a few clients.
const REQUESTS: usize = 3000;
const CLIENTS: usize = 4;
/// The swapping thread stops by itself after this, whatever the test does.
const SWAP_LIMIT: Duration = Duration::from_secs(60);

/// Renames a regular file and a symlink leading outside over `target`,
/// one after the other, until `stop` is set (or [`SWAP_LIMIT`] passes).
/// Returns how many swaps it made.
fn swap_until(root: &Path, secret: &Path, stop: &AtomicBool, swaps: &AtomicU64) {
    let target = root.join("race.txt");
    let tmp_file = root.join(".swap-file");
    let tmp_link = root.join(".swap-link");
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) && started.elapsed() < SWAP_LIMIT {
        std::fs::write(&tmp_file, PUBLIC).unwrap();
        std::fs::rename(&tmp_file, &target).unwrap();
        let _ = std::fs::remove_file(&tmp_link);
        std::os::unix::fs::symlink(secret, &tmp_link).unwrap();
        std::fs::rename(&tmp_link, &target).unwrap();
        swaps.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sets the flag when dropped, so the swapping thread stops even if the
/// test fails half-way.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[derive(Default, Debug)]
struct Tally {
    escapes: usize,
    public: usize,
    refused: usize,
    other: usize,
    /// The first unexpected answer, to show.
    sample: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_swapped_in_never_serves_a_file_outside() {
    within(120, async {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root: PathBuf = dir.path().join("www");
        std::fs::create_dir(&root).unwrap();
        let secret = outside.path().join("secret.txt");
        std::fs::write(&secret, SECRET).unwrap();
        std::fs::write(root.join("race.txt"), PUBLIC).unwrap();

        let files = FileServer::new(&root).await.unwrap();
        let server = HttpServer::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let serving = tokio::spawn(server.serve(move |req: Request<Incoming>| {
            let files = files.clone();
            async move { files.handle(&req).await }
        }));

        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicU64::new(0));
        let guard = StopOnDrop(stop.clone());
        let swapper = {
            let (root, secret, stop, swaps) =
                (root.clone(), secret.clone(), stop.clone(), swaps.clone());
            std::thread::spawn(move || swap_until(&root, &secret, &stop, &swaps))
        };

        let started = Instant::now();
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            clients.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                for _ in 0..REQUESTS / CLIENTS {
                    let r = raw_http(
                        addr,
                        b"GET /race.txt HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
                    )
                    .await;
                    if r.contains(SECRET_START) {
                        tally.escapes += 1;
                    } else if status_of(&r) == 200 && r.ends_with(PUBLIC) {
                        tally.public += 1;
                    } else if [403, 404].contains(&status_of(&r)) {
                        tally.refused += 1;
                    } else {
                        tally.other += 1;
                        tally.sample.get_or_insert(r);
                    }
                }
                tally
            }));
        }
        let mut total = Tally::default();
        for c in clients {
            let t = c.await.unwrap();
            total.escapes += t.escapes;
            total.public += t.public;
            total.refused += t.refused;
            total.other += t.other;
            total.sample = total.sample.or(t.sample);
        }
        drop(guard);
        swapper.join().unwrap();
        serving.abort();
        let swaps = swaps.load(Ordering::Relaxed);
        eprintln!(
            "{REQUESTS} requests in {:?} during {swaps} swaps: {total:?}",
            started.elapsed()
        );
        assert!(swaps > 100, "the entry was hardly swapped: {swaps}");
        assert!(
            total.public > 0,
            "the regular file was never served: {total:?}"
        );
        assert_eq!(
            total.escapes, 0,
            "the file outside the root was served: {total:?}"
        );
        assert_eq!(total.other, 0, "unexpected answers: {total:?}");
    })
    .await;
}

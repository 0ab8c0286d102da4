//! Every way opening, reading or writing a file can fail that a test can
//! provoke: each is an error naming the file (and the stage), never a
//! panic, and an atomic sink leaves nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use support::{is_root, names, path_in, temp_files, tempdir, within};
use weir_io::{FileSink, FileSource};

#[tokio::test]
async fn missing_input() {
    let dir = tempdir();
    let missing = path_in(&dir, "no-such-file");
    let err = FileSource::open(&missing).await.unwrap_err();
    assert_eq!(err.io_kind(), ErrorKind::NotFound);
    assert_eq!(err.stage(), Some("file source"));
    let text = err.to_string();
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert!(text.starts_with("file source: cannot open "), "{text}");
}

#[tokio::test]
async fn folder_as_input() {
    let dir = tempdir();
    let err = FileSource::builder(dir.path())
        .name("input")
        .open()
        .await
        .unwrap_err();
    assert_eq!(err.io_kind(), ErrorKind::IsADirectory);
    assert_eq!(err.stage(), Some("input"));
    assert!(err.to_string().contains(&dir.path().display().to_string()));
}

#[tokio::test]
async fn folder_as_output() {
    let dir = tempdir();
    let target = path_in(&dir, "sub");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"k").unwrap();
    for atomic in [false, true] {
        let err = FileSink::builder(&target)
            .atomic(atomic)
            .create()
            .await
            .unwrap_err();
        assert_eq!(err.io_kind(), ErrorKind::IsADirectory, "{err}");
        assert_eq!(err.stage(), Some("file sink"));
        assert!(err.to_string().contains(&target.display().to_string()));
    }
    assert_eq!(names(dir.path()), ["sub"]);
    assert_eq!(names(&target), ["keep"]);
}

#[tokio::test]
async fn missing_output_folder() {
    let dir = tempdir();
    let target = dir.path().join("no-such-folder").join("out");
    for atomic in [false, true] {
        let err = FileSink::builder(&target)
            .atomic(atomic)
            .create()
            .await
            .unwrap_err();
        assert_eq!(err.io_kind(), ErrorKind::NotFound, "{err}");
        assert!(
            err.to_string().contains(&target.display().to_string()),
            "{err}"
        );
    }
    assert!(names(dir.path()).is_empty());
}

#[tokio::test]
async fn no_file_name() {
    let err = FileSink::builder("/")
        .atomic(true)
        .create()
        .await
        .unwrap_err();
    assert!(err.to_string().contains('/'), "{err}");
    let err = FileSink::builder("")
        .atomic(true)
        .create()
        .await
        .unwrap_err();
    assert_eq!(err.io_kind(), ErrorKind::InvalidInput, "{err}");
    let err = FileSink::create("").await.unwrap_err();
    assert_eq!(err.io_kind(), ErrorKind::NotFound, "{err}");
}

async fn fill_dev_full(atomic: bool) -> weir_core::Error {
    let mut sink = FileSink::builder("/dev/full")
        .atomic(atomic)
        .block_size(64 * 1024)
        .create()
        .await
        .unwrap();
    // A device cannot be replaced by a rename: even an atomic builder writes
    // it in place.
    assert!(!sink.is_atomic());
    let mut failed = None;
    for _ in 0..4 {
        if let Err(e) = sink.send(Bytes::from(vec![1u8; 64 * 1024])).await {
            failed = Some(e);
            break;
        }
    }
    let err = match failed {
        Some(e) => e,
        None => sink.close().await.unwrap_err(),
    };
    // The sink stays failed.
    assert!(sink.send(Bytes::from_static(b"x")).await.is_err());
    assert!(sink.close().await.is_err());
    err
}

#[tokio::test]
async fn full_disk() {
    within(10, async {
        for atomic in [false, true] {
            let err = fill_dev_full(atomic).await;
            assert_eq!(err.io_kind(), ErrorKind::StorageFull, "{err}");
            assert_eq!(err.stage(), Some("file sink"));
            let text = err.to_string();
            assert!(text.contains("cannot write /dev/full"), "{text}");
        }
    })
    .await;
}

#[tokio::test]
async fn atomic_rename_failure_removes_the_temporary_file_and_keeps_the_target() {
    within(10, async {
        let dir = tempdir();
        let target = path_in(&dir, "out");
        let mut sink = FileSink::builder(&target)
            .atomic(true)
            .block_size(1000)
            .create()
            .await
            .unwrap();
        let temp = sink.temp_path().unwrap().to_path_buf();
        sink.send(Bytes::from(vec![5u8; 5000])).await.unwrap();
        assert!(temp.exists());
        // Someone makes a non-empty folder of the target's name meanwhile:
        // the rename at close cannot replace it.
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("precious"), b"p").unwrap();
        let err = sink.close().await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cannot rename"), "{text}");
        assert!(text.contains(&target.display().to_string()), "{text}");
        assert!(!temp.exists());
        assert!(temp_files(dir.path()).is_empty());
        assert_eq!(names(&target), ["precious"]);
        assert!(sink.close().await.is_err());
    })
    .await;
}

/// Cases that need file permissions to bite. Root ignores them, so as root
/// the test runs itself again as user and group 65534 ("nobody").
#[test]
fn permission_denied() {
    const CHILD: &str = "WEIR_IO_TEST_UNPRIVILEGED";
    if is_root() {
        assert!(
            std::env::var_os(CHILD).is_none(),
            "the unprivileged child still runs as root"
        );
        run_as_nobody(CHILD);
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(within(20, permission_cases()));
}

/// Runs this test in a copy of this test binary (a place any user can
/// read) as uid/gid 65534, and asserts that it passed there.
fn run_as_nobody(marker: &str) {
    use std::os::unix::process::CommandExt;
    let dir = tempdir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("file_errors");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new(&exe)
        .args(["--exact", "permission_denied", "--test-threads=1"])
        .env(marker, "1")
        .env("TMPDIR", "/tmp")
        .current_dir("/")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the unprivileged run failed:\n{stdout}\n{stderr}"
    );
}

async fn permission_cases() {
    let dir = tempdir();
    let d = dir.path();

    // An unreadable input.
    let secret = d.join("secret");
    std::fs::write(&secret, b"s").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let err = FileSource::open(&secret).await.unwrap_err();
    assert_eq!(err.io_kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains(&secret.display().to_string()));

    // A read-only target in a writable folder: writing in place is refused;
    // the atomic mode needs only the folder, and replaces it.
    let ro = d.join("read-only");
    std::fs::write(&ro, b"old").unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
    let err = FileSink::create(&ro).await.unwrap_err();
    assert_eq!(err.io_kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains(&ro.display().to_string()));
    assert_eq!(std::fs::read(&ro).unwrap(), b"old");

    // A read-only folder.
    let locked = d.join("locked");
    std::fs::create_dir(&locked).unwrap();
    let existing = locked.join("existing");
    std::fs::write(&existing, b"keep me").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    for name in ["new", "existing"] {
        let target = locked.join(name);
        let err = FileSink::builder(&target)
            .atomic(true)
            .create()
            .await
            .unwrap_err();
        assert_eq!(err.io_kind(), ErrorKind::PermissionDenied, "{err}");
        let text = err.to_string();
        assert!(text.contains(&target.display().to_string()), "{text}");
        assert!(text.contains("temporary file"), "{text}");
    }
    let err = FileSink::create(locked.join("new")).await.unwrap_err();
    assert_eq!(err.io_kind(), ErrorKind::PermissionDenied, "{err}");
    assert_eq!(names(&locked), ["existing"]);
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");

    // Let the temporary folder be cleaned up.
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    check_atomic_replaces_read_only(&ro).await;
}

async fn check_atomic_replaces_read_only(ro: &Path) {
    let mut sink = FileSink::builder(ro).atomic(true).create().await.unwrap();
    sink.send(Bytes::from_static(b"new")).await.unwrap();
    sink.close().await.unwrap();
    assert_eq!(std::fs::read(ro).unwrap(), b"new");
    // The mode of the file it replaced is kept.
    let mode = std::fs::metadata(ro).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);
    let mut src = FileSource::open("/proc/self/status").await.unwrap();
    assert!(src.next().await.unwrap().is_ok());
}

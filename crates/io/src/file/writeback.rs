//! Early writeback: a file that asks the kernel to start writing its dirty
//! pages to the disk every few megabytes, instead of leaving a whole
//! file's worth for later.
//!
//! Why: a streamed write of gigabytes otherwise leaves all of them dirty in
//! the page cache, and somebody pays for writing them out in one lump. On
//! ext4 that somebody is the writer itself: replacing a file by renaming a
//! new one over it (the atomic mode) or truncating and rewriting it makes
//! the kernel start writeback of the whole new file right then, inside the
//! `rename` or `close` (its `auto_da_alloc` safeguard). Started as the data
//! arrives, the same writeback overlaps the rest of the run, and the dirty
//! data held in memory stays near the step size.
//!
//! How: on Linux, `posix_fadvise(POSIX_FADV_DONTNEED)` on the range just
//! written, which starts asynchronous writeback of its dirty pages (pages
//! being written are not dropped from the cache). The call never waits for
//! the disk. Elsewhere this is a plain file.

use std::fs::File;
use std::io::{self, IoSlice, Write};

/// A file that starts writeback of every `step` bytes written.
#[derive(Debug)]
pub(crate) struct WritebackFile {
    file: File,
    /// `0` when early writeback is off (or turned itself off).
    step: u64,
    /// File offset of the first byte whose writeback has not been started.
    from: u64,
    /// File offset after the last byte written.
    written: u64,
}

impl WritebackFile {
    /// Wraps `file`, positioned at offset 0; `step == 0` turns it off.
    pub(crate) fn new(file: File, step: usize) -> Self {
        // Only regular files have pages to write back.
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        let step = if regular && cfg!(target_os = "linux") {
            step as u64
        } else {
            0
        };
        WritebackFile {
            file,
            step,
            from: 0,
            written: 0,
        }
    }

    /// The file, for `fsync` and closing.
    pub(crate) fn into_file(self) -> File {
        self.file
    }

    fn wrote(&mut self, n: usize) {
        self.written += n as u64;
        if self.step > 0 && self.written - self.from >= self.step {
            if start_writeback(&self.file, self.from, self.written - self.from).is_err() {
                // Only advice: a file system that refuses it is written
                // without it.
                self.step = 0;
            }
            self.from = self.written;
        }
    }
}

impl Write for WritebackFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.wrote(n);
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let n = self.file.write_vectored(bufs)?;
        self.wrote(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use rustix::fs::{Advice, fadvise};
    let Some(len) = std::num::NonZeroU64::new(len) else {
        return Ok(());
    };
    fadvise(file, offset, Some(len), Advice::DontNeed).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{IoSlice, Read, Seek, Write};

    use super::WritebackFile;

    #[test]
    fn writes_every_byte_whatever_the_step() -> std::io::Result<()> {
        for step in [0, 1, 7, 4096] {
            let mut f = WritebackFile::new(tempfile::tempfile()?, step);
            let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
            f.write_all(&data[..5000])?;
            let (a, b) = data[5000..].split_at(7000);
            let mut slices = [IoSlice::new(a), IoSlice::new(b)];
            let mut slices = &mut slices[..];
            while !slices.is_empty() {
                let n = f.write_vectored(slices)?;
                IoSlice::advance_slices(&mut slices, n);
            }
            f.flush()?;
            assert_eq!(f.written, data.len() as u64);
            if step > 0 && cfg!(target_os = "linux") {
                // Writeback was started up to the last whole step.
                assert!(f.written - f.from < step as u64, "step {step}");
            }
            let mut file = f.into_file();
            file.rewind()?;
            let mut back = Vec::new();
            file.read_to_end(&mut back)?;
            assert_eq!(back, data, "step {step}");
        }
        Ok(())
    }
}

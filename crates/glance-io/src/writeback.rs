//! Early writeback: every output is synced before it is renamed into place
//! ([`crate::AtomicFile::commit`]), and a sync that starts only then waits for the whole
//! file to reach the disk. [`Writeback`] asks the kernel to start writing each
//! [`WRITEBACK_STEP`] bytes out as soon as they are written, while the run goes on
//! computing, so the final sync has little left to wait for (a 77 MB scan output:
//! 0.12-0.14 s of sync before, 0.07-0.10 s after, docs/benchmarks.md).
//!
//! On Linux this is `sync_file_range(SYNC_FILE_RANGE_WRITE)`, which starts writeback of
//! a range without waiting for it; elsewhere the writer only passes the bytes on.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

/// Bytes written between two writeback requests.
pub const WRITEBACK_STEP: u64 = 8 << 20;

/// A writer over a file that starts the kernel's writeback of every
/// [`WRITEBACK_STEP`] bytes once they are written (see the module docs). It only hints:
/// durability still comes from the sync before the rename, which reports any error.
pub struct Writeback<'a> {
    file: &'a mut File,
    /// Offset of the next byte in the file (the file starts empty or at 0).
    position: u64,
    /// Bytes before this one have had their writeback requested.
    requested: u64,
}

impl<'a> Writeback<'a> {
    /// Writes to `file`, a new file (offsets for writeback count from its start).
    pub fn new(file: &'a mut File) -> Self {
        Writeback {
            file,
            position: 0,
            requested: 0,
        }
    }
}

impl Write for Writeback<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.position += n as u64;
        if self.position >= self.requested + WRITEBACK_STEP {
            start_writeback(self.file, self.requested, self.position - self.requested);
            self.requested = self.position;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// For writers that go back to fill in a header: bytes rewritten before the requested
/// mark are left to the final sync.
impl Seek for Writeback<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let at = self.file.seek(to)?;
        self.position = at;
        Ok(at)
    }
}

/// Asks the kernel to start writing `len` bytes of `file` from `offset` out. A hint: its
/// failure changes nothing (the sync before the rename reports errors), so it is not
/// reported.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (
        libc::off64_t::try_from(offset),
        libc::off64_t::try_from(len),
    ) else {
        return;
    };
    // SAFETY: the descriptor is open for as long as `file` is borrowed; the call reads
    // no memory of ours.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Early writeback is a Linux call; elsewhere the final sync does all the work.
#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Every byte arrives, in order, across several writeback steps and an odd tail, and
    /// a seek back rewrites in place.
    #[test]
    fn bytes_pass_through_unchanged() {
        let mut file = tempfile::tempfile().unwrap();
        let mut data: Vec<u8> = (0..(2 * WRITEBACK_STEP + 12_345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut w = Writeback::new(&mut file);
        for part in data.chunks(1 << 20) {
            w.write_all(part).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(w.requested, 2 * WRITEBACK_STEP);
        // a header filled in at the end lands where it belongs
        w.seek(SeekFrom::Start(3)).unwrap();
        w.write_all(b"head").unwrap();
        data[3..7].copy_from_slice(b"head");
        file.rewind().unwrap();
        let mut back = Vec::new();
        file.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
    }
}

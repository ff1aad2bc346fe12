//! [`ThreadedReader`]: runs a reader (a gzip decoder) on a background thread and hands
//! its output over in blocks, so that inflating overlaps parsing and tokenizing. Memory
//! is bounded: at most `depth + 2` blocks exist at a time, and they are recycled.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Bytes per block handed from the background thread.
const BLOCK: usize = 1 << 20;
/// Blocks that may wait in the channel.
const DEPTH: usize = 4;

/// A `BufRead` over the output of a reader that runs on its own thread.
pub(crate) struct ThreadedReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    recycle: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ThreadedReader {
    /// Starts reading `inner` on a new thread; fails only if no thread can be spawned.
    pub(crate) fn spawn<R: Read + Send + 'static>(mut inner: R) -> io::Result<Self> {
        let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(DEPTH);
        let (recycle, recycled) = sync_channel::<Vec<u8>>(DEPTH + 2);
        std::thread::Builder::new()
            .name("glance-inflate".into())
            .spawn(move || loop {
                let mut buf = recycled
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BLOCK));
                buf.clear();
                match (&mut inner).take(BLOCK as u64).read_to_end(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {
                        if tx.send(Ok(buf)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        // Hand over what was read before the error, then the error.
                        if !buf.is_empty() && tx.send(Ok(buf)).is_err() {
                            break;
                        }
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            })?;
        Ok(ThreadedReader {
            rx,
            recycle,
            buf: Vec::new(),
            pos: 0,
            done: false,
        })
    }
}

impl Read for ThreadedReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ThreadedReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.buf.len() && !self.done {
            match self.rx.recv() {
                Ok(Ok(next)) => {
                    let old = std::mem::replace(&mut self.buf, next);
                    // The producer may have gone; then the old buffer is simply dropped.
                    let _ = self.recycle.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                // The producer finished: end of input.
                Err(_) => self.done = true,
            }
        }
        Ok(&self.buf[self.pos.min(self.buf.len())..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `len` bytes, then fails.
    struct Failing {
        left: usize,
    }

    impl Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"));
            }
            let n = self.left.min(out.len()).min(1000);
            out[..n].fill(b'A');
            self.left -= n;
            Ok(n)
        }
    }

    #[test]
    fn passes_bytes_in_order() {
        let data: Vec<u8> = (0..3 * BLOCK + 17).map(|i| (i % 251) as u8).collect();
        let mut r = ThreadedReader::spawn(io::Cursor::new(data.clone())).unwrap();
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn delivers_data_before_the_error() {
        let mut r = ThreadedReader::spawn(Failing { left: 2500 }).unwrap();
        let mut got = Vec::new();
        let err = r.read_to_end(&mut got).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(got.len(), 2500);
    }
}

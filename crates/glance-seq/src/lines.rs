//! Text lines with a length limit, for the small line-oriented formats (.fai, BED,
//! vocab.txt): a line longer than [`MAX_TEXT_LINE`] bytes is an error rather than an
//! allocation of its whole length (a file without line ends could be gigabytes).

use std::io::{self, BufRead, Read};

/// The longest line accepted in a .fai, BED or vocab.txt file, in bytes: 1 MiB.
pub const MAX_TEXT_LINE: usize = 1 << 20;

/// The lines of `reader` without their `\n` or `\r\n` ends, as `BufRead::lines` gives
/// them, but failing (once, then ending) on a line longer than [`MAX_TEXT_LINE`].
pub(crate) fn limited_lines<R: BufRead>(reader: R) -> LimitedLines<R> {
    LimitedLines {
        reader,
        done: false,
    }
}

/// Iterator of [`limited_lines`].
pub(crate) struct LimitedLines<R> {
    reader: R,
    done: bool,
}

impl<R: BufRead> Iterator for LimitedLines<R> {
    type Item = io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut buf = String::new();
        let limit = MAX_TEXT_LINE as u64 + 2;
        match (&mut self.reader).take(limit).read_line(&mut buf) {
            Ok(0) => None,
            Ok(_) if buf.ends_with('\n') => {
                buf.pop();
                if buf.ends_with('\r') {
                    buf.pop();
                }
                Some(Ok(buf))
            }
            Ok(_) if buf.len() > MAX_TEXT_LINE => {
                self.done = true;
                Some(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("line longer than {MAX_TEXT_LINE} bytes"),
                )))
            }
            Ok(_) => Some(Ok(buf)),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_std_lines() {
        let text = b"a\r\nb\n\nc";
        let got: Vec<String> = limited_lines(&text[..]).map(Result::unwrap).collect();
        assert_eq!(got, ["a", "b", "", "c"]);
    }

    #[test]
    fn refuses_an_overlong_line_once() {
        let mut text = vec![b'x'; MAX_TEXT_LINE + 10];
        text.extend_from_slice(b"\nshort\n");
        let mut it = limited_lines(&text[..]);
        let err = it.next().unwrap().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("line longer than {MAX_TEXT_LINE} bytes")
        );
        assert!(it.next().is_none());
    }
}

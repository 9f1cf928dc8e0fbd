//! Lines of stdin for `shm_write --stdin`: split as the bytes come, each
//! byte looked at once, an overlong line refused as soon as it is one.

/// Lines of stdin, split as they come: each byte is looked at once, and a
/// line longer than a value may be is refused as soon as it is, without
/// reading the rest of it.
pub(crate) struct Lines {
    /// Bytes read: lines already taken up to `start`, then the line not yet
    /// complete.
    buf: Vec<u8>,
    /// Where the next line starts.
    start: usize,
    /// `buf[start..scanned]` holds no newline.
    scanned: usize,
    /// The input ended.
    pub(crate) eof: bool,
    /// The longest line a segment holds.
    limit: usize,
}

impl Lines {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            eof: false,
            limit,
        }
    }

    /// The next complete line (without its newline); at the end of input,
    /// the rest, when it does not end in a newline.
    pub(crate) fn take(&mut self) -> Option<Vec<u8>> {
        match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                let end = self.scanned + i;
                let line = self.buf[self.start..end].to_vec();
                self.start = end + 1;
                self.scanned = self.start;
                Some(line)
            }
            None => {
                self.scanned = self.buf.len();
                (self.eof && self.start < self.buf.len()).then(|| {
                    let line = self.buf[self.start..].to_vec();
                    self.start = self.buf.len();
                    line
                })
            }
        }
    }

    /// Add bytes read, first dropping the lines taken (so that only the
    /// line not yet complete, at most `limit` bytes, is ever moved).
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.buf.drain(..self.start);
        self.scanned -= self.start;
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// The bytes of the line not yet complete, when more than `limit`.
    pub(crate) fn overlong(&self) -> Option<usize> {
        let pending = self.buf.len() - self.start;
        (pending > self.limit).then_some(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn lines_split_at_newlines_and_the_last_counts_at_eof() {
        let mut lines = Lines::new(100);
        lines.extend(b"a\nbc\nd");
        assert_eq!(lines.take(), Some(b"a".to_vec()));
        assert_eq!(lines.take(), Some(b"bc".to_vec()));
        assert_eq!(lines.take(), None);
        lines.extend(b"e\n\nf");
        assert_eq!(lines.take(), Some(b"de".to_vec()));
        assert_eq!(lines.take(), Some(b"".to_vec()));
        assert_eq!(lines.take(), None);
        lines.eof = true;
        assert_eq!(lines.take(), Some(b"f".to_vec()));
        assert_eq!(lines.take(), None);
    }

    #[test]
    fn a_line_is_overlong_once_its_pending_bytes_pass_the_limit() {
        let mut lines = Lines::new(4);
        lines.extend(b"abcd");
        assert_eq!((lines.take(), lines.overlong()), (None, None));
        lines.extend(b"e");
        assert_eq!((lines.take(), lines.overlong()), (None, Some(5)));
        // Taken lines do not count, only the one not yet complete.
        let mut lines = Lines::new(4);
        lines.extend(b"abcd\nefgh");
        assert_eq!(lines.take(), Some(b"abcd".to_vec()));
        assert_eq!((lines.take(), lines.overlong()), (None, None));
    }

    #[test]
    fn each_byte_is_scanned_once() {
        // 64 MB in 64 KiB reads without a newline: linear, so well under a
        // second even unoptimised (a rescan of all of it per read took
        // minutes).
        let mut lines = Lines::new(usize::MAX);
        let chunk = vec![b'x'; 64 * 1024];
        let started = std::time::Instant::now();
        for _ in 0..1024 {
            lines.extend(&chunk);
            assert_eq!(lines.take(), None);
        }
        lines.extend(b"\n");
        assert_eq!(lines.take().map(|l| l.len()), Some(64 << 20));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}

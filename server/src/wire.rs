//! The socket side both protocols' connections share: a read buffer that
//! grows up to a limit, an output buffer written until the socket would
//! block, and the drain of a lingering connection. What the bytes mean is
//! the connection's business (`conn.rs` for HTTP/1.1, `h2/` for HTTP/2).

use std::io::{self, Read, Write};

use crate::conn::{Next, READS_PER_DRIVE};

/// The output buffer's high-water mark: a connection takes no more
/// requests (and HTTP/2 adds no more DATA) while this many bytes wait to
/// be written, and a written prefix this long is trimmed off.
pub(crate) const OUT_HIGH: usize = 256 * 1024;

/// Received bytes: `buf[start..end]` is not consumed yet. The length of
/// `buf` is the usable size, which [`fill`](Self::fill) doubles up to its
/// caller's limit when the unconsumed bytes fill it.
#[derive(Debug)]
pub(crate) struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    /// An empty buffer of `size` bytes.
    pub(crate) fn new(size: usize) -> Self {
        Self::with_bytes(size, &[])
    }

    /// A buffer of at least `size` bytes that holds `first`, not consumed.
    pub(crate) fn with_bytes(size: usize, first: &[u8]) -> Self {
        let mut buf = vec![0; size.max(first.len())];
        buf[..first.len()].copy_from_slice(first);
        Self {
            buf,
            start: 0,
            end: first.len(),
        }
    }

    /// The bytes read and not consumed yet.
    pub(crate) fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks the first `n` unread bytes consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start, "consumed more than was read");
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            // Start again at the front, so the next read needs no copy.
            (self.start, self.end) = (0, 0);
        }
    }

    /// Discards every unread byte.
    pub(crate) fn clear(&mut self) {
        (self.start, self.end) = (0, 0);
    }

    /// Reads once from `src` after the unread bytes, moving them to the
    /// front first and doubling the buffer, up to `limit` bytes, when they
    /// fill it. `Ok(0)` is the peer's end of stream; an error is the
    /// read's, or that the unread bytes already fill `limit`, which each
    /// caller's parser rules out by taking or refusing them first.
    pub(crate) fn fill(&mut self, src: &mut impl Read, limit: usize) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= limit {
                return Err(io::Error::other("read buffer full at its limit"));
            }
            self.buf.resize((self.buf.len() * 2).min(limit), 0);
        }
        loop {
            match src.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads from `src` and discards what it reads (and every unread byte)
    /// until the peer closes, for a lingering connection: [`Next::Close`]
    /// at its end of stream or an error, [`Next::Keep`] when `src` would
    /// block, [`Next::Again`] when the read budget is spent.
    pub(crate) fn drain(&mut self, src: &mut impl Read) -> Next {
        self.clear();
        for _ in 0..READS_PER_DRIVE {
            match src.read(&mut self.buf) {
                Ok(0) => return Next::Close,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Keep,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
        Next::Again
    }
}

/// Bytes for the peer: `buf[pos..]` is not written yet.
#[derive(Debug, Default)]
pub(crate) struct WriteBuf {
    buf: Vec<u8>,
    pos: usize,
}

impl WriteBuf {
    /// Appends `bytes` to be written.
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer itself, for encoders that append to a `Vec`; they must
    /// only append to it.
    pub(crate) fn vec_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Whether everything appended has been written.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// How many more bytes may be appended before the unwritten ones reach
    /// [`OUT_HIGH`]; zero once they have.
    pub(crate) fn room(&self) -> usize {
        OUT_HIGH.saturating_sub(self.buf.len() - self.pos)
    }

    /// Writes to `dst` until everything is written or `dst` would block.
    pub(crate) fn flush(&mut self, dst: &mut impl Write) -> io::Result<()> {
        while self.pos < self.buf.len() {
            match dst.write(&self.buf[self.pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Keep the written prefix from growing without bound
                    // under a client that reads slowly but never stops.
                    if self.pos >= OUT_HIGH {
                        self.buf.drain(..self.pos);
                        self.pos = 0;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.buf.clear();
        self.pos = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io::{self, Read, Write};

    use super::{OUT_HIGH, ReadBuf, WriteBuf};
    use crate::conn::{Next, READS_PER_DRIVE};

    /// A socket that gives or takes what its script says, one step a call,
    /// and would block once the script is done.
    struct Script {
        steps: VecDeque<io::Result<usize>>,
        written: Vec<u8>,
    }

    impl Script {
        fn new(steps: impl IntoIterator<Item = io::Result<usize>>) -> Self {
            Self {
                steps: steps.into_iter().collect(),
                written: Vec::new(),
            }
        }

        fn next(&mut self) -> io::Result<usize> {
            self.steps
                .pop_front()
                .unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()))
        }
    }

    impl Read for Script {
        /// Reads `n` bytes of `b'x'` for a step `Ok(n)`.
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.next()?.min(buf.len());
            buf[..n].fill(b'x');
            Ok(n)
        }
    }

    impl Write for Script {
        /// Takes up to `n` bytes for a step `Ok(n)`.
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.next()?.min(buf.len());
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn interrupted() -> io::Result<usize> {
        Err(io::ErrorKind::Interrupted.into())
    }

    #[test]
    fn fill_keeps_unread_bytes_and_grows_to_its_limit() {
        let mut b = ReadBuf::with_bytes(4, b"ab");
        let steps = [Ok(2), interrupted(), Ok(8), Ok(8), Ok(6), Ok(0)];
        let mut src = Script::new(steps);
        assert_eq!(b.fill(&mut src, 8).unwrap(), 2);
        assert_eq!(b.unread(), b"abxx");
        // The unread bytes move to the front; an interrupted read is retried.
        b.consume(1);
        assert_eq!(b.fill(&mut src, 6).unwrap(), 1);
        assert_eq!(b.unread(), b"bxxx");
        // Full: the buffer doubles, but no further than the limit.
        assert_eq!(b.fill(&mut src, 6).unwrap(), 2);
        assert_eq!((b.unread(), b.buf.len()), (&b"bxxxxx"[..], 6));
        let e = b.fill(&mut src, 6).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Other);
        b.consume(6);
        assert_eq!(b.fill(&mut src, 6).unwrap(), 6);
        let e = b.fill(&mut src, 6).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Other);
        b.clear();
        assert_eq!(b.fill(&mut src, 6).unwrap(), 0);
        assert_eq!(b.unread(), b"");
        let e = b.fill(&mut src, 6).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn drain_discards_until_the_end_of_stream_within_its_budget() {
        let mut b = ReadBuf::with_bytes(4, b"left");
        let mut src = Script::new([Ok(4), interrupted(), Ok(1)]);
        assert_eq!(b.drain(&mut src), Next::Keep);
        assert_eq!(b.unread(), b"");
        assert_eq!(b.drain(&mut Script::new([Ok(3), Ok(0)])), Next::Close);
        let reset = Err(io::ErrorKind::ConnectionReset.into());
        assert_eq!(b.drain(&mut Script::new([reset])), Next::Close);
        let endless = (0..READS_PER_DRIVE).map(|_| Ok(4));
        assert_eq!(b.drain(&mut Script::new(endless)), Next::Again);
    }

    #[test]
    fn flush_writes_until_it_would_block_and_trims_past_the_mark() {
        let mut out = WriteBuf::default();
        assert!(out.is_empty());
        assert_eq!(out.room(), OUT_HIGH);
        out.extend(b"hello ");
        out.vec_mut().extend_from_slice(b"world");
        assert_eq!(out.room(), OUT_HIGH - 11);
        let mut dst = Script::new([Ok(3), interrupted(), Ok(100)]);
        out.flush(&mut dst).unwrap();
        assert!(out.is_empty());
        assert_eq!(dst.written, b"hello world");

        // Below the mark the written prefix stays until all is written.
        out.extend(&[1; 10]);
        out.flush(&mut Script::new([Ok(4)])).unwrap();
        assert_eq!((out.buf.len(), out.pos, out.is_empty()), (10, 4, false));
        // At the mark it is trimmed as soon as the socket would block.
        out.extend(&vec![2; OUT_HIGH]);
        assert_eq!(out.room(), 0);
        out.flush(&mut Script::new([Ok(OUT_HIGH - 4)])).unwrap();
        assert_eq!((out.buf.len(), out.pos), (10, 0));
        assert_eq!(out.room(), OUT_HIGH - 10);

        let e = out.flush(&mut Script::new([Ok(0)])).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
        let reset = Err(io::ErrorKind::ConnectionReset.into());
        let e = out.flush(&mut Script::new([reset])).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        out.flush(&mut Script::new([Ok(10)])).unwrap();
        assert!(out.is_empty());
    }
}

//! Response body framing: counts body bytes without storing them.

use crate::error::ParseError;

/// Longest chunk-size line extension accepted, in bytes (as hyper's
/// `CHUNKED_EXTENSIONS_LIMIT`, per chunk line here).
pub const MAX_CHUNK_EXTENSION: u32 = 4 * 1024;
/// Longest trailer section accepted, in bytes.
pub const MAX_TRAILERS: u32 = 64 * 1024;

/// How the end of a body is found, decided from the head by
/// [`crate::response::body_framing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body at all (HEAD, 1xx, 204, 304).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// Result of feeding bytes to a [`BodyDecoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input that belong to this body.
    pub consumed: usize,
    /// The body ended within the input.
    pub done: bool,
}

/// Byte-level state of a chunked body (like hyper's `ChunkedState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading hex digits of a chunk size; `digits` seen so far.
    Size { size: u64, digits: u8 },
    /// Whitespace after the size, before `;` or the line end.
    SizeWs { size: u64 },
    /// Inside a chunk extension; `len` bytes of it so far.
    Ext { size: u64, len: u32 },
    /// Saw CR after the size line, need LF.
    SizeLf { size: u64 },
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// After chunk data, need CR (or a bare LF).
    DataCr,
    /// After chunk data and CR, need LF.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer line.
    TrailerLine,
    /// Saw CR at the end of a trailer line, need LF.
    TrailerLf,
    /// Saw CR on the final empty line, need LF.
    EndLf,
}

/// Decodes one response body, counting and discarding its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyDecoder {
    kind: Kind,
    /// Trailer bytes seen so far (chunked only).
    trailers: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
    Done,
}

impl BodyDecoder {
    /// A decoder for a body with this framing.
    pub fn new(framing: Framing) -> Self {
        let kind = match framing {
            Framing::Empty | Framing::Length(0) => Kind::Done,
            Framing::Length(n) => Kind::Length(n),
            Framing::Chunked => Kind::Chunked(Chunk::Size { size: 0, digits: 0 }),
            Framing::UntilClose => Kind::UntilClose,
        };
        Self { kind, trailers: 0 }
    }

    /// The body has ended.
    pub fn is_done(&self) -> bool {
        self.kind == Kind::Done
    }

    /// Feeds bytes; returns how many belong to the body and whether it ended.
    /// Bytes after the end are not consumed.
    pub fn feed(&mut self, data: &[u8]) -> Result<Decoded, ParseError> {
        self.feed_with(data, &mut |_| {})
    }

    /// [`BodyDecoder::feed`], handing each run of body content to `content`
    /// as it passes (for chunked bodies, the chunks' data without their
    /// framing), so that a caller can look into a body it does not store.
    pub fn feed_with(
        &mut self,
        data: &[u8],
        content: &mut impl FnMut(&[u8]),
    ) -> Result<Decoded, ParseError> {
        let consumed = match self.kind {
            Kind::Done => 0,
            Kind::UntilClose => {
                content(data);
                data.len()
            }
            Kind::Length(left) => {
                let take = left.min(data.len() as u64);
                self.kind = match left - take {
                    0 => Kind::Done,
                    rest => Kind::Length(rest),
                };
                content(&data[..take as usize]);
                take as usize
            }
            Kind::Chunked(_) => self.feed_chunked(data, content)?,
        };
        Ok(Decoded {
            consumed,
            done: self.is_done(),
        })
    }

    /// The connection closed. Only a read-until-close body ends this way;
    /// for any other body it means the response was cut short.
    pub fn finish_on_eof(&mut self) -> bool {
        match self.kind {
            Kind::UntilClose | Kind::Done => {
                self.kind = Kind::Done;
                true
            }
            Kind::Length(_) | Kind::Chunked(_) => false,
        }
    }

    fn feed_chunked(
        &mut self,
        data: &[u8],
        content: &mut impl FnMut(&[u8]),
    ) -> Result<usize, ParseError> {
        let Kind::Chunked(mut st) = self.kind else {
            return Ok(0);
        };
        let mut i = 0;
        while i < data.len() {
            if let Chunk::Data(left) = st {
                let take = left.min((data.len() - i) as u64);
                content(&data[i..i + take as usize]);
                i += take as usize;
                st = match left - take {
                    0 => Chunk::DataCr,
                    rest => Chunk::Data(rest),
                };
                continue;
            }
            let b = data[i];
            i += 1;
            st = match st {
                Chunk::Size { size, digits } => match hex(b) {
                    Some(d) => {
                        if digits >= 16 {
                            return Err(ParseError::InvalidChunkSize);
                        }
                        Chunk::Size {
                            size: size << 4 | u64::from(d),
                            digits: digits + 1,
                        }
                    }
                    None if digits == 0 => return Err(ParseError::InvalidChunkSize),
                    None => match b {
                        b' ' | b'\t' => Chunk::SizeWs { size },
                        b';' => Chunk::Ext { size, len: 0 },
                        b'\r' => Chunk::SizeLf { size },
                        b'\n' => after_size_line(size),
                        _ => return Err(ParseError::InvalidChunkSize),
                    },
                },
                Chunk::SizeWs { size } => match b {
                    b' ' | b'\t' => Chunk::SizeWs { size },
                    b';' => Chunk::Ext { size, len: 0 },
                    b'\r' => Chunk::SizeLf { size },
                    b'\n' => after_size_line(size),
                    _ => return Err(ParseError::InvalidChunkSize),
                },
                Chunk::Ext { size, len } => match b {
                    b'\r' => Chunk::SizeLf { size },
                    b'\n' => after_size_line(size),
                    _ if len >= MAX_CHUNK_EXTENSION => {
                        return Err(ParseError::ChunkExtensionTooLong);
                    }
                    _ => Chunk::Ext { size, len: len + 1 },
                },
                Chunk::SizeLf { size } => match b {
                    b'\n' => after_size_line(size),
                    _ => return Err(ParseError::InvalidChunkSize),
                },
                Chunk::Data(_) => unreachable!("handled above"), // ok: matched before the byte read
                Chunk::DataCr => match b {
                    b'\r' => Chunk::DataLf,
                    b'\n' => Chunk::Size { size: 0, digits: 0 },
                    _ => return Err(ParseError::InvalidChunkEnd),
                },
                Chunk::DataLf => match b {
                    b'\n' => Chunk::Size { size: 0, digits: 0 },
                    _ => return Err(ParseError::InvalidChunkEnd),
                },
                Chunk::TrailerStart => match b {
                    b'\r' => Chunk::EndLf,
                    b'\n' => {
                        self.kind = Kind::Done;
                        return Ok(i);
                    }
                    _ => self.trailer_byte(Chunk::TrailerLine)?,
                },
                Chunk::TrailerLine => match b {
                    b'\r' => self.trailer_byte(Chunk::TrailerLf)?,
                    b'\n' => self.trailer_byte(Chunk::TrailerStart)?,
                    _ => self.trailer_byte(Chunk::TrailerLine)?,
                },
                Chunk::TrailerLf => match b {
                    b'\n' => self.trailer_byte(Chunk::TrailerStart)?,
                    _ => return Err(ParseError::InvalidChunkEnd),
                },
                Chunk::EndLf => match b {
                    b'\n' => {
                        self.kind = Kind::Done;
                        return Ok(i);
                    }
                    _ => return Err(ParseError::InvalidChunkEnd),
                },
            };
        }
        self.kind = Kind::Chunked(st);
        Ok(i)
    }

    fn trailer_byte(&mut self, next: Chunk) -> Result<Chunk, ParseError> {
        self.trailers += 1;
        if self.trailers > MAX_TRAILERS {
            return Err(ParseError::TrailersTooLarge);
        }
        Ok(next)
    }
}

fn after_size_line(size: u64) -> Chunk {
    if size == 0 {
        Chunk::TrailerStart
    } else {
        Chunk::Data(size)
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` whole, byte by byte, and with trailing bytes; all three
    /// must agree. Returns (consumed, done) of the whole feed.
    fn three_ways(framing: Framing, input: &[u8]) -> Result<Decoded, ParseError> {
        let whole = BodyDecoder::new(framing).feed(input);

        let mut d = BodyDecoder::new(framing);
        let mut consumed = 0;
        let mut split = Ok(Decoded {
            consumed: 0,
            done: d.is_done(),
        });
        for b in input {
            if d.is_done() {
                break;
            }
            match d.feed(std::slice::from_ref(b)) {
                Ok(r) => {
                    consumed += r.consumed;
                    split = Ok(Decoded {
                        consumed,
                        done: r.done,
                    });
                }
                Err(e) => {
                    split = Err(e);
                    break;
                }
            }
        }
        assert_eq!(
            whole,
            split,
            "byte-at-a-time differs for {:?}",
            String::from_utf8_lossy(input)
        );

        let mut extra = input.to_vec();
        extra.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let trailing = BodyDecoder::new(framing).feed(&extra);
        if let Ok(w) = whole {
            if w.done {
                assert_eq!(trailing, whole, "trailing bytes consumed");
            }
        }
        whole
    }

    #[test]
    fn content_length() {
        let r = three_ways(Framing::Length(5), b"hello").unwrap();
        assert_eq!(
            r,
            Decoded {
                consumed: 5,
                done: true
            }
        );
        let r = three_ways(Framing::Length(10), b"hello").unwrap();
        assert_eq!(
            r,
            Decoded {
                consumed: 5,
                done: false
            }
        );
        let r = three_ways(Framing::Length(0), b"").unwrap();
        assert_eq!(
            r,
            Decoded {
                consumed: 0,
                done: true
            }
        );
    }

    #[test]
    fn chunked_cases() {
        let table: &[(&[u8], Result<Decoded, ParseError>)] = &[
            (
                b"5\r\nhello\r\n0\r\n\r\n",
                Ok(Decoded {
                    consumed: 15,
                    done: true,
                }),
            ),
            (
                b"5;name=val\r\nhello\r\n0\r\n\r\n",
                Ok(Decoded {
                    consumed: 24,
                    done: true,
                }),
            ),
            (
                b"A\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
                Ok(Decoded {
                    consumed: 28,
                    done: true,
                }),
            ),
            (
                b"5 \r\nhello\r\n0\r\n\r\n",
                Ok(Decoded {
                    consumed: 16,
                    done: true,
                }),
            ),
            (
                b"5\nhello\n0\n\n",
                Ok(Decoded {
                    consumed: 11,
                    done: true,
                }),
            ),
            (
                b"0\r\n\r\n",
                Ok(Decoded {
                    consumed: 5,
                    done: true,
                }),
            ),
            (
                b"5\r\nhel",
                Ok(Decoded {
                    consumed: 6,
                    done: false,
                }),
            ),
            (b"zz\r\n", Err(ParseError::InvalidChunkSize)),
            (b"\r\n", Err(ParseError::InvalidChunkSize)),
            (b"11111111111111111\r\n", Err(ParseError::InvalidChunkSize)),
            (b"5\r\nhelloXX", Err(ParseError::InvalidChunkEnd)),
        ];
        for (input, want) in table {
            let got = three_ways(Framing::Chunked, input);
            assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn chunk_extension_is_capped() {
        let mut input = b"1;".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_CHUNK_EXTENSION as usize + 1));
        assert_eq!(
            three_ways(Framing::Chunked, &input),
            Err(ParseError::ChunkExtensionTooLong)
        );
    }

    #[test]
    fn trailers_are_capped() {
        let mut input = b"0\r\n".to_vec();
        for _ in 0..MAX_TRAILERS / 8 + 1 {
            input.extend_from_slice(b"X-A: 1\r\n");
        }
        assert_eq!(
            three_ways(Framing::Chunked, &input),
            Err(ParseError::TrailersTooLarge)
        );
    }

    #[test]
    fn eof_ends_only_until_close() {
        let mut d = BodyDecoder::new(Framing::UntilClose);
        assert_eq!(
            d.feed(b"abc").unwrap(),
            Decoded {
                consumed: 3,
                done: false
            }
        );
        assert!(d.finish_on_eof());
        assert!(!BodyDecoder::new(Framing::Length(3)).finish_on_eof());
        assert!(!BodyDecoder::new(Framing::Chunked).finish_on_eof());
        assert!(BodyDecoder::new(Framing::Empty).finish_on_eof());
    }
}

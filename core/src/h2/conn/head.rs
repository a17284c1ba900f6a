//! What a response's header block means: an interim head, the final head
//! or trailers, checked as RFC 9113 §8.1 and §8.3.2 require.

use super::stream::Phase;
use crate::h2::error::StreamError;

/// What one decoded header block turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Head {
    /// A 1xx response, to be skipped.
    Interim,
    /// The final response head, with its status.
    Final(u16),
    /// Trailers, which end the stream.
    Trailers,
}

/// Checks the fields of one header block as the decoder reports them.
#[derive(Debug, Default)]
pub(super) struct HeadCheck {
    status: Option<u16>,
    /// Some pseudo-header was seen.
    pseudo: bool,
    /// A regular field was seen: pseudo-headers may no longer follow.
    regular: bool,
    error: Option<StreamError>,
}

impl HeadCheck {
    /// One field, in order.
    pub(super) fn field(&mut self, name: &[u8], value: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if name.first() == Some(&b':') {
            self.pseudo = true;
            self.error = if self.regular || name != b":status" || self.status.is_some() {
                Some(StreamError::InvalidPseudoHeader)
            } else {
                match status(value) {
                    Some(s) => {
                        self.status = Some(s);
                        None
                    }
                    None => Some(StreamError::InvalidStatus),
                }
            };
        } else {
            self.regular = true;
            if name.iter().any(u8::is_ascii_uppercase) {
                self.error = Some(StreamError::UppercaseName);
            }
        }
    }

    /// A field passed the header-list limit (the rest of the block was
    /// decoded, unreported).
    pub(super) fn too_large(&mut self) {
        self.error.get_or_insert(StreamError::HeaderListTooLarge);
    }

    /// What the whole block is, arriving in `phase`, with END_STREAM or
    /// not (RFC 9113 §8.1: a response is interim heads, one final head,
    /// DATA, and optional trailers that end the stream).
    pub(super) fn finish(self, phase: Phase, end_stream: bool) -> Result<Head, StreamError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match phase {
            Phase::AwaitingHead => match self.status {
                None => Err(StreamError::MissingStatus),
                Some(100..=199) if end_stream => Err(StreamError::InterimEndsStream),
                Some(100..=199) => Ok(Head::Interim),
                Some(s) => Ok(Head::Final(s)),
            },
            Phase::Body if self.pseudo => Err(StreamError::InvalidPseudoHeader),
            Phase::Body if !end_stream => Err(StreamError::TrailersWithoutEndStream),
            Phase::Body => Ok(Head::Trailers),
        }
    }
}

/// A `:status` value: three digits, 100 or more (RFC 9110 §15).
fn status(value: &[u8]) -> Option<u16> {
    let &[a, b, c] = value else { return None };
    if ![a, b, c].iter().all(u8::is_ascii_digit) || a == b'0' {
        return None;
    }
    Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use StreamError::*;

    fn check(fields: &[(&str, &str)], phase: Phase, end_stream: bool) -> Result<Head, StreamError> {
        let mut c = HeadCheck::default();
        for (n, v) in fields {
            c.field(n.as_bytes(), v.as_bytes());
        }
        c.finish(phase, end_stream)
    }

    #[test]
    fn heads_and_trailers() {
        use Phase::{AwaitingHead as Head0, Body};
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            Phase,
            bool,
            Result<Head, StreamError>,
        );
        let cases: &[Case<'_>] = &[
            (&[(":status", "200")], Head0, false, Ok(Head::Final(200))),
            (
                &[(":status", "204"), ("a", "b")],
                Head0,
                true,
                Ok(Head::Final(204)),
            ),
            (&[(":status", "999")], Head0, false, Ok(Head::Final(999))),
            (
                &[(":status", "103"), ("link", "x")],
                Head0,
                false,
                Ok(Head::Interim),
            ),
            (&[(":status", "100")], Head0, true, Err(InterimEndsStream)),
            (&[("a", "b")], Head0, false, Err(MissingStatus)),
            (&[], Head0, true, Err(MissingStatus)),
            (&[(":status", "20")], Head0, false, Err(InvalidStatus)),
            (&[(":status", "2000")], Head0, false, Err(InvalidStatus)),
            (&[(":status", "099")], Head0, false, Err(InvalidStatus)),
            (&[(":status", "2x0")], Head0, false, Err(InvalidStatus)),
            (
                &[(":status", "200"), (":status", "200")],
                Head0,
                false,
                Err(InvalidPseudoHeader),
            ),
            (
                &[("a", "b"), (":status", "200")],
                Head0,
                false,
                Err(InvalidPseudoHeader),
            ),
            (
                &[(":status", "200"), (":path", "/")],
                Head0,
                false,
                Err(InvalidPseudoHeader),
            ),
            (
                &[(":status", "200"), ("Server", "x")],
                Head0,
                false,
                Err(UppercaseName),
            ),
            (&[("grpc-status", "0")], Body, true, Ok(Head::Trailers)),
            (&[], Body, true, Ok(Head::Trailers)),
            (
                &[("grpc-status", "0")],
                Body,
                false,
                Err(TrailersWithoutEndStream),
            ),
            (&[(":status", "200")], Body, true, Err(InvalidPseudoHeader)),
        ];
        for (i, (fields, phase, end_stream, expected)) in cases.iter().enumerate() {
            assert_eq!(check(fields, *phase, *end_stream), *expected, "case {i}");
        }
    }

    #[test]
    fn the_first_error_stands() {
        let mut c = HeadCheck::default();
        c.field(b"X", b"");
        c.too_large();
        c.field(b":bad", b"");
        assert_eq!(c.finish(Phase::AwaitingHead, false), Err(UppercaseName));
        let mut c = HeadCheck::default();
        c.field(b":status", b"200");
        c.too_large();
        assert_eq!(
            c.finish(Phase::AwaitingHead, false),
            Err(HeaderListTooLarge)
        );
    }
}

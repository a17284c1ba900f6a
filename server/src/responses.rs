//! What the server answers: every response rendered once at startup, for
//! HTTP/1.1 and for HTTP/2, and the status mix that picks among them.

use volley_core::h2::hpack::encode_response;

/// Which pre-rendered response to send, and whether without its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    index: u32,
    head_only: bool,
}

/// How a response says whether the connection stays open.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Variant {
    /// HTTP/1.1 keep-alive: no Connection header.
    Plain = 0,
    /// HTTP/1.0 keep-alive: `Connection: keep-alive`.
    KeepAlive = 1,
    /// `Connection: close`.
    Close = 2,
}

const VARIANTS: [Variant; 3] = [Variant::Plain, Variant::KeepAlive, Variant::Close];

/// Every response the server can send, rendered once, so that answering a
/// request is a copy of bytes that already exist.
///
/// Index `3 * i + variant` is status `i` of the mix; the error responses
/// follow, all with `Connection: close` and an empty body. Each has its
/// HTTP/2 head too: the same fields but Connection (RFC 9113 §8.2.2), as
/// one HPACK block.
#[derive(Debug)]
pub(crate) struct Responses {
    bytes: Vec<Box<[u8]>>,
    head_len: Vec<usize>,
    h2_heads: Vec<Box<[u8]>>,
    /// The HTTP/2 head of `100 Continue`.
    h2_continue: Box<[u8]>,
    bad_request: u32,
    too_large: u32,
    not_implemented: u32,
}

impl Responses {
    pub(crate) fn render(statuses: &[(u16, u32)], body_size: usize) -> Self {
        let mut h2_continue = Vec::new();
        encode_response(100, &[], &mut h2_continue);
        let mut this = Self {
            bytes: Vec::new(),
            head_len: Vec::new(),
            h2_heads: Vec::new(),
            h2_continue: h2_continue.into_boxed_slice(),
            bad_request: 0,
            too_large: 0,
            not_implemented: 0,
        };
        let mut body = vec![b'x'; body_size];
        if let Some(last) = body.last_mut() {
            *last = b'\n';
        }
        for &(status, _) in statuses {
            for variant in VARIANTS {
                this.push(status, variant, &body);
            }
        }
        this.bad_request = this.push(400, Variant::Close, &[]);
        this.too_large = this.push(431, Variant::Close, &[]);
        this.not_implemented = this.push(501, Variant::Close, &[]);
        this
    }

    /// Renders one response; 1xx, 204 and 304 get no body (RFC 9110 §6.4.1),
    /// and 1xx and 204 no Content-Length either.
    fn push(&mut self, status: u16, variant: Variant, body: &[u8]) -> u32 {
        let no_length = (100..200).contains(&status) || status == 204;
        // For 304 this is the length the body would have had, as for HEAD.
        let length = body.len().to_string();
        let mut fields = Vec::with_capacity(3);
        if !no_length {
            fields.push(("Content-Length", &*length));
        }
        fields.push(("Content-Type", "text/plain"));
        match variant {
            Variant::Plain => {}
            Variant::KeepAlive => fields.push(("Connection", "keep-alive")),
            Variant::Close => fields.push(("Connection", "close")),
        }
        let body = if no_length || status == 304 {
            &[][..]
        } else {
            body
        };
        let reason = volley_core::reason_phrase(status);
        let mut r = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
        for (name, value) in &fields {
            r.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        self.head_len.push(r.len());
        r.extend_from_slice(body);
        self.bytes.push(r.into_boxed_slice());
        let mut h2 = Vec::new();
        encode_response(status, &fields, &mut h2);
        self.h2_heads.push(h2.into_boxed_slice());
        // A few responses per status in the mix: far below u32::MAX.
        u32::try_from(self.bytes.len() - 1).unwrap_or(u32::MAX)
    }

    /// The answer with status `i` of the mix.
    pub(crate) fn status(&self, i: usize, variant: Variant, head_only: bool) -> Reply {
        Reply {
            index: (3 * i + variant as usize) as u32,
            head_only,
        }
    }

    /// `400 Bad Request`, for a head that is not HTTP/1.x.
    pub(crate) fn bad_request(&self) -> Reply {
        Self::error(self.bad_request)
    }

    /// `431 Request Header Fields Too Large`.
    pub(crate) fn too_large(&self) -> Reply {
        Self::error(self.too_large)
    }

    /// `501 Not Implemented`, for a body with a Transfer-Encoding.
    pub(crate) fn not_implemented(&self) -> Reply {
        Self::error(self.not_implemented)
    }

    fn error(index: u32) -> Reply {
        Reply {
            index,
            head_only: false,
        }
    }

    /// The HTTP/2 head of `reply`, as an HPACK block.
    pub(crate) fn h2_head(&self, reply: Reply) -> &[u8] {
        self.h2_heads.get(reply.index as usize).map_or(&[], |b| b)
    }

    /// The body of `reply` (empty for a HEAD request), for HTTP/2.
    pub(crate) fn body(&self, reply: Reply) -> &[u8] {
        let i = reply.index as usize;
        match (self.bytes.get(i), self.head_len.get(i)) {
            (Some(b), Some(&h)) if !reply.head_only => b.get(h..).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The HTTP/2 head of `100 Continue`, as an HPACK block.
    pub(crate) fn h2_continue(&self) -> &[u8] {
        &self.h2_continue
    }

    /// The bytes to send for `reply`.
    pub(crate) fn bytes(&self, reply: Reply) -> &[u8] {
        let i = reply.index as usize;
        match (self.bytes.get(i), self.head_len.get(i)) {
            (Some(b), Some(&h)) if reply.head_only => &b[..h],
            (Some(b), _) => b,
            _ => &[],
        }
    }
}

/// Smooth weighted round-robin (as nginx's upstream balancer): every pick
/// adds each weight to its entry's credit, takes the largest credit and
/// charges it the total, which spreads each status evenly over a period of
/// `total` picks.
#[derive(Debug)]
pub(crate) struct Picker {
    weights: Vec<i64>,
    credit: Vec<i64>,
    total: i64,
}

impl Picker {
    pub(crate) fn new(statuses: &[(u16, u32)]) -> Self {
        let weights: Vec<i64> = statuses.iter().map(|&(_, w)| i64::from(w)).collect();
        let total = weights.iter().sum();
        Self {
            credit: vec![0; weights.len()],
            weights,
            total,
        }
    }

    /// The index of the next status in the mix.
    pub(crate) fn next(&mut self) -> usize {
        let (mut best, mut best_credit) = (0, i64::MIN);
        for (i, (c, w)) in self.credit.iter_mut().zip(&self.weights).enumerate() {
            *c += w;
            if *c > best_credit {
                (best, best_credit) = (i, *c);
            }
        }
        if let Some(c) = self.credit.get_mut(best) {
            *c -= self.total;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picker_spreads_evenly() {
        let mut p = Picker::new(&[(200, 1), (500, 1), (503, 2)]);
        let picks: Vec<usize> = (0..8).map(|_| p.next()).collect();
        assert_eq!(picks, [2, 0, 1, 2, 2, 0, 1, 2]);
    }

    fn text(r: &Responses, reply: Reply) -> String {
        String::from_utf8(r.bytes(reply).to_vec()).unwrap()
    }

    #[test]
    fn responses_are_rendered_per_status_and_variant() {
        let r = Responses::render(&[(200, 1), (204, 1), (304, 1)], 4);
        assert_eq!(
            text(&r, r.status(0, Variant::Plain, false)),
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Type: text/plain\r\n\r\nxxx\n"
        );
        assert_eq!(
            text(&r, r.status(0, Variant::KeepAlive, true)),
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Type: text/plain\r\n\
             Connection: keep-alive\r\n\r\n"
        );
        assert_eq!(
            text(&r, r.status(1, Variant::Close, false)),
            "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            text(&r, r.status(2, Variant::Plain, false)),
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 4\r\nContent-Type: text/plain\r\n\r\n"
        );
        // The same heads for HTTP/2, without Connection.
        let decode = |block: &[u8]| {
            let mut d = volley_core::h2::hpack::Decoder::new(4096, usize::MAX);
            let mut fields = String::new();
            d.decode(block, |n, v| {
                fields += &format!(
                    "{}={} ",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(v)
                );
            })
            .unwrap();
            fields
        };
        let ok = r.status(0, Variant::Close, false);
        assert_eq!(
            decode(r.h2_head(ok)),
            ":status=200 content-length=4 content-type=text/plain "
        );
        assert_eq!(r.body(ok), b"xxx\n");
        assert_eq!(r.body(r.status(0, Variant::Plain, true)), b"");
        let no_content = r.status(1, Variant::Plain, false);
        assert_eq!(
            decode(r.h2_head(no_content)),
            ":status=204 content-type=text/plain "
        );
        assert_eq!(r.body(no_content), b"");
        assert_eq!(r.body(r.status(2, Variant::Plain, false)), b"");
        assert_eq!(decode(r.h2_continue()), ":status=100 ");
        assert_eq!(
            text(&r, r.too_large()),
            "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\
             Content-Type: text/plain\r\nConnection: close\r\n\r\n"
        );
    }
}

//! HPACK's Huffman code (RFC 7541 §5.2 and Appendix B): decoding only,
//! since volley sends its request headers without it.
//!
//! The code is canonical: codes of one length are consecutive and follow
//! the order of their symbols, and each length's first code follows from
//! the one before. So the 257-entry table of Appendix B reduces, at compile
//! time, to a first code and a count per length plus the symbols in code
//! order, and a symbol is found by comparing the next bits with at most 26
//! lengths' bounds, shortest first. `build` checks that the table typed in
//! below is canonical and complete, so a typo in it fails the build.

use crate::h2::error::HpackError;

/// Each symbol's code and its length in bits, for octets 0 to 255 and then
/// EOS (256), as listed in RFC 7541 Appendix B.
const CODES: [(u32, u8); 257] = [
    (0x1ff8, 13),     // (0)
    (0x7fffd8, 23),   // (1)
    (0xfffffe2, 28),  // (2)
    (0xfffffe3, 28),  // (3)
    (0xfffffe4, 28),  // (4)
    (0xfffffe5, 28),  // (5)
    (0xfffffe6, 28),  // (6)
    (0xfffffe7, 28),  // (7)
    (0xfffffe8, 28),  // (8)
    (0xffffea, 24),   // (9)
    (0x3ffffffc, 30), // (10)
    (0xfffffe9, 28),  // (11)
    (0xfffffea, 28),  // (12)
    (0x3ffffffd, 30), // (13)
    (0xfffffeb, 28),  // (14)
    (0xfffffec, 28),  // (15)
    (0xfffffed, 28),  // (16)
    (0xfffffee, 28),  // (17)
    (0xfffffef, 28),  // (18)
    (0xffffff0, 28),  // (19)
    (0xffffff1, 28),  // (20)
    (0xffffff2, 28),  // (21)
    (0x3ffffffe, 30), // (22)
    (0xffffff3, 28),  // (23)
    (0xffffff4, 28),  // (24)
    (0xffffff5, 28),  // (25)
    (0xffffff6, 28),  // (26)
    (0xffffff7, 28),  // (27)
    (0xffffff8, 28),  // (28)
    (0xffffff9, 28),  // (29)
    (0xffffffa, 28),  // (30)
    (0xffffffb, 28),  // (31)
    (0x14, 6),        // ' ' (32)
    (0x3f8, 10),      // '!' (33)
    (0x3f9, 10),      // '"' (34)
    (0xffa, 12),      // '#' (35)
    (0x1ff9, 13),     // '$' (36)
    (0x15, 6),        // '%' (37)
    (0xf8, 8),        // '&' (38)
    (0x7fa, 11),      // "'" (39)
    (0x3fa, 10),      // '(' (40)
    (0x3fb, 10),      // ')' (41)
    (0xf9, 8),        // '*' (42)
    (0x7fb, 11),      // '+' (43)
    (0xfa, 8),        // ',' (44)
    (0x16, 6),        // '-' (45)
    (0x17, 6),        // '.' (46)
    (0x18, 6),        // '/' (47)
    (0x0, 5),         // '0' (48)
    (0x1, 5),         // '1' (49)
    (0x2, 5),         // '2' (50)
    (0x19, 6),        // '3' (51)
    (0x1a, 6),        // '4' (52)
    (0x1b, 6),        // '5' (53)
    (0x1c, 6),        // '6' (54)
    (0x1d, 6),        // '7' (55)
    (0x1e, 6),        // '8' (56)
    (0x1f, 6),        // '9' (57)
    (0x5c, 7),        // ':' (58)
    (0xfb, 8),        // ';' (59)
    (0x7ffc, 15),     // '<' (60)
    (0x20, 6),        // '=' (61)
    (0xffb, 12),      // '>' (62)
    (0x3fc, 10),      // '?' (63)
    (0x1ffa, 13),     // '@' (64)
    (0x21, 6),        // 'A' (65)
    (0x5d, 7),        // 'B' (66)
    (0x5e, 7),        // 'C' (67)
    (0x5f, 7),        // 'D' (68)
    (0x60, 7),        // 'E' (69)
    (0x61, 7),        // 'F' (70)
    (0x62, 7),        // 'G' (71)
    (0x63, 7),        // 'H' (72)
    (0x64, 7),        // 'I' (73)
    (0x65, 7),        // 'J' (74)
    (0x66, 7),        // 'K' (75)
    (0x67, 7),        // 'L' (76)
    (0x68, 7),        // 'M' (77)
    (0x69, 7),        // 'N' (78)
    (0x6a, 7),        // 'O' (79)
    (0x6b, 7),        // 'P' (80)
    (0x6c, 7),        // 'Q' (81)
    (0x6d, 7),        // 'R' (82)
    (0x6e, 7),        // 'S' (83)
    (0x6f, 7),        // 'T' (84)
    (0x70, 7),        // 'U' (85)
    (0x71, 7),        // 'V' (86)
    (0x72, 7),        // 'W' (87)
    (0xfc, 8),        // 'X' (88)
    (0x73, 7),        // 'Y' (89)
    (0xfd, 8),        // 'Z' (90)
    (0x1ffb, 13),     // '[' (91)
    (0x7fff0, 19),    // '\\' (92)
    (0x1ffc, 13),     // ']' (93)
    (0x3ffc, 14),     // '^' (94)
    (0x22, 6),        // '_' (95)
    (0x7ffd, 15),     // '`' (96)
    (0x3, 5),         // 'a' (97)
    (0x23, 6),        // 'b' (98)
    (0x4, 5),         // 'c' (99)
    (0x24, 6),        // 'd' (100)
    (0x5, 5),         // 'e' (101)
    (0x25, 6),        // 'f' (102)
    (0x26, 6),        // 'g' (103)
    (0x27, 6),        // 'h' (104)
    (0x6, 5),         // 'i' (105)
    (0x74, 7),        // 'j' (106)
    (0x75, 7),        // 'k' (107)
    (0x28, 6),        // 'l' (108)
    (0x29, 6),        // 'm' (109)
    (0x2a, 6),        // 'n' (110)
    (0x7, 5),         // 'o' (111)
    (0x2b, 6),        // 'p' (112)
    (0x76, 7),        // 'q' (113)
    (0x2c, 6),        // 'r' (114)
    (0x8, 5),         // 's' (115)
    (0x9, 5),         // 't' (116)
    (0x2d, 6),        // 'u' (117)
    (0x77, 7),        // 'v' (118)
    (0x78, 7),        // 'w' (119)
    (0x79, 7),        // 'x' (120)
    (0x7a, 7),        // 'y' (121)
    (0x7b, 7),        // 'z' (122)
    (0x7ffe, 15),     // '{' (123)
    (0x7fc, 11),      // '|' (124)
    (0x3ffd, 14),     // '}' (125)
    (0x1ffd, 13),     // '~' (126)
    (0xffffffc, 28),  // (127)
    (0xfffe6, 20),    // (128)
    (0x3fffd2, 22),   // (129)
    (0xfffe7, 20),    // (130)
    (0xfffe8, 20),    // (131)
    (0x3fffd3, 22),   // (132)
    (0x3fffd4, 22),   // (133)
    (0x3fffd5, 22),   // (134)
    (0x7fffd9, 23),   // (135)
    (0x3fffd6, 22),   // (136)
    (0x7fffda, 23),   // (137)
    (0x7fffdb, 23),   // (138)
    (0x7fffdc, 23),   // (139)
    (0x7fffdd, 23),   // (140)
    (0x7fffde, 23),   // (141)
    (0xffffeb, 24),   // (142)
    (0x7fffdf, 23),   // (143)
    (0xffffec, 24),   // (144)
    (0xffffed, 24),   // (145)
    (0x3fffd7, 22),   // (146)
    (0x7fffe0, 23),   // (147)
    (0xffffee, 24),   // (148)
    (0x7fffe1, 23),   // (149)
    (0x7fffe2, 23),   // (150)
    (0x7fffe3, 23),   // (151)
    (0x7fffe4, 23),   // (152)
    (0x1fffdc, 21),   // (153)
    (0x3fffd8, 22),   // (154)
    (0x7fffe5, 23),   // (155)
    (0x3fffd9, 22),   // (156)
    (0x7fffe6, 23),   // (157)
    (0x7fffe7, 23),   // (158)
    (0xffffef, 24),   // (159)
    (0x3fffda, 22),   // (160)
    (0x1fffdd, 21),   // (161)
    (0xfffe9, 20),    // (162)
    (0x3fffdb, 22),   // (163)
    (0x3fffdc, 22),   // (164)
    (0x7fffe8, 23),   // (165)
    (0x7fffe9, 23),   // (166)
    (0x1fffde, 21),   // (167)
    (0x7fffea, 23),   // (168)
    (0x3fffdd, 22),   // (169)
    (0x3fffde, 22),   // (170)
    (0xfffff0, 24),   // (171)
    (0x1fffdf, 21),   // (172)
    (0x3fffdf, 22),   // (173)
    (0x7fffeb, 23),   // (174)
    (0x7fffec, 23),   // (175)
    (0x1fffe0, 21),   // (176)
    (0x1fffe1, 21),   // (177)
    (0x3fffe0, 22),   // (178)
    (0x1fffe2, 21),   // (179)
    (0x7fffed, 23),   // (180)
    (0x3fffe1, 22),   // (181)
    (0x7fffee, 23),   // (182)
    (0x7fffef, 23),   // (183)
    (0xfffea, 20),    // (184)
    (0x3fffe2, 22),   // (185)
    (0x3fffe3, 22),   // (186)
    (0x3fffe4, 22),   // (187)
    (0x7ffff0, 23),   // (188)
    (0x3fffe5, 22),   // (189)
    (0x3fffe6, 22),   // (190)
    (0x7ffff1, 23),   // (191)
    (0x3ffffe0, 26),  // (192)
    (0x3ffffe1, 26),  // (193)
    (0xfffeb, 20),    // (194)
    (0x7fff1, 19),    // (195)
    (0x3fffe7, 22),   // (196)
    (0x7ffff2, 23),   // (197)
    (0x3fffe8, 22),   // (198)
    (0x1ffffec, 25),  // (199)
    (0x3ffffe2, 26),  // (200)
    (0x3ffffe3, 26),  // (201)
    (0x3ffffe4, 26),  // (202)
    (0x7ffffde, 27),  // (203)
    (0x7ffffdf, 27),  // (204)
    (0x3ffffe5, 26),  // (205)
    (0xfffff1, 24),   // (206)
    (0x1ffffed, 25),  // (207)
    (0x7fff2, 19),    // (208)
    (0x1fffe3, 21),   // (209)
    (0x3ffffe6, 26),  // (210)
    (0x7ffffe0, 27),  // (211)
    (0x7ffffe1, 27),  // (212)
    (0x3ffffe7, 26),  // (213)
    (0x7ffffe2, 27),  // (214)
    (0xfffff2, 24),   // (215)
    (0x1fffe4, 21),   // (216)
    (0x1fffe5, 21),   // (217)
    (0x3ffffe8, 26),  // (218)
    (0x3ffffe9, 26),  // (219)
    (0xffffffd, 28),  // (220)
    (0x7ffffe3, 27),  // (221)
    (0x7ffffe4, 27),  // (222)
    (0x7ffffe5, 27),  // (223)
    (0xfffec, 20),    // (224)
    (0xfffff3, 24),   // (225)
    (0xfffed, 20),    // (226)
    (0x1fffe6, 21),   // (227)
    (0x3fffe9, 22),   // (228)
    (0x1fffe7, 21),   // (229)
    (0x1fffe8, 21),   // (230)
    (0x7ffff3, 23),   // (231)
    (0x3fffea, 22),   // (232)
    (0x3fffeb, 22),   // (233)
    (0x1ffffee, 25),  // (234)
    (0x1ffffef, 25),  // (235)
    (0xfffff4, 24),   // (236)
    (0xfffff5, 24),   // (237)
    (0x3ffffea, 26),  // (238)
    (0x7ffff4, 23),   // (239)
    (0x3ffffeb, 26),  // (240)
    (0x7ffffe6, 27),  // (241)
    (0x3ffffec, 26),  // (242)
    (0x3ffffed, 26),  // (243)
    (0x7ffffe7, 27),  // (244)
    (0x7ffffe8, 27),  // (245)
    (0x7ffffe9, 27),  // (246)
    (0x7ffffea, 27),  // (247)
    (0x7ffffeb, 27),  // (248)
    (0xffffffe, 28),  // (249)
    (0x7ffffec, 27),  // (250)
    (0x7ffffed, 27),  // (251)
    (0x7ffffee, 27),  // (252)
    (0x7ffffef, 27),  // (253)
    (0x7fffff0, 27),  // (254)
    (0x3ffffee, 26),  // (255)
    (0x3fffffff, 30), // EOS (256)
];

/// The end-of-string symbol, which must never appear in a string.
const EOS: u16 = 256;
/// The shortest and longest code lengths.
const MIN_LEN: u32 = 5;
const MAX_LEN: u32 = 30;

/// Decoding tables derived from [`CODES`].
struct Canonical {
    /// One past the last code of each length, left-aligned as a value of
    /// that many bits: the next bits are a code of length `len` exactly
    /// when they are below `end[len]` (and no shorter code matched).
    end: [u32; MAX_LEN as usize + 1],
    /// The first code of each length.
    first: [u32; MAX_LEN as usize + 1],
    /// Where each length's symbols start in `symbols`.
    start: [u16; MAX_LEN as usize + 1],
    /// The symbols ordered by code, which is by length and then by symbol.
    symbols: [u16; 257],
}

const TABLE: Canonical = build();

/// Derives the decoding tables, and fails the build if [`CODES`] is not
/// the canonical, complete code RFC 7541 describes.
const fn build() -> Canonical {
    let mut count = [0u32; MAX_LEN as usize + 1];
    let mut s = 0;
    while s < 257 {
        let len = CODES[s].1 as usize;
        assert!(len >= MIN_LEN as usize && len <= MAX_LEN as usize);
        count[len] += 1;
        s += 1;
    }
    let mut t = Canonical {
        end: [0; MAX_LEN as usize + 1],
        first: [0; MAX_LEN as usize + 1],
        start: [0; MAX_LEN as usize + 1],
        symbols: [0; 257],
    };
    let (mut code, mut at, mut len) = (0u32, 0u16, 1);
    while len <= MAX_LEN as usize {
        code = (code + count[len - 1]) << 1;
        t.first[len] = code;
        t.end[len] = code + count[len];
        t.start[len] = at;
        let mut s = 0;
        while s < 257 {
            if CODES[s].1 as usize == len {
                // The symbol's code is the next one of its length.
                assert!(CODES[s].0 == code + (at - t.start[len]) as u32);
                t.symbols[at as usize] = s as u16;
                at += 1;
            }
            s += 1;
        }
        len += 1;
    }
    // Complete: the last code (EOS) is all ones, so every string of 30 bits
    // starts with a code.
    assert!(t.end[MAX_LEN as usize] == 1 << MAX_LEN);
    assert!(t.symbols[256] == EOS);
    t
}

/// Decodes a Huffman-coded string, appending the octets to `out`.
///
/// The string must end within 7 bits of a code's end, and those bits must
/// be the most significant bits of EOS, all ones (RFC 7541 §5.2); EOS
/// itself is an error.
pub(crate) fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HpackError> {
    // Bits not yet decoded are the low `bits` bits of `acc`.
    let (mut acc, mut bits) = (0u64, 0u32);
    let mut input = src.iter();
    out.reserve(src.len() * 8 / MIN_LEN as usize);
    loop {
        while bits <= 56 {
            let Some(&b) = input.next() else { break };
            acc = (acc << 8) | u64::from(b);
            bits += 8;
        }
        let Some((symbol, len)) = next_symbol(acc, bits) else {
            // What is left is shorter than any code that fits: padding,
            // which must be fewer than 8 bits, all ones.
            if bits > 7 || acc & ((1 << bits) - 1) != (1 << bits) - 1 {
                return Err(HpackError::HuffmanPadding);
            }
            return Ok(());
        };
        if symbol == EOS {
            return Err(HpackError::HuffmanEos);
        }
        out.push(u8::try_from(symbol).expect("octet symbol")); // ok: every symbol but EOS is an octet
        bits -= len;
    }
}

/// The symbol whose code starts the low `bits` bits of `acc`, and its
/// length; `None` if no code fits in `bits`.
fn next_symbol(acc: u64, bits: u32) -> Option<(u16, u32)> {
    let mut len = MIN_LEN;
    while len <= bits.min(MAX_LEN) {
        let code = ((acc >> (bits - len)) & ((1 << len) - 1)) as u32;
        let i = len as usize;
        if code < TABLE.end[i] {
            let at = TABLE.start[i] as usize + (code - TABLE.first[i]) as usize;
            return Some((TABLE.symbols[at], len));
        }
        len += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::hpack::hex;

    /// Huffman-codes `s`, padding with ones: the encoder volley does not
    /// need, to test the decoder.
    fn encode(s: &[u8]) -> Vec<u8> {
        let (mut acc, mut bits, mut out) = (0u64, 0u32, vec![]);
        for &b in s {
            let (code, len) = CODES[usize::from(b)];
            acc = (acc << len) | u64::from(code);
            bits += u32::from(len);
            while bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        if bits > 0 {
            let pad = 8 - bits;
            out.push(((acc << pad) | ((1 << pad) - 1)) as u8);
        }
        out
    }

    fn decoded(src: &[u8]) -> Result<Vec<u8>, HpackError> {
        let mut out = b"kept".to_vec();
        decode(src, &mut out)?;
        assert_eq!(&out[..4], b"kept", "appends");
        Ok(out.split_off(4))
    }

    #[test]
    fn rfc_7541_examples() {
        // The Huffman-coded strings of Appendix C.4 and C.6.
        let cases = [
            ("f1e3 c2e5 f23a 6ba0 ab90 f4ff", "www.example.com"),
            ("a8eb 1064 9cbf", "no-cache"),
            ("25a8 49e9 5ba9 7d7f", "custom-key"),
            ("25a8 49e9 5bb8 e8b4 bf", "custom-value"),
            ("6402", "302"),
            ("640e ff", "307"),
            ("aec3 771a 4b", "private"),
            (
                "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff",
                "Mon, 21 Oct 2013 20:13:21 GMT",
            ),
            (
                "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3",
                "https://www.example.com",
            ),
            ("9bd9 ab", "gzip"),
            (
                "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 \
                 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            ),
        ];
        for (coded, text) in cases {
            assert_eq!(decoded(&hex(coded)).unwrap(), text.as_bytes(), "{text}");
            assert_eq!(encode(text.as_bytes()), hex(coded), "{text}");
        }
    }

    #[test]
    fn every_octet_round_trips() {
        for b in 0..=255u8 {
            for s in [vec![b], vec![b; 7], vec![b'a', b, b'z']] {
                assert_eq!(decoded(&encode(&s)).unwrap(), s, "{s:?}");
            }
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decoded(&encode(&all)).unwrap(), all);
        let reversed: Vec<u8> = (0..=255).rev().collect();
        assert_eq!(decoded(&encode(&reversed)).unwrap(), reversed);
    }

    #[test]
    fn empty_and_byte_aligned_strings() {
        assert_eq!(decoded(b""), Ok(vec![]));
        // Eight '0's, of 5 bits each, end exactly on a byte: no padding.
        assert_eq!(decoded(&[0; 5]), Ok(b"00000000".to_vec()));
    }

    #[test]
    fn padding_must_be_short_and_all_ones() {
        // 'a' is 00011: three bits of padding.
        assert_eq!(decoded(&[0b0001_1111]), Ok(b"a".to_vec()));
        assert_eq!(decoded(&[0b0001_1000]), Err(HpackError::HuffmanPadding));
        assert_eq!(decoded(&[0b0001_1110]), Err(HpackError::HuffmanPadding));
        // Eleven bits of ones after 'a', eight on their own.
        assert_eq!(
            decoded(&[0b0001_1111, 0xff]),
            Err(HpackError::HuffmanPadding)
        );
        assert_eq!(decoded(&[0xff]), Err(HpackError::HuffmanPadding));
        // '$' is 13 bits (1ff9): cut after its first byte, or its ninth bit.
        let dollar = encode(b"$");
        assert_eq!(decoded(&dollar), Ok(b"$".to_vec()));
        assert_eq!(decoded(&dollar[..1]), Err(HpackError::HuffmanPadding));
        // A whole symbol then seven ones: 'a' 'a' (10 bits) + 6 ones.
        assert_eq!(decoded(&[0b0001_1000, 0b1111_1111]), Ok(b"aa".to_vec()));
    }

    #[test]
    fn eos_in_a_string_is_an_error() {
        assert_eq!(decoded(&[0xff; 4]), Err(HpackError::HuffmanEos));
        assert_eq!(
            decoded(&[0xff, 0xff, 0xff, 0xfc]),
            Err(HpackError::HuffmanEos)
        );
        let mut s = encode(b"ok");
        s.pop();
        s.extend_from_slice(&[0xff; 4]);
        assert_eq!(decoded(&s), Err(HpackError::HuffmanEos));
    }

    #[test]
    fn table_is_canonical() {
        // `build` asserts it at compile time; spot-check the derived tables.
        assert_eq!(TABLE.first[5], 0);
        assert_eq!(TABLE.end[5], 10);
        assert_eq!(TABLE.symbols[0], u16::from(b'0'));
        assert_eq!(TABLE.symbols[256], EOS);
        assert_eq!(CODES[usize::from(b' ')], (0x14, 6));
    }
}

//! The HPACK decoder (RFC 7541 §3 and §6): one per connection, fed each
//! complete header block in order.

use super::huffman;
use super::table::{ENTRY_OVERHEAD, STATIC, Table};
use crate::h2::error::HpackError;

/// Decodes the header blocks of one connection's responses.
///
/// The dynamic table is the only state, so blocks must be decoded in the
/// order they arrived, each whole (HEADERS and its CONTINUATIONs joined).
/// After an error the table may be out of step with the server's: the
/// connection must end with `COMPRESSION_ERROR` (RFC 9113 §4.3).
#[derive(Debug)]
pub struct Decoder {
    table: Table,
    /// `SETTINGS_HEADER_TABLE_SIZE` as advertised: the most a size update
    /// may ask for.
    limit: usize,
    /// The most a decoded header list may count (RFC 9113 §6.5.2).
    max_list_size: usize,
    /// The limit fell below the table's size bound, so the next block
    /// must start with a size update (RFC 7541 §4.2).
    update_required: bool,
    /// Huffman-decoded names and values, reused from field to field.
    scratch: Vec<u8>,
}

/// Where a decoded name or value is, until the scratch buffer stops
/// growing and it can be borrowed.
#[derive(Clone, Copy)]
enum Str<'b> {
    /// Bytes of the block, or of the static table.
    Slice(&'b [u8]),
    /// `scratch[from..to]`.
    Scratch(usize, usize),
}

impl Decoder {
    /// A decoder for a connection whose `SETTINGS_HEADER_TABLE_SIZE` is
    /// `max_table_size` (4096 unless advertised otherwise), which fails a
    /// block whose header list counts more than `max_list_size`, each
    /// field counting its name and value plus 32 (RFC 9113 §6.5.2).
    pub fn new(max_table_size: usize, max_list_size: usize) -> Self {
        Self {
            table: Table::new(max_table_size),
            limit: max_table_size,
            max_list_size,
            update_required: false,
            scratch: Vec::new(),
        }
    }

    /// Applies a new `SETTINGS_HEADER_TABLE_SIZE` once the server has
    /// acknowledged it. A limit below the table's current bound requires
    /// the next block to begin with a size update within it.
    pub fn set_max_table_size(&mut self, max_table_size: usize) {
        self.limit = max_table_size;
        if max_table_size < self.table.max_size() {
            self.update_required = true;
        }
    }

    /// The dynamic table's size as RFC 7541 §4.1 counts it: each entry's
    /// name and value plus 32.
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// Number of entries in the dynamic table.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Decodes one complete header block, calling `on_field(name, value)`
    /// for each field in order. Names and values are borrowed for the call
    /// only; nothing is allocated per field.
    ///
    /// On an error, fields already passed to `on_field` belong to a block
    /// that failed. Once the header list passes its limit, no more fields
    /// are reported, but the block is decoded to its end to keep the
    /// dynamic table in step, and then [`HpackError::HeaderListTooLarge`]
    /// is returned.
    pub fn decode(
        &mut self,
        block: &[u8],
        mut on_field: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), HpackError> {
        let mut buf = block;
        let mut list = List {
            size: 0,
            max: self.max_list_size,
        };
        let mut at_start = true;
        while let Some(&first) = buf.first() {
            if first & 0xe0 == 0x20 {
                // Dynamic table size update (§6.3): only before any field.
                if !at_start {
                    return Err(HpackError::SizeUpdateMisplaced);
                }
                let size = integer(&mut buf, 5)?;
                if size > self.limit {
                    return Err(HpackError::TableSizeTooLarge);
                }
                self.table.set_max_size(size);
                self.update_required = false;
                continue;
            }
            if self.update_required {
                return Err(HpackError::SizeUpdateMissing);
            }
            at_start = false;
            self.scratch.clear();
            if first & 0x80 != 0 {
                // Indexed field (§6.1).
                let index = integer(&mut buf, 7)?;
                let (name, value) = match index.checked_sub(STATIC.len() + 1) {
                    Some(i) => self.table.get(i).ok_or(HpackError::UnknownIndex)?,
                    None => static_entry(index)?,
                };
                if list.fits(name, value) {
                    on_field(name, value);
                }
                continue;
            }
            // Literal with incremental indexing (§6.2.1, with a 6-bit
            // index prefix), without indexing (§6.2.2) or never indexed
            // (§6.2.3), both with a 4-bit prefix.
            let indexing = first & 0xc0 == 0x40;
            let name = match integer(&mut buf, if indexing { 6 } else { 4 })? {
                0 => string(&mut buf, &mut self.scratch)?,
                index => match index.checked_sub(STATIC.len() + 1) {
                    None => Str::Slice(static_entry(index)?.0),
                    Some(i) => {
                        // Copied, as inserting this field may evict it.
                        let (name, _) = self.table.get(i).ok_or(HpackError::UnknownIndex)?;
                        self.scratch.extend_from_slice(name);
                        Str::Scratch(0, name.len())
                    }
                },
            };
            let value = string(&mut buf, &mut self.scratch)?;
            let (name, value) = (resolve(&self.scratch, name), resolve(&self.scratch, value));
            if indexing {
                self.table.insert(name, value);
            }
            if list.fits(name, value) {
                on_field(name, value);
            }
        }
        if self.update_required {
            return Err(HpackError::SizeUpdateMissing);
        }
        if list.size > list.max {
            return Err(HpackError::HeaderListTooLarge);
        }
        Ok(())
    }
}

/// The size of a header list so far (RFC 9113 §6.5.2), and its limit.
struct List {
    size: usize,
    max: usize,
}

impl List {
    /// Counts a field: name and value plus 32. Whether the list, with it,
    /// is still within the limit.
    fn fits(&mut self, name: &[u8], value: &[u8]) -> bool {
        self.size = self
            .size
            .saturating_add(name.len() + value.len())
            .saturating_add(ENTRY_OVERHEAD);
        self.size <= self.max
    }
}

/// The bytes a [`Str`] stands for.
fn resolve<'a>(scratch: &'a [u8], s: Str<'a>) -> &'a [u8] {
    match s {
        Str::Slice(s) => s,
        Str::Scratch(from, to) => &scratch[from..to],
    }
}

/// A string literal (§5.2) from the front of `buf`: borrowed from the
/// block, or Huffman-decoded onto the end of `scratch`.
fn string<'b>(buf: &mut &'b [u8], scratch: &mut Vec<u8>) -> Result<Str<'b>, HpackError> {
    let huffman = buf.first().is_some_and(|b| b & 0x80 != 0);
    let len = integer(buf, 7)?;
    if len > buf.len() {
        return Err(HpackError::Truncated);
    }
    let (raw, rest) = buf.split_at(len);
    *buf = rest;
    if !huffman {
        return Ok(Str::Slice(raw));
    }
    let from = scratch.len();
    huffman::decode(raw, scratch)?;
    Ok(Str::Scratch(from, scratch.len()))
}

/// The static table's entry at `index` (1 to 61).
fn static_entry(index: usize) -> Result<(&'static [u8], &'static [u8]), HpackError> {
    match index.checked_sub(1).and_then(|i| STATIC.get(i)) {
        Some((name, value)) => Ok((name.as_bytes(), value.as_bytes())),
        None if index == 0 => Err(HpackError::ZeroIndex),
        None => Err(HpackError::UnknownIndex),
    }
}

/// Longest integer accepted: 2^32 - 1, more than any length or index a
/// block of acceptable size can hold.
const MAX_INTEGER: u64 = u32::MAX as u64;

/// An integer with an N-bit prefix (RFC 7541 §5.1) from the front of
/// `buf`, whose first byte's other bits are the representation's flags.
pub(crate) fn integer(buf: &mut &[u8], prefix_bits: u8) -> Result<usize, HpackError> {
    debug_assert!((1..=7).contains(&prefix_bits));
    let (&first, mut rest) = buf.split_first().ok_or(HpackError::Truncated)?;
    let mask = (1u8 << prefix_bits) - 1;
    let mut value = u64::from(first & mask);
    if value == u64::from(mask) {
        let mut shift = 0;
        loop {
            let (&b, more) = rest.split_first().ok_or(HpackError::Truncated)?;
            rest = more;
            // Five continuation bytes carry 35 bits, enough for any
            // value up to the bound; a sixth can only overflow it.
            if shift > 28 {
                return Err(HpackError::IntegerOverflow);
            }
            value += u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        if value > MAX_INTEGER {
            return Err(HpackError::IntegerOverflow);
        }
    }
    *buf = rest;
    usize::try_from(value).map_err(|_| HpackError::IntegerOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::hpack::{DEFAULT_TABLE_SIZE, encode, hex};

    const NO_LIMIT: usize = usize::MAX;

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|&(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// Decodes `block`, collecting the fields.
    fn decode(d: &mut Decoder, block: &[u8]) -> Result<Vec<(String, String)>, HpackError> {
        let mut fields = vec![];
        d.decode(block, |n, v| {
            fields.push((
                String::from_utf8(n.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            ));
        })?;
        Ok(fields)
    }

    /// The dynamic table, newest entry first.
    fn table(d: &Decoder) -> Vec<(String, String)> {
        (0..d.table_len())
            .map(|i| {
                let (n, v) = d.table.get(i).unwrap();
                (
                    String::from_utf8(n.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    /// One example of RFC 7541 Appendix C: a block, the fields it decodes
    /// to, and the dynamic table after it (newest first) with its size.
    struct Example {
        block: &'static str,
        fields: &'static [(&'static str, &'static str)],
        table: &'static [(&'static str, &'static str)],
        size: usize,
    }

    /// Decodes the examples in turn on one decoder.
    fn run(max_table_size: usize, examples: &[Example]) {
        let mut d = Decoder::new(max_table_size, NO_LIMIT);
        for (i, e) in examples.iter().enumerate() {
            let fields = decode(&mut d, &hex(e.block));
            assert_eq!(fields, Ok(owned(e.fields)), "example {}", i + 1);
            assert_eq!(table(&d), owned(e.table), "example {}", i + 1);
            assert_eq!(d.table_size(), e.size, "example {}", i + 1);
        }
    }

    #[test]
    fn c2_1_literal_with_indexing() {
        run(
            DEFAULT_TABLE_SIZE,
            &[Example {
                block: "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
                fields: &[("custom-key", "custom-header")],
                table: &[("custom-key", "custom-header")],
                size: 55,
            }],
        );
    }

    #[test]
    fn c2_2_literal_without_indexing() {
        run(
            DEFAULT_TABLE_SIZE,
            &[Example {
                block: "040c 2f73 616d 706c 652f 7061 7468",
                fields: &[(":path", "/sample/path")],
                table: &[],
                size: 0,
            }],
        );
    }

    #[test]
    fn c2_3_literal_never_indexed() {
        run(
            DEFAULT_TABLE_SIZE,
            &[Example {
                block: "1008 7061 7373 776f 7264 0673 6563 7265 74",
                fields: &[("password", "secret")],
                table: &[],
                size: 0,
            }],
        );
    }

    #[test]
    fn c2_4_indexed_field() {
        run(
            DEFAULT_TABLE_SIZE,
            &[Example {
                block: "82",
                fields: &[(":method", "GET")],
                table: &[],
                size: 0,
            }],
        );
    }

    const REQUEST_1: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ];
    const REQUEST_2: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
        ("cache-control", "no-cache"),
    ];
    const REQUEST_3: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/index.html"),
        (":authority", "www.example.com"),
        ("custom-key", "custom-value"),
    ];
    const REQUEST_TABLES: [&[(&str, &str)]; 3] = [
        &[(":authority", "www.example.com")],
        &[
            ("cache-control", "no-cache"),
            (":authority", "www.example.com"),
        ],
        &[
            ("custom-key", "custom-value"),
            ("cache-control", "no-cache"),
            (":authority", "www.example.com"),
        ],
    ];

    #[test]
    fn c3_requests_without_huffman() {
        run(
            DEFAULT_TABLE_SIZE,
            &[
                Example {
                    block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                    fields: REQUEST_1,
                    table: REQUEST_TABLES[0],
                    size: 57,
                },
                Example {
                    block: "8286 84be 5808 6e6f 2d63 6163 6865",
                    fields: REQUEST_2,
                    table: REQUEST_TABLES[1],
                    size: 110,
                },
                Example {
                    block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 \
                            0c63 7573 746f 6d2d 7661 6c75 65",
                    fields: REQUEST_3,
                    table: REQUEST_TABLES[2],
                    size: 164,
                },
            ],
        );
    }

    #[test]
    fn c4_requests_with_huffman() {
        run(
            DEFAULT_TABLE_SIZE,
            &[
                Example {
                    block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
                    fields: REQUEST_1,
                    table: REQUEST_TABLES[0],
                    size: 57,
                },
                Example {
                    block: "8286 84be 5886 a8eb 1064 9cbf",
                    fields: REQUEST_2,
                    table: REQUEST_TABLES[1],
                    size: 110,
                },
                Example {
                    block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
                    fields: REQUEST_3,
                    table: REQUEST_TABLES[2],
                    size: 164,
                },
            ],
        );
    }

    const DATE_1: &str = "Mon, 21 Oct 2013 20:13:21 GMT";
    const DATE_2: &str = "Mon, 21 Oct 2013 20:13:22 GMT";
    const COOKIE: &str = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
    const LOCATION: &str = "https://www.example.com";
    const RESPONSE_1: &[(&str, &str)] = &[
        (":status", "302"),
        ("cache-control", "private"),
        ("date", DATE_1),
        ("location", LOCATION),
    ];
    const RESPONSE_2: &[(&str, &str)] = &[
        (":status", "307"),
        ("cache-control", "private"),
        ("date", DATE_1),
        ("location", LOCATION),
    ];
    const RESPONSE_3: &[(&str, &str)] = &[
        (":status", "200"),
        ("cache-control", "private"),
        ("date", DATE_2),
        ("location", LOCATION),
        ("content-encoding", "gzip"),
        ("set-cookie", COOKIE),
    ];
    const RESPONSE_TABLES: [&[(&str, &str)]; 3] = [
        &[
            ("location", LOCATION),
            ("date", DATE_1),
            ("cache-control", "private"),
            (":status", "302"),
        ],
        &[
            (":status", "307"),
            ("location", LOCATION),
            ("date", DATE_1),
            ("cache-control", "private"),
        ],
        &[
            ("set-cookie", COOKIE),
            ("content-encoding", "gzip"),
            ("date", DATE_2),
        ],
    ];

    #[test]
    fn c5_responses_without_huffman_evict() {
        run(
            256,
            &[
                Example {
                    block: "4803 3330 3258 0770 7269 7661 7465 611d \
                            4d6f 6e2c 2032 3120 4f63 7420 3230 3133 \
                            2032 303a 3133 3a32 3120 474d 546e 1768 \
                            7474 7073 3a2f 2f77 7777 2e65 7861 6d70 \
                            6c65 2e63 6f6d",
                    fields: RESPONSE_1,
                    table: RESPONSE_TABLES[0],
                    size: 222,
                },
                Example {
                    block: "4803 3330 37c1 c0bf",
                    fields: RESPONSE_2,
                    table: RESPONSE_TABLES[1],
                    size: 222,
                },
                Example {
                    block: "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 \
                            3230 3133 2032 303a 3133 3a32 3220 474d \
                            54c0 5a04 677a 6970 7738 666f 6f3d 4153 \
                            444a 4b48 514b 425a 584f 5157 454f 5049 \
                            5541 5851 5745 4f49 553b 206d 6178 2d61 \
                            6765 3d33 3630 303b 2076 6572 7369 6f6e \
                            3d31",
                    fields: RESPONSE_3,
                    table: RESPONSE_TABLES[2],
                    size: 215,
                },
            ],
        );
    }

    #[test]
    fn c6_responses_with_huffman_evict() {
        run(
            256,
            &[
                Example {
                    block: "4882 6402 5885 aec3 771a 4b61 96d0 7abe \
                            9410 54d4 44a8 2005 9504 0b81 66e0 82a6 \
                            2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 \
                            e9ae 82ae 43d3",
                    fields: RESPONSE_1,
                    table: RESPONSE_TABLES[0],
                    size: 222,
                },
                Example {
                    block: "4883 640e ffc1 c0bf",
                    fields: RESPONSE_2,
                    table: RESPONSE_TABLES[1],
                    size: 222,
                },
                Example {
                    block: "88c1 6196 d07a be94 1054 d444 a820 0595 \
                            040b 8166 e084 a62d 1bff c05a 839b d9ab \
                            77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b \
                            3960 d5af 2708 7f36 72c1 ab27 0fb5 291f \
                            9587 3160 65c0 03ed 4ee5 b106 3d50 07",
                    fields: RESPONSE_3,
                    table: RESPONSE_TABLES[2],
                    size: 215,
                },
            ],
        );
    }

    #[test]
    fn c1_integers() {
        // C.1.1: 10 on a 5-bit prefix; C.1.2: 1337 on a 5-bit prefix.
        for (bytes, prefix, value) in [(&[0x0a][..], 5, 10), (&[0x1f, 0x9a, 0x0a][..], 5, 1337)] {
            let mut buf = bytes;
            assert_eq!(integer(&mut buf, prefix), Ok(value));
            assert!(buf.is_empty());
            let mut out = vec![];
            encode::integer(value, 0, prefix, &mut out);
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn integers_round_trip_at_every_prefix() {
        let values = [0, 1, 14, 15, 16, 30, 31, 62, 63, 126, 127, 128, 255, 16_383];
        let more = [16_384, 1 << 21, (1 << 28) + 5, u32::MAX as usize];
        for prefix in 1..=7 {
            for &value in values.iter().chain(&more) {
                let mut out = vec![];
                encode::integer(value, 0, prefix, &mut out);
                out.push(0xaa);
                let mut buf = &out[..];
                assert_eq!(integer(&mut buf, prefix), Ok(value), "{value} / {prefix}");
                assert_eq!(buf, [0xaa], "consumed exactly");
            }
        }
    }

    #[test]
    fn integer_errors() {
        let cases: [(&[u8], HpackError); 6] = [
            (&[], HpackError::Truncated),
            (&[0x1f], HpackError::Truncated),
            (&[0x1f, 0x80], HpackError::Truncated),
            (
                &[0x1f, 0xff, 0xff, 0xff, 0xff, 0x0f],
                HpackError::IntegerOverflow,
            ),
            (
                &[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
                HpackError::IntegerOverflow,
            ),
            (
                &[0x1f, 0xe1, 0xff, 0xff, 0xff, 0x0f],
                HpackError::IntegerOverflow,
            ),
        ];
        for (bytes, e) in cases {
            let mut buf = bytes;
            assert_eq!(integer(&mut buf, 5), Err(e), "{bytes:x?}");
        }
        // The largest accepted: 2^32 - 1.
        let mut buf = &[0x1f, 0xe0, 0xff, 0xff, 0xff, 0x0f][..];
        assert_eq!(integer(&mut buf, 5), Ok(u32::MAX as usize));
    }

    #[test]
    fn malformed_blocks() {
        let cases: &[(&str, &[u8], HpackError)] = &[
            ("truncated index", &[0xff], HpackError::Truncated),
            (
                "truncated continuation",
                &[0xff, 0x80],
                HpackError::Truncated,
            ),
            (
                "index overflow",
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                HpackError::IntegerOverflow,
            ),
            ("index 0", &[0x80], HpackError::ZeroIndex),
            (
                "index past the empty dynamic table",
                &[0xbe],
                HpackError::UnknownIndex,
            ),
            (
                "name index past the tables",
                b"\x7e\x01x",
                HpackError::UnknownIndex,
            ),
            (
                "name index past, no indexing",
                b"\x0f\x2f\x01x",
                HpackError::UnknownIndex,
            ),
            (
                "huge index",
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0x0e],
                HpackError::UnknownIndex,
            ),
            ("no value", &[0x04], HpackError::Truncated),
            ("short name", b"\x40\x05abc", HpackError::Truncated),
            ("short value", b"\x04\x05abc", HpackError::Truncated),
            (
                "huge string length",
                b"\x04\x7f\xff\xff\xff\x0f",
                HpackError::Truncated,
            ),
            (
                "huffman padding not ones",
                &[0x04, 0x81, 0x18],
                HpackError::HuffmanPadding,
            ),
            (
                "huffman padding too long",
                &[0x04, 0x82, 0x1f, 0xff],
                HpackError::HuffmanPadding,
            ),
            (
                "huffman eos",
                &[0x04, 0x84, 0xff, 0xff, 0xff, 0xff],
                HpackError::HuffmanEos,
            ),
            (
                "huffman name",
                &[0x00, 0x81, 0x00, 0x00],
                HpackError::HuffmanPadding,
            ),
            (
                "size update above the limit",
                &[0x3f, 0xe2, 0x1f],
                HpackError::TableSizeTooLarge,
            ),
            (
                "size update after a field",
                &[0x82, 0x20],
                HpackError::SizeUpdateMisplaced,
            ),
            ("truncated size update", &[0x3f], HpackError::Truncated),
            (
                "error after good fields",
                b"\x82\x84\x80",
                HpackError::ZeroIndex,
            ),
        ];
        for &(name, block, e) in cases {
            let mut d = Decoder::new(DEFAULT_TABLE_SIZE, NO_LIMIT);
            assert_eq!(decode(&mut d, block), Err(e), "{name}");
        }
    }

    #[test]
    fn size_updates_at_the_start_of_a_block() {
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE, NO_LIMIT);
        decode(&mut d, b"\x40\x01a\x01b").unwrap();
        assert_eq!(d.table_size(), 34);
        // Two updates, then a field: to 0 (emptying the table), then 4096.
        let block = [&[0x20, 0x3f, 0xe1, 0x1f][..], b"\x40\x01c\x01d"].concat();
        assert_eq!(decode(&mut d, &block), Ok(owned(&[("c", "d")])));
        assert_eq!(table(&d), owned(&[("c", "d")]));
        // A size update alone is a valid block: to 34, which keeps the
        // entry of 34, then to 33, which evicts it.
        assert_eq!(decode(&mut d, &[0x3f, 0x03]), Ok(vec![]));
        assert_eq!(table(&d), owned(&[("c", "d")]));
        assert_eq!(decode(&mut d, &[0x3f, 0x02]), Ok(vec![]));
        assert_eq!(table(&d), owned(&[]));
        assert_eq!(d.table.max_size(), 33);
    }

    #[test]
    fn a_lowered_limit_requires_a_size_update() {
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE, NO_LIMIT);
        decode(&mut d, b"\x40\x01a\x01b").unwrap();
        d.set_max_table_size(100);
        assert_eq!(decode(&mut d, b"\x82"), Err(HpackError::SizeUpdateMissing));
        assert_eq!(decode(&mut d, b""), Err(HpackError::SizeUpdateMissing));
        // 101 is above the new limit; 100 is the limit.
        assert_eq!(
            decode(&mut d, &[0x3f, 0x46, 0x82]),
            Err(HpackError::TableSizeTooLarge)
        );
        assert_eq!(
            decode(&mut d, &[0x3f, 0x45, 0x82]),
            Ok(owned(&[(":method", "GET")]))
        );
        assert_eq!(decode(&mut d, b"\x82"), Ok(owned(&[(":method", "GET")])));
        assert_eq!(table(&d), owned(&[("a", "b")]));
        // Raising the limit requires nothing.
        d.set_max_table_size(8192);
        assert_eq!(decode(&mut d, b"\x82"), Ok(owned(&[(":method", "GET")])));
        assert_eq!(decode(&mut d, &[0x3f, 0xe1, 0x3f]), Ok(vec![]));
        assert_eq!(d.table.max_size(), 8192);
    }

    #[test]
    fn a_literal_may_name_the_entry_its_insertion_evicts() {
        // Room for one entry of 34 and not two (RFC 7541 §4.4).
        let mut d = Decoder::new(70, NO_LIMIT);
        decode(&mut d, b"\x40\x01n\x01v").unwrap();
        assert_eq!(
            decode(&mut d, b"\x7e\x05wwwww"),
            Ok(owned(&[("n", "wwwww")]))
        );
        assert_eq!(table(&d), owned(&[("n", "wwwww")]));
        assert_eq!(d.table_size(), 38);
    }

    #[test]
    fn a_field_larger_than_the_table_empties_it_and_is_still_decoded() {
        let mut d = Decoder::new(40, NO_LIMIT);
        decode(&mut d, b"\x40\x01a\x01b").unwrap();
        let fields = decode(&mut d, b"\x40\x05large\x05value").unwrap();
        assert_eq!(fields, owned(&[("large", "value")]));
        assert_eq!((d.table_len(), d.table_size()), (0, 0));
    }

    #[test]
    fn header_list_limit() {
        let block = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
        // 42 + 43 + 38 + 57 = 180.
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE, 180);
        assert_eq!(decode(&mut d, &block), Ok(owned(REQUEST_1)));
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE, 179);
        let mut fields = vec![];
        let r = d.decode(&block, |n, _| fields.push(n.to_vec()));
        assert_eq!(r, Err(HpackError::HeaderListTooLarge));
        assert_eq!(fields, [&b":method"[..], b":scheme", b":path"]);
        // The block was decoded to its end: the table is the RFC's.
        assert_eq!(table(&d), owned(REQUEST_TABLES[0]));
        assert_eq!(d.table_size(), 57);
        let second = hex("8286 84be 5808 6e6f 2d63 6163 6865");
        let mut d2 = Decoder::new(DEFAULT_TABLE_SIZE, 1000);
        d2.decode(&block, |_, _| {}).unwrap();
        d.max_list_size = 1000;
        assert_eq!(decode(&mut d, &second), decode(&mut d2, &second));
    }

    #[test]
    fn encoded_requests_decode_to_their_fields() {
        let mut block = vec![];
        encode::encode_request(
            "GET",
            "https",
            "example.com",
            "/",
            &[("accept", "*/*")],
            &mut block,
        );
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE, NO_LIMIT);
        let fields = decode(&mut d, &block).unwrap();
        assert_eq!(
            fields,
            owned(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "example.com"),
                (":path", "/"),
                ("accept", "*/*"),
            ])
        );
        assert_eq!(d.table_len(), 0, "nothing indexed");
    }

    #[test]
    fn scratch_is_reused_across_blocks() {
        let blocks = [
            hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
            hex("8286 84be 5886 a8eb 1064 9cbf"),
        ];
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE, NO_LIMIT);
        d.decode(&blocks[0], |_, _| {}).unwrap();
        let capacity = d.scratch.capacity();
        for _ in 0..100 {
            d.decode(&blocks[1], |_, _| {}).unwrap();
        }
        assert_eq!(d.scratch.capacity(), capacity);
    }
}

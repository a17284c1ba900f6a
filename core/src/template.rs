//! Values that change from request to request (SPEC §10): `{{seq}}`,
//! `{{rand:A-B}}`, `{{uuid}}` and `{{row.NAME}}` in a URL, a header value or
//! a body.
//!
//! A text is parsed once into [`Piece`]s; rendering one for request *k*
//! appends to a buffer the caller reuses, so it allocates nothing. Every
//! value is a function of *k*, the run's seed and which placeholder of the
//! request it is, so a run (and each shard of it) is reproducible.

use std::fmt;
use std::io::Write as _;
use std::sync::Arc;

use crate::mix::hash;

/// One part of a templated text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Bytes written as they are.
    Literal(Box<[u8]>),
    /// `{{seq}}`: the request's index in the whole run.
    Seq,
    /// `{{rand:A-B}}`: an integer drawn uniformly from `lo..=hi`; `salt`
    /// tells this placeholder's draws from the request's others.
    Rand { lo: u64, hi: u64, salt: u64 },
    /// `{{uuid}}`: a version-4 UUID.
    Uuid { salt: u64 },
    /// `{{row.NAME}}`: this column of the request's data row.
    Row(usize),
}

/// A placeholder that cannot be rendered. The user's input error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// `{{` without a closing `}}`.
    Unclosed,
    /// A name that is none of the placeholders.
    Unknown(String),
    /// `{{rand:A-B}}` with bounds that are not whole numbers with A ≤ B.
    BadRange(String),
    /// `{{row.NAME}}` without `--data`, or with no such column.
    NoColumn(String),
    /// A data value that cannot stand where its placeholder is (a control
    /// character in a header value, whitespace in a URL).
    BadValue {
        /// The column.
        column: String,
        /// The data row, counted from 1 after the header row.
        row: usize,
    },
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unclosed => f.write_str("\"{{\" without a closing \"}}\""),
            Self::Unknown(name) => write!(
                f,
                "unknown placeholder {{{{{name}}}}}; expected {{{{seq}}}}, {{{{rand:A-B}}}}, {{{{uuid}}}} or {{{{row.NAME}}}}"
            ),
            Self::BadRange(r) => write!(
                f,
                "{{{{rand:{r}}}}}: expected two whole numbers A-B with A <= B"
            ),
            Self::NoColumn(c) => write!(
                f,
                "{{{{row.{c}}}}}: no column {c:?} in the --data file (or no --data given)"
            ),
            Self::BadValue { column, row } => write!(
                f,
                "column {column:?} of --data row {row} holds a control character or space, which cannot go into a URL or header"
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

/// Rows of values for `{{row.NAME}}`, from a CSV file (`--data`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Data {
    columns: Vec<String>,
    rows: Vec<Box<[Box<str>]>>,
    random: bool,
}

impl Data {
    /// A table with these column names; every row has one value per column.
    /// `random` draws each request's row (`--data-order random`) instead of
    /// taking row *k* mod *n*.
    pub fn new(columns: Vec<String>, rows: Vec<Vec<String>>, random: bool) -> Self {
        Self {
            columns,
            rows: rows
                .into_iter()
                .map(|r| r.into_iter().map(String::into_boxed_str).collect())
                .collect(),
            random,
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The row request `k` takes.
    fn row(&self, k: u64, seed: u64) -> Option<&[Box<str>]> {
        let n = self.rows.len() as u64;
        if n == 0 {
            return None;
        }
        let i = if self.random {
            ((u128::from(hash(seed, k, ROW_SALT)) * u128::from(n)) >> 64) as u64
        } else {
            k % n
        };
        self.rows.get(i as usize).map(|r| &r[..])
    }
}

/// The salt of a request's row draw, apart from its placeholders' salts.
const ROW_SALT: u64 = u64::MAX;

/// What a text's placeholders are rendered from: the request's index in the
/// whole run, the seed, and the data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Values<'a> {
    pub(crate) k: u64,
    pub(crate) seed: u64,
    pub(crate) row: Option<&'a [Box<str>]>,
}

impl<'a> Values<'a> {
    pub(crate) fn new(k: u64, seed: u64, data: Option<&'a Arc<Data>>) -> Self {
        Self {
            k,
            seed,
            row: data.and_then(|d| d.row(k, seed)),
        }
    }
}

/// Whether a text holds a placeholder (and so must be parsed).
pub(crate) fn is_templated(text: &[u8]) -> bool {
    text.windows(2).any(|w| w == b"{{")
}

/// Parses `text` into pieces. `salt` numbers the placeholders that draw
/// random values; it goes on from one text of a request to the next, so
/// each of them draws its own values.
pub(crate) fn parse(
    text: &[u8],
    data: Option<&Data>,
    salt: &mut u64,
) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = find(rest, b"{{") {
        if open > 0 {
            pieces.push(Piece::Literal(rest[..open].into()));
        }
        let after = &rest[open + 2..];
        let close = find(after, b"}}").ok_or(TemplateError::Unclosed)?;
        let name = String::from_utf8_lossy(&after[..close]);
        pieces.push(placeholder(name.trim(), data, salt)?);
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest.into()));
    }
    Ok(pieces)
}

fn placeholder(name: &str, data: Option<&Data>, salt: &mut u64) -> Result<Piece, TemplateError> {
    let mut next_salt = || {
        *salt += 1;
        *salt
    };
    if name == "seq" {
        Ok(Piece::Seq)
    } else if name == "uuid" {
        Ok(Piece::Uuid { salt: next_salt() })
    } else if let Some(range) = name.strip_prefix("rand:") {
        let bad = || TemplateError::BadRange(range.to_string());
        let (lo, hi) = range.split_once('-').ok_or_else(bad)?;
        let lo: u64 = lo.trim().parse().map_err(|_| bad())?;
        let hi: u64 = hi.trim().parse().map_err(|_| bad())?;
        if lo > hi {
            return Err(bad());
        }
        Ok(Piece::Rand {
            lo,
            hi,
            salt: next_salt(),
        })
    } else if let Some(column) = name.strip_prefix("row.") {
        data.and_then(|d| d.column(column))
            .map(Piece::Row)
            .ok_or_else(|| TemplateError::NoColumn(column.to_string()))
    } else {
        Err(TemplateError::Unknown(name.to_string()))
    }
}

/// Checks that every data value a head's pieces use can stand in a head:
/// no control character, and no space or tab where `in_target`.
pub(crate) fn check_values(
    pieces: &[Piece],
    data: Option<&Data>,
    in_target: bool,
) -> Result<(), TemplateError> {
    let Some(data) = data else { return Ok(()) };
    for piece in pieces {
        let Piece::Row(c) = piece else { continue };
        for (i, row) in data.rows.iter().enumerate() {
            let bad = row[*c]
                .bytes()
                .any(|b| b < b' ' && b != b'\t' || b == 0x7f || in_target && b <= b' ');
            if bad {
                return Err(TemplateError::BadValue {
                    column: data.columns[*c].clone(),
                    row: i + 1,
                });
            }
        }
    }
    Ok(())
}

/// Appends `pieces` rendered for `values` to `out`.
pub(crate) fn render(pieces: &[Piece], values: &Values<'_>, out: &mut Vec<u8>) {
    for piece in pieces {
        match piece {
            Piece::Literal(b) => out.extend_from_slice(b),
            Piece::Seq => push_u64(out, values.k),
            Piece::Rand { lo, hi, salt } => {
                let span = u128::from(hi - lo) + 1;
                let draw = (u128::from(hash(values.seed, values.k, *salt)) * span) >> 64;
                push_u64(out, lo + draw as u64);
            }
            Piece::Uuid { salt } => {
                let a = hash(values.seed, values.k, *salt);
                let b = hash(values.seed, values.k, salt ^ (1 << 63));
                push_uuid(out, a, b);
            }
            Piece::Row(c) => {
                if let Some(v) = values.row.and_then(|r| r.get(*c)) {
                    out.extend_from_slice(v.as_bytes());
                }
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn push_u64(out: &mut Vec<u8>, n: u64) {
    // ok: writing into a Vec cannot fail.
    let _ = write!(out, "{n}");
}

/// A version-4, variant-1 UUID (RFC 9562 §5.4) from 128 random bits.
fn push_uuid(out: &mut Vec<u8>, a: u64, b: u64) {
    let a = (a & !0xF000) | 0x4000; // version 4 in bits 48..52
    let b = (b & !(0xC << 60)) | (0x8 << 60); // variant 0b10
    let bytes: [u8; 16] = ((u128::from(a) << 64) | u128::from(b)).to_be_bytes();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 15)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(text: &str, k: u64, seed: u64, data: Option<&Arc<Data>>) -> String {
        let mut salt = 0;
        let pieces = parse(text.as_bytes(), data.map(|d| &**d), &mut salt).unwrap();
        let mut out = Vec::new();
        render(&pieces, &Values::new(k, seed, data), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn placeholders_render_from_the_index_and_seed() {
        assert_eq!(rendered("/item/{{seq}}?x=1", 42, 0, None), "/item/42?x=1");
        assert_eq!(rendered("{{ seq }}", 7, 0, None), "7");
        let r: u64 = rendered("{{rand:10-20}}", 3, 9, None).parse().unwrap();
        assert!((10..=20).contains(&r));
        assert_eq!(rendered("{{rand:5-5}}", 3, 9, None), "5");
        // Reproducible, and different placeholders draw differently.
        let twice = rendered("{{rand:0-1000000}} {{rand:0-1000000}}", 3, 9, None);
        assert_eq!(
            twice,
            rendered("{{rand:0-1000000}} {{rand:0-1000000}}", 3, 9, None)
        );
        let (a, b) = twice.split_once(' ').unwrap();
        assert_ne!(a, b);
        assert_ne!(
            twice,
            rendered("{{rand:0-1000000}} {{rand:0-1000000}}", 3, 10, None)
        );
    }

    #[test]
    fn draws_cover_the_range_evenly() {
        let mut seen = [0u32; 4];
        for k in 0..40_000 {
            let v: usize = rendered("{{rand:1-4}}", k, 1, None).parse().unwrap();
            seen[v - 1] += 1;
        }
        assert!(
            seen.iter().all(|&n| (9_500..10_500).contains(&n)),
            "{seen:?}"
        );
    }

    #[test]
    fn uuids_are_version_4() {
        let u = rendered("{{uuid}}", 1, 2, None);
        assert_eq!(u.len(), 36);
        let parts: Vec<_> = u.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(u, rendered("{{uuid}}", 2, 2, None));
    }

    #[test]
    fn rows_go_round_or_are_drawn() {
        let rows = vec![vec!["a".into(), "1".into()], vec!["b".into(), "2".into()]];
        let data = Arc::new(Data::new(
            vec!["name".into(), "id".into()],
            rows.clone(),
            false,
        ));
        assert_eq!(
            rendered("{{row.name}}={{row.id}}", 0, 0, Some(&data)),
            "a=1"
        );
        assert_eq!(
            rendered("{{row.name}}={{row.id}}", 3, 0, Some(&data)),
            "b=2"
        );
        let random = Arc::new(Data::new(vec!["name".into(), "id".into()], rows, true));
        let drawn: Vec<_> = (0..64)
            .map(|k| rendered("{{row.name}}{{row.id}}", k, 5, Some(&random)))
            .collect();
        assert!(drawn.iter().all(|r| r == "a1" || r == "b2"));
        assert!(drawn.iter().any(|r| r == "a1") && drawn.iter().any(|r| r == "b2"));
    }

    #[test]
    fn refusals() {
        let mut salt = 0;
        let mut err = |t: &str| parse(t.as_bytes(), None, &mut salt).unwrap_err();
        assert_eq!(err("/x/{{seq"), TemplateError::Unclosed);
        assert_eq!(err("{{nope}}"), TemplateError::Unknown("nope".into()));
        assert_eq!(err("{{rand:9-1}}"), TemplateError::BadRange("9-1".into()));
        assert_eq!(err("{{rand:a-b}}"), TemplateError::BadRange("a-b".into()));
        assert_eq!(err("{{row.id}}"), TemplateError::NoColumn("id".into()));
        for e in [TemplateError::Unclosed, TemplateError::Unknown("x".into())] {
            assert!(!e.to_string().contains('\n'));
        }
        let data = Data::new(
            vec!["v".into()],
            vec![vec!["ok".into()], vec!["a b".into()]],
            false,
        );
        let pieces = parse(b"/{{row.v}}", Some(&data), &mut 0).unwrap();
        assert!(check_values(&pieces, Some(&data), false).is_ok());
        assert_eq!(
            check_values(&pieces, Some(&data), true).unwrap_err(),
            TemplateError::BadValue {
                column: "v".into(),
                row: 2
            }
        );
    }

    #[test]
    fn plain_text_is_one_literal() {
        assert!(!is_templated(b"/plain/{path}"));
        assert!(is_templated(b"/x/{{seq}}"));
        let pieces = parse(b"/plain", None, &mut 0).unwrap();
        assert_eq!(pieces, [Piece::Literal(b"/plain".as_slice().into())]);
    }
}

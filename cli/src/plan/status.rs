//! Sets of HTTP statuses, as `--expect-status` and a target's
//! `expect_status` name them (SPEC §10): `200,201,204`, `2xx`, `2xx,304`.

use std::fmt;

use crate::error::{UsageError, usage};

/// What a status list accepts, for refusals.
const ACCEPTED: &str =
    "expected a status 100-999 or a class like 2xx, comma-separated (200,204 or 2xx,304)";

/// A set of statuses, kept as sorted, merged, inclusive ranges: `2xx,304`
/// is `[(200, 299), (304, 304)]`. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusSet {
    ranges: Vec<(u16, u16)>,
    /// The items as given, without spaces: what reports show.
    text: String,
}

impl StatusSet {
    /// Parses a comma-separated list. `what` names where the list came
    /// from (`--expect-status`, or a targets file and line) and starts the
    /// refusal.
    pub(crate) fn parse(what: &str, list: &str) -> Result<Self, UsageError> {
        Self::from_items(what, list.split(','))
    }

    /// The set of all `items`, each a status or a class (`2xx`). A list
    /// with no items, or an empty item, is refused.
    pub(crate) fn from_items<'a>(
        what: &str,
        items: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, UsageError> {
        let mut ranges = Vec::new();
        let mut shown = Vec::new();
        for item in items {
            let item = item.trim();
            let Some(range) = item_range(item) else {
                let why = if item.is_empty() {
                    "an empty item".to_string()
                } else {
                    format!("{item:?} is not a status")
                };
                return usage(format!("{what}: {why}; {ACCEPTED}"));
            };
            ranges.push(range);
            shown.push(item.to_ascii_lowercase());
        }
        if ranges.is_empty() {
            return usage(format!("{what}: no statuses; {ACCEPTED}"));
        }
        ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Ok(Self {
            ranges: merged,
            text: shown.join(","),
        })
    }

    /// The status is in the set.
    #[cfg(test)]
    pub(crate) fn contains(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&status))
    }

    /// The set as sorted, disjoint, non-adjacent inclusive ranges.
    pub(crate) fn ranges(&self) -> Vec<(u16, u16)> {
        self.ranges.clone()
    }
}

/// The list as given, without spaces, classes in lowercase: `2xx,304`.
impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `200` → `(200, 200)`, `2xx` → `(200, 299)`; `None` for anything else.
fn item_range(item: &str) -> Option<(u16, u16)> {
    let b = item.as_bytes();
    if b.len() != 3 || !(b'1'..=b'9').contains(&b[0]) {
        return None;
    }
    let class = u16::from(b[0] - b'0') * 100;
    if b[1..].eq_ignore_ascii_case(b"xx") {
        return Some((class, class + 99));
    }
    if b[1..].iter().all(u8::is_ascii_digit) {
        let status = class + u16::from(b[1] - b'0') * 10 + u16::from(b[2] - b'0');
        return Some((status, status));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> StatusSet {
        StatusSet::parse("--expect-status", s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        StatusSet::parse("--expect-status", s).unwrap_err().0
    }

    #[test]
    fn single_statuses() {
        let s = set("200,201,204");
        assert_eq!(s.ranges(), [(200, 201), (204, 204)]);
        assert!(s.contains(200) && s.contains(201) && s.contains(204));
        assert!(!s.contains(202) && !s.contains(203) && !s.contains(199));
        assert_eq!(set("404").ranges(), [(404, 404)]);
        assert_eq!(set("100").ranges(), [(100, 100)]);
        assert_eq!(set("999").ranges(), [(999, 999)]);
    }

    #[test]
    fn classes() {
        let s = set("2xx");
        assert_eq!(s.ranges(), [(200, 299)]);
        assert!(s.contains(200) && s.contains(250) && s.contains(299));
        assert!(!s.contains(199) && !s.contains(300));
        assert_eq!(set("2XX").ranges(), [(200, 299)]);
        assert_eq!(set("1xx").ranges(), [(100, 199)]);
        assert_eq!(set("9xx").ranges(), [(900, 999)]);
    }

    #[test]
    fn mixed_lists_are_sorted_and_merged() {
        assert_eq!(set("2xx,304").ranges(), [(200, 299), (304, 304)]);
        assert_eq!(set("304,2xx").ranges(), [(200, 299), (304, 304)]);
        // Adjacent and overlapping items join into one range.
        assert_eq!(set("2xx,3xx").ranges(), [(200, 399)]);
        assert_eq!(set("299,2xx,300").ranges(), [(200, 300)]);
        assert_eq!(set("201,200,200").ranges(), [(200, 201)]);
        assert_eq!(set("199,2xx").ranges(), [(199, 299)]);
    }

    #[test]
    fn spaces_around_items_are_ignored() {
        assert_eq!(set(" 200 , 2xx ").ranges(), [(200, 299)]);
        assert_eq!(set(" 200 , 2XX ").to_string(), "200,2xx");
    }

    #[test]
    fn contains_agrees_with_ranges_everywhere() {
        let s = set("1xx,204,3xx,404,5xx");
        for status in 0..=1000u16 {
            let in_ranges = s
                .ranges()
                .iter()
                .any(|&(lo, hi)| lo <= status && status <= hi);
            assert_eq!(s.contains(status), in_ranges, "{status}");
        }
        assert!(!s.contains(0) && !s.contains(1000) && !s.contains(u16::MAX));
    }

    #[test]
    fn from_items_takes_a_list() {
        let s = StatusSet::from_items("x", ["200", "3xx"]).unwrap();
        assert_eq!(s.ranges(), [(200, 200), (300, 399)]);
        assert_eq!(s.to_string(), "200,3xx");
    }

    #[test]
    fn refusals_name_the_flag_and_what_is_accepted() {
        assert_eq!(
            err("abc"),
            "--expect-status: \"abc\" is not a status; expected a status 100-999 \
             or a class like 2xx, comma-separated (200,204 or 2xx,304)"
        );
        for bad in [
            "99", "099", "1000", "0xx", "2x", "2xxx", "20x", "x00", "+20", "2 0", "-200", "2.0",
            "200-299", "²00",
        ] {
            assert!(
                err(bad).contains(&format!("{bad:?} is not a status")),
                "{bad}"
            );
        }
    }

    #[test]
    fn empty_lists_and_items_are_refused() {
        for bad in ["", " ", "200,", ",200", "200,,201"] {
            assert!(err(bad).contains("an empty item"), "{bad:?}: {}", err(bad));
        }
        let none = StatusSet::from_items("--expect-status", []).unwrap_err().0;
        assert!(
            none.starts_with("--expect-status: no statuses; expected"),
            "{none}"
        );
    }

    #[test]
    fn refusals_are_one_line() {
        for bad in ["abc", "", "2x\nx"] {
            assert!(!err(bad).contains('\n'), "{bad:?}");
        }
    }
}

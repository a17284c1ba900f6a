//! HPACK's two tables (RFC 7541 §2.3): the static table of Appendix A and
//! the decoder's dynamic table, which index together as one address space.

use std::collections::VecDeque;

/// The static table (RFC 7541 Appendix A): index 1 is `STATIC[0]`.
pub(crate) const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// What an entry adds to the table's size beyond its name and value
/// (RFC 7541 §4.1).
pub(crate) const ENTRY_OVERHEAD: usize = 32;

/// The dynamic table: a FIFO of fields, newest first in index order, whose
/// size (name + value + 32 per entry) never exceeds `max_size`.
///
/// The names and values live back to back in one buffer, oldest first, so
/// an insertion copies two slices and allocates only while the buffer
/// grows towards its bound. Evicted bytes stay at the buffer's front until
/// they outnumber the live ones, then one move drops them: the buffer never
/// holds more than about twice `max_size`.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// The entries' names and values, from the oldest entry's name at
    /// `entries[0].at`, after `dead` evicted bytes.
    bytes: Vec<u8>,
    /// Each entry, oldest first.
    entries: VecDeque<Entry>,
    /// Evicted bytes at the front of `bytes`.
    dead: usize,
    /// The table's size as RFC 7541 §4.1 counts it.
    size: usize,
    /// The size the encoder last set with a size update (§6.3).
    max_size: usize,
}

/// Where one entry's name and value are in [`Table::bytes`].
#[derive(Clone, Copy, Debug)]
struct Entry {
    at: usize,
    name: usize,
    value: usize,
}

impl Entry {
    fn size(self) -> usize {
        self.name + self.value + ENTRY_OVERHEAD
    }
}

impl Table {
    /// An empty table whose size may reach `max_size`.
    pub(crate) fn new(max_size: usize) -> Self {
        Self {
            max_size,
            ..Self::default()
        }
    }

    /// The table's size as RFC 7541 §4.1 counts it.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The most the table's size may reach.
    pub(crate) fn max_size(&self) -> usize {
        self.max_size
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry at 0-based position `i`, newest first: HPACK index
    /// `STATIC.len() + 1 + i`.
    pub(crate) fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let e = *self
            .entries
            .get(self.entries.len().checked_sub(1)?.checked_sub(i)?)?;
        let name = self.bytes.get(e.at..e.at + e.name)?;
        let value = self.bytes.get(e.at + e.name..e.at + e.name + e.value)?;
        Some((name, value))
    }

    /// A size update (RFC 7541 §4.3): evicts until the table fits.
    pub(crate) fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// Adds an entry as the newest, evicting the oldest ones to make room;
    /// an entry larger than the whole table empties it and is not added
    /// (RFC 7541 §4.4).
    pub(crate) fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        if size > self.max_size {
            self.evict_to(0);
            return;
        }
        self.evict_to(self.max_size - size);
        let at = self.bytes.len();
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(value);
        self.entries.push_back(Entry {
            at,
            name: name.len(),
            value: value.len(),
        });
        self.size += size;
    }

    /// Evicts the oldest entries until the size is at most `target`.
    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            let Some(e) = self.entries.pop_front() else {
                break;
            };
            self.size -= e.size();
            self.dead = e.at + e.name + e.value;
        }
        if self.entries.is_empty() {
            self.bytes.clear();
            self.dead = 0;
        } else if self.dead > self.bytes.len() / 2 {
            self.bytes.drain(..self.dead);
            for e in &mut self.entries {
                e.at -= self.dead;
            }
            self.dead = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(t: &Table) -> Vec<(String, String)> {
        (0..t.len())
            .map(|i| {
                let (n, v) = t.get(i).unwrap();
                (
                    String::from_utf8(n.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|&(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn static_table_spot_checks() {
        assert_eq!(STATIC[0], (":authority", ""));
        assert_eq!(STATIC[1], (":method", "GET"));
        assert_eq!(STATIC[6], (":scheme", "https"));
        assert_eq!(STATIC[7], (":status", "200"));
        assert_eq!(STATIC[27], ("content-length", ""));
        assert_eq!(STATIC[60], ("www-authenticate", ""));
    }

    #[test]
    fn newest_entry_is_first_and_oldest_is_evicted() {
        let mut t = Table::new(3 * (ENTRY_OVERHEAD + 2));
        for (n, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
            t.insert(n.as_bytes(), v.as_bytes());
        }
        assert_eq!(entries(&t), pairs(&[("c", "3"), ("b", "2"), ("a", "1")]));
        assert_eq!(t.size(), 3 * 34);
        t.insert(b"d", b"4");
        assert_eq!(entries(&t), pairs(&[("d", "4"), ("c", "3"), ("b", "2")]));
        assert_eq!(t.get(3), None);
        assert_eq!(t.get(usize::MAX), None);
    }

    #[test]
    fn an_entry_larger_than_the_table_empties_it() {
        let mut t = Table::new(40);
        t.insert(b"a", b"1");
        t.insert(b"long-name", b"long-value");
        assert_eq!(t.len(), 0);
        assert_eq!(t.size(), 0);
        // An entry exactly the table's size fits.
        t.insert(b"abcd", b"efgh");
        assert_eq!(entries(&t), pairs(&[("abcd", "efgh")]));
        assert_eq!(t.size(), 40);
    }

    #[test]
    fn size_update_evicts_and_zero_empties() {
        let mut t = Table::new(4096);
        t.insert(b"a", b"1");
        t.insert(b"b", b"2");
        t.set_max_size(34);
        assert_eq!(entries(&t), pairs(&[("b", "2")]));
        t.set_max_size(0);
        assert_eq!(t.len(), 0);
        t.insert(b"c", b"3");
        assert_eq!(t.len(), 0, "nothing fits a table of size 0");
        t.set_max_size(100);
        t.insert(b"c", b"3");
        assert_eq!(entries(&t), pairs(&[("c", "3")]));
    }

    #[test]
    fn many_insertions_keep_the_buffer_bounded() {
        let mut t = Table::new(256);
        for i in 0..10_000u32 {
            let v = i.to_string();
            t.insert(b"x-counter", v.as_bytes());
            assert!(t.size() <= 256);
            assert!(t.bytes.len() <= 2 * 256, "{}", t.bytes.len());
            assert_eq!(t.get(0).unwrap().1, v.as_bytes());
        }
        let newest: Vec<_> = entries(&t).into_iter().map(|(_, v)| v).collect();
        let expected: Vec<_> = (0..newest.len()).map(|k| (9999 - k).to_string()).collect();
        assert_eq!(newest, expected);
    }
}

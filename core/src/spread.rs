//! A second's latencies, kept small: the values and counts of a histogram
//! of two significant digits, as varint-encoded deltas. An hour of seconds
//! costs a few megabytes at most, where histograms kept whole would cost
//! a hundred; saved results (format 2) carry them, so a merged timeline's
//! per-second percentiles are exact.

use hdrhistogram::Histogram;

/// Values and counts, ascending by value, each `value − previous value` and
/// `count` as LEB128 varints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spread(Vec<u8>);

impl Spread {
    /// What `h` recorded, at each value's highest equivalent.
    pub fn of(h: &Histogram<u64>) -> Self {
        Self::from_pairs(
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value())),
        )
    }

    /// From `(value, count)` pairs in ascending order of value; pairs with
    /// a count of 0 are left out.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut out = Vec::new();
        let mut last = 0;
        for (value, count) in pairs {
            if count == 0 {
                continue;
            }
            put(&mut out, value.saturating_sub(last));
            put(&mut out, count);
            last = value;
        }
        Self(out)
    }

    /// The `(value, count)` pairs, ascending.
    pub fn pairs(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut at = 0;
        let mut last = 0u64;
        std::iter::from_fn(move || {
            let delta = take(&self.0, &mut at)?;
            let count = take(&self.0, &mut at)?;
            last = last.saturating_add(delta);
            Some((last, count))
        })
    }

    /// Values counted.
    pub fn len(&self) -> u64 {
        self.pairs().map(|(_, n)| n).sum()
    }

    /// Nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at quantile `q` (0 to 1), as HDR histograms answer it:
    /// the lowest value whose cumulative count reaches `q` of all; 0 when
    /// empty.
    pub fn quantile(&self, q: f64) -> u64 {
        let total = self.len();
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        self.pairs()
            .find(|(_, n)| {
                seen += n;
                seen >= rank
            })
            .map_or(0, |(v, _)| v)
    }

    /// Both spreads' values together.
    pub fn merge(&self, other: &Self) -> Self {
        let (mut a, mut b) = (self.pairs().peekable(), other.pairs().peekable());
        let mut pairs = Vec::new();
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&(x, n)), Some(&(y, m))) if x == y => {
                    a.next();
                    b.next();
                    (x, n + m)
                }
                (Some(&(x, _)), Some(&(y, _))) if x < y => a.next().unwrap_or_default(),
                (Some(_), None) => a.next().unwrap_or_default(),
                (_, Some(_)) => b.next().unwrap_or_default(),
                (None, None) => break,
            };
            pairs.push(next);
        }
        Self::from_pairs(pairs)
    }

    /// The encoded bytes (for a saved result).
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn take(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_as_the_histogram_answers_them_and_merges_that_add() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 2).unwrap();
        for v in [5u64, 5, 120, 3_300, 3_310, 99_000, 1_000_000_000] {
            h.record(v).unwrap();
        }
        let s = Spread::of(&h);
        assert_eq!(s.len(), 7);
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(s.quantile(q), h.value_at_quantile(q), "q={q}");
        }
        let mut g = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 2).unwrap();
        for v in [7u64, 3_300, 40_000] {
            g.record(v).unwrap();
        }
        let mut both = h.clone();
        both.add(&g).unwrap();
        let merged = Spread::of(&h).merge(&Spread::of(&g));
        assert_eq!(merged, Spread::of(&both));
        assert_eq!(merged.quantile(0.99), both.value_at_quantile(0.99));
        assert!(Spread::default().is_empty() && Spread::default().quantile(0.5) == 0);
        assert_eq!(Spread::from_pairs(merged.pairs()), merged);
    }
}

//! The requests of a run (SPEC §10): one or more targets, the mix that
//! picks one for each request index, the data their placeholders draw on,
//! and what their responses must show.

use std::sync::Arc;

use crate::mix::Mix;
use crate::request::RequestTemplate;
use crate::template::Data;

/// Status codes a target accepts: a set over 0..1000.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSet(Box<[u64; 16]>);

impl StatusSet {
    /// The codes in these inclusive ranges (`(200, 299)` for `2xx`).
    pub fn from_ranges(ranges: &[(u16, u16)]) -> Self {
        let mut bits = Box::new([0u64; 16]);
        for &(lo, hi) in ranges {
            for code in lo..=hi.min(999) {
                bits[usize::from(code / 64)] |= 1 << (code % 64);
            }
        }
        Self(bits)
    }

    /// `status` is in the set.
    pub fn contains(&self, status: u16) -> bool {
        status < 1000 && self.0[usize::from(status / 64)] & (1 << (status % 64)) != 0
    }
}

/// Text a response body must contain, searched for over the body as it
/// streams past, across read and chunk boundaries, without keeping the
/// body: Knuth–Morris–Pratt, whose whole state is how much of the text the
/// last bytes matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needle {
    text: Box<[u8]>,
    /// `fail[i]`: the length of the longest proper prefix of `text[..=i]`
    /// that is also its suffix.
    fail: Box<[u32]>,
}

impl Needle {
    /// A needle for `text`; `None` for empty text (every body contains it).
    pub fn new(text: &[u8]) -> Option<Self> {
        if text.is_empty() || text.len() > u32::MAX as usize {
            return None;
        }
        let mut fail = vec![0u32; text.len()];
        let mut k = 0usize;
        for i in 1..text.len() {
            while k > 0 && text[i] != text[k] {
                k = fail[k - 1] as usize;
            }
            if text[i] == text[k] {
                k += 1;
            }
            fail[i] = k as u32;
        }
        Some(Self {
            text: text.into(),
            fail: fail.into(),
        })
    }

    /// The text.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Goes on from `state` (0 for a new body) over `data`; the text was
    /// found once the state is its length, and it stays there.
    pub fn advance(&self, mut state: u32, data: &[u8]) -> u32 {
        let n = self.text.len() as u32;
        if state >= n {
            return n;
        }
        for &b in data {
            let mut k = state as usize;
            while k > 0 && b != self.text[k] {
                k = self.fail[k - 1] as usize;
            }
            if b == self.text[k] {
                k += 1;
            }
            state = k as u32;
            if state == n {
                return n;
            }
        }
        state
    }

    /// `state` says the text was found.
    pub fn found(&self, state: u32) -> bool {
        state as usize >= self.text.len()
    }
}

/// What a target's responses must show to count as completed (SPEC §10's
/// checks); a response that does not is a failure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expect {
    /// Only these statuses (`--expect-status`); any other is
    /// `unexpected_status`. `None`: any status completes.
    pub status: Option<StatusSet>,
    /// The body must contain this (`--expect-body`); else `body_mismatch`.
    pub body: Option<Needle>,
}

/// One request of the mix.
#[derive(Clone, Debug)]
pub struct Target {
    /// What to send.
    pub template: RequestTemplate,
    /// What its responses must show.
    pub expect: Expect,
}

/// Every request a run sends: the targets, which one each request index
/// takes, and the data and seed their placeholders draw on.
#[derive(Clone, Debug)]
pub struct Requests {
    pub(crate) targets: Arc<[Target]>,
    pub(crate) mix: Mix,
    pub(crate) seed: u64,
    pub(crate) data: Option<Arc<Data>>,
    /// Results are kept per target too ([`crate::Stats::targets`]).
    pub(crate) per_target: bool,
    /// Each target's origin (an index into the run's origins); all 0 when
    /// every request goes to one place.
    pub(crate) origins: Arc<[u16]>,
}

impl Requests {
    /// Targets picked by `mix` (which must have one weight per target),
    /// their placeholders rendered from `seed` and `data`, each with its own
    /// results.
    pub fn new(targets: Vec<Target>, mix: Mix, seed: u64, data: Option<Arc<Data>>) -> Self {
        debug_assert_eq!(targets.len(), mix.targets(), "one weight per target");
        let n = targets.len();
        Self {
            targets: targets.into(),
            mix,
            seed,
            data,
            per_target: true,
            origins: vec![0; n].into(),
        }
    }

    /// The same requests, target `i` going to origin `origins[i]` (SPEC
    /// §10's several origins): the driver connects each user to its
    /// origin ([`crate::Engine::origin_of`]), and the users are divided
    /// among the origins by the origins' share of the schedule, at least
    /// one each.
    pub fn with_origins(mut self, origins: Vec<u16>) -> Self {
        debug_assert_eq!(origins.len(), self.targets.len(), "one origin per target");
        self.origins = origins.into();
        self
    }

    /// How many origins the targets name.
    pub fn origin_count(&self) -> usize {
        self.origins
            .iter()
            .map(|&o| usize::from(o) + 1)
            .max()
            .unwrap_or(1)
    }

    /// `users` divided among the origins in proportion to their share of
    /// the schedule of an engine that takes the requests `phase + j·stride`
    /// (the whole run: stride 1, phase 0), each origin the engine sends to
    /// getting at least one while there are enough (largest remainders
    /// decide the rest). An origin none of its requests go to gets none.
    pub fn users_per_origin(&self, users: usize, stride: u64, phase: u64) -> Vec<usize> {
        let mut share = vec![0u64; self.origin_count()];
        if share.len() == 1 {
            return vec![users];
        }
        // One period of a smooth mix gives the shares exactly; a random
        // order's are estimated from as many draws.
        let period = self.mix.period(stride).min(1 << 20);
        for j in 0..period {
            let k = phase.wrapping_add(j.wrapping_mul(stride));
            share[usize::from(self.origins[self.mix.pick(k)])] += 1;
        }
        divide_users(users, &share)
    }

    /// One request for every index, its placeholders rendered from `seed`
    /// and `data`, with the run's results only (volley without
    /// `--targets`).
    pub fn single(target: Target, seed: u64, data: Option<Arc<Data>>) -> Self {
        Self {
            seed,
            data,
            ..Self::from(target)
        }
    }

    /// The targets, in order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The number of targets.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// No targets (never, for a run).
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// `users` divided among places in proportion to `shares`, each with a
/// share getting at least one while there are enough; the largest
/// remainders take the rest
/// (the first of equals first). How an engine divides its users among
/// origins, and how a report says what each origin got.
pub fn divide_users(users: usize, shares: &[u64]) -> Vec<usize> {
    let n = shares.len();
    let total: u64 = shares.iter().sum::<u64>().max(1);
    let mut out = vec![0usize; n];
    let mut left = users;
    for (slot, &share) in out.iter_mut().zip(shares) {
        if share > 0 && left > 0 {
            *slot = 1;
            left -= 1;
        }
    }
    let rest = left as u64;
    let mut given = 0u64;
    let mut remainders: Vec<(u64, usize)> = Vec::with_capacity(n);
    for (o, &s) in shares.iter().enumerate() {
        let exact = rest * s;
        out[o] += (exact / total) as usize;
        given += exact / total;
        remainders.push((exact % total, o));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, o) in remainders.iter().take((rest - given) as usize) {
        out[o] += 1;
    }
    out
}

impl From<Target> for Requests {
    /// One request for every index, with the run's results only.
    fn from(target: Target) -> Self {
        Self {
            targets: Arc::from([target]),
            mix: Mix::single(),
            seed: 0,
            data: None,
            per_target: false,
            origins: Arc::from([0u16].as_slice()),
        }
    }
}

impl From<RequestTemplate> for Requests {
    /// One request for every index, with no checks (volley without
    /// `--targets`).
    fn from(template: RequestTemplate) -> Self {
        Target {
            template,
            expect: Expect::default(),
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_sets() {
        let s = StatusSet::from_ranges(&[(200, 299), (304, 304)]);
        assert!(s.contains(200) && s.contains(299) && s.contains(304));
        assert!(!s.contains(199) && !s.contains(300) && !s.contains(404) && !s.contains(1000));
    }

    /// The needle is found however the body is split, and not where it is
    /// absent, including the partial-overlap cases that defeat a naive
    /// restart.
    #[test]
    fn needle_across_every_split() {
        for (text, body, found) in [
            ("abc", "xxabcxx", true),
            ("abc", "ababc", true),
            ("aab", "aaab", true),
            ("abab", "abaabab", true),
            ("abc", "abxabx", false),
            ("ok", "o", false),
            ("\"id\":7", "{\"id\":7}", true),
        ] {
            let needle = Needle::new(text.as_bytes()).unwrap();
            let body = body.as_bytes();
            for cut in 0..=body.len() {
                for cut2 in cut..=body.len() {
                    let mut st = needle.advance(0, &body[..cut]);
                    st = needle.advance(st, &body[cut..cut2]);
                    st = needle.advance(st, &body[cut2..]);
                    assert_eq!(
                        needle.found(st),
                        found,
                        "{text} in {body:?} cut {cut} {cut2}"
                    );
                }
            }
        }
        assert!(Needle::new(b"").is_none());
    }
}

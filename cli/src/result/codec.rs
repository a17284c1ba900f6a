//! How the document's typed fields look in JSON: durations as seconds,
//! histograms as base64 HdrHistogram V2 (deflate), error kinds by name,
//! status codes as string keys.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{
    Deserializer as HdrDeserializer, Serializer as _, V2DeflateSerializer,
};
use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use volley_core::stats::{Examples, new_histogram};
use volley_core::{ErrorKind, Stats, TargetStats};

/// A `Duration` as seconds (`f64`).
pub(crate) mod seconds {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs)
            .map_err(|_| de::Error::custom(format!("not a duration in seconds: {secs}")))
    }
}

/// A second's spread of values as a histogram of two significant digits
/// in HdrHistogram's compressed V2, base64 (the interval log's form).
pub(crate) mod spread {
    use super::*;
    use volley_core::Spread;

    pub(crate) fn serialize<S: Serializer>(s: &Option<Spread>, ser: S) -> Result<S::Ok, S::Error> {
        let Some(spread) = s else {
            return ser.serialize_none();
        };
        let mut h = Histogram::<u64>::new_with_bounds(1, volley_core::stats::HIGHEST_US, 2)
            .map_err(serde::ser::Error::custom)?;
        for (value, count) in spread.pairs() {
            h.record_n(value.clamp(1, volley_core::stats::HIGHEST_US), count)
                .map_err(serde::ser::Error::custom)?;
        }
        ser.serialize_str(&encode(&h))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Spread>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|e| de::Error::custom(format!("a second's histogram: not base64: {e}")))?;
        let h: Histogram<u64> = HdrDeserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| {
                de::Error::custom(format!(
                    "a second's histogram: not an HdrHistogram V2 encoding: {e}"
                ))
            })?;
        Ok(Some(Spread::of(&h)))
    }
}

/// An `f64` rounded to 0.1 when written.
pub(crate) fn round1<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(crate::format::round(*x, 1))
}

/// Error counts as `{kind: count}` with every kind, zeros included. A kind
/// this build does not know is refused unless its count is 0 (a later
/// version may list more kinds).
pub(crate) mod error_counts {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        counts: &[u64; ErrorKind::COUNT],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(ErrorKind::COUNT))?;
        for kind in ErrorKind::ALL {
            map.serialize_entry(kind.name(), &counts[kind.index()])?;
        }
        map.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<[u64; ErrorKind::COUNT], D::Error> {
        let mut counts = [0; ErrorKind::COUNT];
        for (name, n) in BTreeMap::<String, u64>::deserialize(d)? {
            match kind_named(&name) {
                Some(k) => counts[k.index()] = n,
                None if n == 0 => {}
                None => return Err(de::Error::custom(format!("unknown error kind {name:?}"))),
            }
        }
        Ok(counts)
    }
}

/// The first message of each error kind, as `{kind: message}` for the
/// kinds that occurred; unknown kinds are skipped.
pub(crate) mod examples {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(e: &Examples, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for kind in ErrorKind::ALL {
            if let Some(message) = &e.0[kind.index()] {
                map.serialize_entry(kind.name(), message)?;
            }
        }
        map.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Examples, D::Error> {
        let mut e = Examples::default();
        for (name, message) in BTreeMap::<String, String>::deserialize(d)? {
            if let Some(k) = kind_named(&name) {
                e.0[k.index()] = Some(message);
            }
        }
        Ok(e)
    }
}

fn kind_named(name: &str) -> Option<ErrorKind> {
    ErrorKind::ALL.into_iter().find(|k| k.name() == name)
}

/// Responses by status code, ascending, written `{"200": 9990}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Statuses(pub(crate) Vec<(u16, u64)>);

impl Statuses {
    pub(crate) fn of(s: &Stats) -> Self {
        Self(s.statuses().collect())
    }
}

impl Serialize for Statuses {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (code, n) in &self.0 {
            map.serialize_entry(&code.to_string(), n)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Statuses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        for (code, n) in BTreeMap::<String, u64>::deserialize(d)? {
            match code.parse::<u16>() {
                Ok(c) if (100..1000).contains(&c) => out.push((c, n)),
                _ => {
                    return Err(de::Error::custom(format!(
                        "status code {code:?} is not a 3-digit code"
                    )));
                }
            }
        }
        out.sort_unstable();
        Ok(Self(out))
    }
}

/// A histogram in HdrHistogram's V2 deflate encoding, base64: the form the
/// HdrHistogram libraries and their interval logs read.
pub(crate) fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // ok: serializing into a Vec fails only for histograms over 2^31 buckets.
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("a histogram of volley's bounds serializes");
    BASE64.encode(bytes)
}

/// Base64 V2 (deflated or not) into the histogram it encodes, with the
/// bounds and digits it was written with.
fn decode_as_written(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    HdrDeserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 encoding: {e}"))
}

/// Base64 V2 (deflated or not) into a histogram of volley's bounds.
pub(crate) fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let h = decode_as_written(text)?;
    // Stats::merge adds histograms of equal bounds; bring every decoded one
    // to volley's (1 µs to 1 h, 3 digits).
    let mut out = new_histogram();
    out.add(&h)
        .map_err(|_| "values beyond volley's range of 1 µs to 1 h".to_string())?;
    Ok(out)
}

/// Every histogram of the statistics, by name (`--save` only).
pub(crate) struct Histograms {
    pub(crate) latency: Histogram<u64>,
    pub(crate) service: Histogram<u64>,
    pub(crate) ttfb: Histogram<u64>,
    pub(crate) connect: Histogram<u64>,
    pub(crate) tls_handshake: Histogram<u64>,
    pub(crate) send_lag: Histogram<u64>,
}

impl fmt::Debug for Histograms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.named().map(|(name, h)| (name, h.len())))
            .finish()
    }
}

impl Histograms {
    /// Names as written in the file; `tls_handshake` came later than the
    /// others and may be absent (empty) in older files.
    const NAMES: [&str; 6] = [
        "latency",
        "service",
        "ttfb",
        "connect",
        "tls_handshake",
        "send_lag",
    ];
    const OPTIONAL: &str = "tls_handshake";

    pub(crate) fn of(s: &Stats) -> Self {
        Self {
            latency: s.latency.clone(),
            service: s.service.clone(),
            ttfb: s.ttfb.clone(),
            connect: s.connect.clone(),
            tls_handshake: s.tls_handshake.clone(),
            send_lag: s.send_lag.clone(),
        }
    }

    fn named(&self) -> impl Iterator<Item = (&'static str, &Histogram<u64>)> {
        let all = [
            &self.latency,
            &self.service,
            &self.ttfb,
            &self.connect,
            &self.tls_handshake,
            &self.send_lag,
        ];
        Self::NAMES.into_iter().zip(all)
    }

    /// Moves the histograms into `s`.
    pub(crate) fn into_stats(self, s: &mut Stats) {
        s.latency = self.latency;
        s.service = self.service;
        s.ttfb = self.ttfb;
        s.connect = self.connect;
        s.tls_handshake = self.tls_handshake;
        s.send_lag = self.send_lag;
    }
}

impl Serialize for Histograms {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(Self::NAMES.len()))?;
        for (name, h) in self.named() {
            map.serialize_entry(name, &encode(h))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Histograms {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut texts = BTreeMap::<String, String>::deserialize(d)?;
        let mut take = |name: &str| match texts.remove(name) {
            Some(text) => {
                decode(&text).map_err(|e| de::Error::custom(format!("histogram {name:?}: {e}")))
            }
            None if name == Self::OPTIONAL => Ok(new_histogram()),
            None => Err(de::Error::custom(format!("histogram {name:?} is missing"))),
        };
        Ok(Self {
            latency: take("latency")?,
            service: take("service")?,
            ttfb: take("ttfb")?,
            connect: take("connect")?,
            tls_handshake: take("tls_handshake")?,
            send_lag: take("send_lag")?,
        })
    }
}

/// A target's histograms (`--save` only): `latency`, `service`, `ttfb`,
/// encoded as the run's are.
///
/// They are read back as written, digits and bounds included, and grow as
/// values are added, as a run's [`TargetStats`] do (their digits depend on
/// the number of targets, [`volley_core::stats::target_sigfigs`]), so a
/// file read back holds exactly the histograms of the run.
pub(crate) struct TargetHistograms {
    pub(crate) latency: Histogram<u64>,
    pub(crate) service: Histogram<u64>,
    pub(crate) ttfb: Histogram<u64>,
}

impl fmt::Debug for TargetHistograms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.named().map(|(name, h)| (name, h.len())))
            .finish()
    }
}

impl TargetHistograms {
    const NAMES: [&str; 3] = ["latency", "service", "ttfb"];

    pub(crate) fn of(t: &TargetStats) -> Self {
        Self {
            latency: t.latency.clone(),
            service: t.service.clone(),
            ttfb: t.ttfb.clone(),
        }
    }

    fn named(&self) -> impl Iterator<Item = (&'static str, &Histogram<u64>)> {
        Self::NAMES
            .into_iter()
            .zip([&self.latency, &self.service, &self.ttfb])
    }

    /// Moves the histograms into `t`.
    pub(crate) fn into_target(self, t: &mut TargetStats) {
        t.latency = self.latency;
        t.service = self.service;
        t.ttfb = self.ttfb;
    }
}

impl Serialize for TargetHistograms {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(Self::NAMES.len()))?;
        for (name, h) in self.named() {
            map.serialize_entry(name, &encode(h))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for TargetHistograms {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut texts = BTreeMap::<String, String>::deserialize(d)?;
        let mut take = |name: &str| {
            let text = texts
                .remove(name)
                .ok_or_else(|| de::Error::custom(format!("histogram {name:?} is missing")))?;
            let mut h = decode_as_written(&text)
                .map_err(|e| de::Error::custom(format!("histogram {name:?}: {e}")))?;
            h.auto(true);
            Ok(h)
        };
        Ok(Self {
            latency: take("latency")?,
            service: take("service")?,
            ttfb: take("ttfb")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_is_standard_v2_deflate() {
        let mut h = new_histogram();
        h.record(100).unwrap();
        let bytes = BASE64.decode(encode(&h)).unwrap();
        // The V2 compressed cookie, 0x1c849304 | 0x10 as the Java
        // HdrHistogram writes it, big-endian.
        assert_eq!(&bytes[..4], &[0x1c, 0x84, 0x93, 0x14]);
        assert_eq!(decode(&encode(&h)).unwrap(), h);
    }
}

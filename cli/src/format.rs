//! How numbers read in the reports: thousands separators, units chosen per
//! value. The text report, the HTML page, the progress line and the
//! threshold verdicts all format through these.

use std::time::Duration;

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate with thousands separators, and one decimal below 100.
pub(crate) fn rate(r: f64) -> String {
    if r >= 100.0 {
        thousands(r.round() as u64)
    } else {
        format!("{r:.1}")
    }
}

/// `part` as a share of `whole`: `33.3%`, `<0.1%`, `-` of nothing.
pub(crate) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    let p = 100.0 * part as f64 / whole as f64;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// A share given in percent, for headline figures: `0%`, `<0.1%`, `1.6%`.
pub(crate) fn share(p: f64) -> String {
    if p == 0.0 {
        "0%".into()
    } else if p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// Microseconds in the unit that suits the value.
pub(crate) fn us(v: f64) -> String {
    if v < 1_000.0 {
        format!("{v:.0}µs")
    } else if v < 10_000.0 {
        format!("{:.2}ms", v / 1e3)
    } else if v < 1_000_000.0 {
        format!("{:.1}ms", v / 1e3)
    } else {
        format!("{:.2}s", v / 1e6)
    }
}

/// A duration as a flag would take it: `10s`, `2m`, `1h`, `1.5s`, `500ms`.
pub(crate) fn dur(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{}h", s / 3600.0)
    } else if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s / 60.0)
    } else if s >= 1.0 {
        format!("{}s", trim(format!("{s:.3}")))
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Bytes in binary units: `512 B`, `1.5 KiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `"8.120"` → `"8.12"`, `"3.000"` → `"3"`; numbers without a point stay.
pub(crate) fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `x` rounded to `decimals` places.
pub(crate) fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(us(850.0), "850µs");
        assert_eq!(us(1234.0), "1.23ms");
        assert_eq!(us(12345.0), "12.3ms");
        assert_eq!(us(2_500_000.0), "2.50s");
        assert_eq!(dur(Duration::from_secs(10)), "10s");
        assert_eq!(dur(Duration::from_secs(120)), "2m");
        assert_eq!(dur(Duration::from_millis(500)), "500ms");
        assert_eq!(dur(Duration::from_millis(1500)), "1.5s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 100_000), "<0.1%");
        assert_eq!(
            (share(0.0), share(0.05), share(1.646)),
            ("0%".into(), "<0.1%".into(), "1.6%".into())
        );
        assert_eq!(trim("8.120".into()), "8.12");
        assert_eq!(trim("3.000".into()), "3");
        assert_eq!(trim("300".into()), "300");
        assert_eq!(round(4.8425, 1), 4.8);
    }
}

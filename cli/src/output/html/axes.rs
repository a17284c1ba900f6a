//! The parts every chart shares: the plot area, scales from values to
//! pixels, round ticks and their labels, and the frame with its legend.

use super::writer::{Html, html};
use crate::format::trim;

pub(crate) const W: f64 = 580.0;
pub(crate) const H: f64 = 250.0;
pub(crate) const LEFT: f64 = 62.0;
pub(crate) const RIGHT: f64 = 26.0;
pub(crate) const TOP: f64 = 30.0;
pub(crate) const BOTTOM: f64 = 34.0;

/// A map from data values to pixels.
#[derive(Clone, Copy)]
pub(crate) struct Scale {
    pub(crate) lo: f64,
    hi: f64,
    log: bool,
    from: f64,
    to: f64,
}

impl Scale {
    pub(crate) fn at(&self, v: f64) -> f64 {
        let t = if self.log {
            let v = v.max(self.lo);
            (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.from + t * (self.to - self.from)
    }
}

pub(crate) fn x_scale(lo: f64, hi: f64) -> Scale {
    Scale {
        lo,
        hi,
        log: false,
        from: LEFT,
        to: W - RIGHT,
    }
}

pub(crate) fn y_scale(lo: f64, hi: f64, log: bool) -> Scale {
    Scale {
        lo,
        hi,
        log,
        from: H - BOTTOM,
        to: TOP,
    }
}

/// How a series shows in the legend.
pub(crate) enum Mark {
    Line,
    Dashed,
    Area,
}

/// The axes of a chart: scales, ticks with their labels, titles.
pub(crate) struct Axes<'a> {
    pub(crate) x: Scale,
    pub(crate) x_ticks: Vec<(f64, String)>,
    pub(crate) x_title: &'a str,
    pub(crate) y: Scale,
    pub(crate) y_ticks: Vec<(f64, String)>,
    pub(crate) y_title: &'a str,
}

/// Starts a chart: the frame, grid lines, tick labels, axis titles and
/// the legend. The caller adds the data and closes the `<svg>`.
pub(crate) fn frame(id: &str, label: &str, axes: &Axes<'_>, legend: &[(&str, &str, Mark)]) -> Html {
    let Axes {
        x,
        x_ticks,
        x_title,
        y,
        y_ticks,
        y_title,
    } = axes;
    let mut o = Html::new();
    html!(
        o,
        "<svg id=\"{}\" class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        id,
        label
    );
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, H - BOTTOM, TOP);
    html!(o, "<g class=\"grid\">");
    for (v, text) in y_ticks {
        let py = y.at(*v);
        let (tx, ty) = (x0 - 6.0, py + 4.0);
        html!(
            o,
            "<line x1=\"{x0}\" y1=\"{py:.1}\" x2=\"{x1}\" y2=\"{py:.1}\" stroke=\"#e2e8f0\"/>\
             <text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\">{}</text>",
            text
        );
    }
    for (v, text) in x_ticks {
        let px = x.at(*v);
        let (tick_end, ty) = (y0 + 4.0, y0 + 16.0);
        html!(
            o,
            "<line x1=\"{px:.1}\" y1=\"{y0}\" x2=\"{px:.1}\" y2=\"{tick_end:.1}\" stroke=\"#94a3b8\"/>\
             <text x=\"{px:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{}</text>",
            text
        );
    }
    let (mid_x, title_y, mid_y) = ((x0 + x1) / 2.0, H - 4.0, (y0 + y1) / 2.0);
    html!(
        o,
        "<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#94a3b8\"/>\
         <line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"#94a3b8\"/></g>\
         <text x=\"{mid_x:.1}\" y=\"{title_y:.1}\" text-anchor=\"middle\">{}</text>\
         <text transform=\"translate(12 {mid_y:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        x_title,
        y_title
    );
    html!(o, "<g class=\"legend\">");
    let mut lx = x0;
    for (color, text, mark) in legend {
        let ly = 14.0;
        let lx2 = lx + 18.0;
        match mark {
            Mark::Line => html!(
                o,
                "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{lx2}\" y2=\"{ly}\" stroke=\"{}\" stroke-width=\"2.5\"/>",
                color
            ),
            Mark::Dashed => html!(
                o,
                "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{lx2}\" y2=\"{ly}\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/>",
                color
            ),
            Mark::Area => {
                let ry = ly - 5.0;
                html!(
                    o,
                    "<rect x=\"{lx}\" y=\"{ry}\" width=\"18\" height=\"10\" fill=\"{}\" fill-opacity=\"0.3\" stroke=\"{}\"/>",
                    color,
                    color
                );
            }
        }
        let (tx, ty) = (lx + 23.0, ly + 4.0);
        html!(o, "<text x=\"{tx}\" y=\"{ty}\">{}</text>", text);
        lx += 23.0 + 6.6 * text.chars().count() as f64 + 18.0;
    }
    html!(o, "</g>");
    o
}

/// A chart with nothing to draw but `message`.
pub(crate) fn empty_chart(id: &str, label: &str, message: &str) -> Html {
    let axes = Axes {
        x: x_scale(0.0, 1.0),
        x_ticks: Vec::new(),
        x_title: "",
        y: y_scale(0.0, 1.0, false),
        y_ticks: Vec::new(),
        y_title: "",
    };
    let mut o = frame(id, label, &axes, &[]);
    let (cx, cy) = (W / 2.0, H / 2.0);
    html!(
        o,
        "<text class=\"empty\" x=\"{cx}\" y=\"{cy}\" text-anchor=\"middle\">{}</text></svg>",
        message
    );
    o
}

/// About `count` round steps from 0 to at least `max`: (top, ticks).
pub(crate) fn linear_ticks(max: f64, count: usize) -> (f64, Vec<f64>) {
    let max = if max > 0.0 && max.is_finite() {
        max
    } else {
        1.0
    };
    let raw = max / count as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * mag);
    let n = (max / step - 1e-9).ceil().max(1.0) as usize;
    (n as f64 * step, (0..=n).map(|i| i as f64 * step).collect())
}

/// Ticks of a log axis from `lo` to `hi` (both > 0): 1-2-5 per decade,
/// or only the powers of ten when that would be too many.
pub(crate) fn log_ticks(lo: f64, hi: f64) -> (f64, f64, Vec<f64>) {
    let below = |v: f64| {
        let mag = 10f64.powf(v.log10().floor());
        [5.0, 2.0, 1.0]
            .iter()
            .map(|m| m * mag)
            .find(|c| *c <= v * 1.0001)
            .unwrap_or(mag)
    };
    let above = |v: f64| {
        let mag = 10f64.powf(v.log10().floor());
        [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|c| *c >= v * 0.9999)
            .unwrap_or(10.0 * mag)
    };
    let (lo, hi) = (below(lo), above(hi));
    let mut ticks = Vec::new();
    let mut mag = 10f64.powf(lo.log10().floor());
    while mag <= hi * 1.0001 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * mag;
            if v >= lo * 0.9999 && v <= hi * 1.0001 {
                ticks.push(v);
            }
        }
        mag *= 10.0;
    }
    if ticks.len() > 8 {
        ticks.retain(|v| (v.log10() - v.log10().round()).abs() < 1e-9 || *v == lo || *v == hi);
    }
    (lo, hi, ticks)
}

/// A tick label for microseconds: `0`, `500µs`, `1.5ms`, `2s`.
pub(crate) fn short_us(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v < 1_000.0 {
        format!("{}µs", trim(format!("{v:.1}")))
    } else if v < 1_000_000.0 {
        format!("{}ms", trim(format!("{:.3}", v / 1e3)))
    } else {
        format!("{}s", trim(format!("{:.3}", v / 1e6)))
    }
}

/// A tick label for a count or rate: `0`, `250`, `1.5k`, `2M`.
pub(crate) fn short_count(v: f64) -> String {
    if v.abs() < 1_000.0 {
        trim(format!("{v:.2}"))
    } else if v.abs() < 1_000_000.0 {
        format!("{}k", trim(format!("{:.2}", v / 1e3)))
    } else {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    }
}

/// Ticks of the time axis, 0 to `span` seconds.
pub(crate) fn time_ticks(span: u32) -> Vec<(f64, String)> {
    let step = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400,
    ]
    .into_iter()
    .find(|s| span / s <= 8)
    .unwrap_or(86400);
    (0..=span / step)
        .map(|i| {
            let t = i * step;
            let text = if t == 0 {
                "0".to_string()
            } else if t % 3600 == 0 {
                format!("{}h", t / 3600)
            } else if t % 60 == 0 {
                format!("{}m", t / 60)
            } else if t > 60 {
                format!("{}m{}s", t / 60, t % 60)
            } else {
                format!("{t}s")
            };
            (f64::from(t), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            linear_ticks(3_610.0, 5),
            (4_000.0, vec![0.0, 1_000.0, 2_000.0, 3_000.0, 4_000.0])
        );
        assert_eq!(linear_ticks(0.0, 5).0, 1.0);
        let (lo, hi, t) = log_ticks(180.0, 95_000.0);
        assert_eq!((lo, hi), (100.0, 100_000.0));
        assert_eq!(t, vec![100.0, 1_000.0, 10_000.0, 100_000.0]);
        let (_, _, t) = log_ticks(900.0, 21_000.0);
        assert_eq!(
            t,
            vec![
                500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0, 50_000.0
            ]
        );
        assert_eq!(short_us(1_500.0), "1.5ms");
        assert_eq!(short_us(500.0), "500µs");
        assert_eq!(short_us(2_000_000.0), "2s");
        assert_eq!(short_count(2_500.0), "2.5k");
        let t = time_ticks(65);
        assert_eq!(t.first().map(|t| t.1.as_str()), Some("0"));
        assert_eq!(t.last().map(|t| t.1.as_str()), Some("1m"));
    }
}

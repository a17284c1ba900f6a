//! The four charts of the page: latency over time, the latency percentile
//! curve, requests per second and errors per second, drawn as inline SVG;
//! and for a run of targets, latency over time for each target.

use hdrhistogram::Histogram;
use volley_core::stats::MAX_TARGET_TIMELINES;
use volley_core::{Second, reason_phrase};

use super::axes::{
    Axes, BOTTOM, H, LEFT, Mark, RIGHT, Scale, TOP, W, empty_chart, frame, linear_ticks, log_ticks,
    short_count, short_us, time_ticks, x_scale, y_scale,
};
use super::writer::{Html, html};
use super::{BLUE, GRAY, GREEN, INK, ORANGE, RED, TEAL};
use crate::format::{percent, rate, trim, us};
use crate::output::Summary;
use crate::result::RunInfo;

/// The time charts' span: whole seconds from t0 to the last row or the
/// end of the sending window; and that window, seconds.
fn time_span(s: &Summary<'_>) -> (u32, f64) {
    let window = s.requests.window.as_secs_f64();
    let end = s.timeline().last().map_or(0, |r| r.second + 1);
    ((window.ceil() as u32).max(end).max(1), window)
}

/// How the time charts' notes name a step of `width` seconds, and what a
/// step of several seconds shows.
fn steps(width: u32) -> (String, String) {
    if width == 1 {
        ("Per second of the run".to_string(), String::new())
    } else {
        (
            format!("Per {width} s of the run"),
            format!(
                " Each step covers {width} s: p50 is the mean of its seconds' medians, p99 and max the highest."
            ),
        )
    }
}

/// The charts' section.
pub(super) fn charts(o: &mut Html, s: &Summary<'_>) {
    let (span, window) = time_span(s);
    let bins = bins(s.timeline(), span);
    let (per, binned) = steps(bins.first().map_or(1, |b| b.width));
    html!(o, "<section class=\"grid\">\n");
    html!(
        o,
        "<div class=\"card\"><h2>Latency over time</h2>{}<p class=\"note\">{}: the median, 99th percentile and \
         highest latency of the responses that completed in it.{}</p></div>\n",
        window_end(
            latency_over_time("chart-latency-time", "Latency over time", &bins, span),
            span,
            window
        ),
        per,
        binned
    );
    html!(
        o,
        "<div class=\"card\"><h2>Latency by percentile</h2>{}<p class=\"note\">The whole run: at 99%, the latency \
         that all but the slowest 1% of responses stayed within. Latency counts from when each request was due, \
         service time from when it was written; the gap between the lines is time spent waiting to be sent.</p></div>\n",
        percentile_curve(&s.stats.latency, &s.stats.service)
    );
    html!(
        o,
        "<div class=\"card\"><h2>Requests per second</h2>{}<p class=\"note\">{}: responses completed per \
         second, against the target rate.</p></div>\n",
        window_end(rate_over_time(&bins, span, s.run), span, window),
        per
    );
    html!(
        o,
        "<div class=\"card\"><h2>Errors per second</h2>{}{}</div>\n",
        window_end(errors_over_time(&bins, span), span, window),
        status_bar(s)
    );
    html!(o, "</section>\n");
}

/// Below the targets' table: latency over time for each target, one chart
/// shown at a time, chosen by the target's name above it. The page has no
/// script, so radio buttons choose: every chart is in the page, in a panel
/// after its button and label, and the CSS shows the panel whose button is
/// checked (`.tabs`). Every chart spans the run's seconds, so switching
/// keeps the time axis, and is drawn at the size of the run's own. Left out when no target kept a timeline (a run of
/// more than [`MAX_TARGET_TIMELINES`] targets says so).
pub(super) fn target_charts(o: &mut Html, s: &Summary<'_>) {
    if s.targets.iter().all(|t| t.stats.timeline.is_empty()) {
        if s.targets.len() > MAX_TARGET_TIMELINES {
            html!(
                o,
                "<p class=\"note\">Latency over time is drawn per target for runs of up to {} targets; this one \
                 has {}.</p>\n",
                MAX_TARGET_TIMELINES,
                s.targets.len()
            );
        }
        return;
    }
    let (span, window) = time_span(s);
    html!(
        o,
        "<section class=\"grid\"><div class=\"card\"><h2>Latency over time, per target</h2><div class=\"tabs\">"
    );
    let mut width = 1;
    for (i, t) in s.targets.iter().enumerate() {
        let bins = bins(&t.stats.timeline, span);
        width = bins.first().map_or(1, |b| b.width);
        let label = format!("Latency over time: {}", t.info.name);
        let chart = latency_over_time(&target_chart_id(i), &label, &bins, span);
        // The first target's chart shows at first.
        let checked = if i == 0 { " checked" } else { "" };
        html!(
            o,
            "\n<input type=\"radio\" name=\"target-chart\" id=\"target-chart-{i}\"{checked}>\
             <label for=\"target-chart-{i}\" title=\"{} {}\">{}</label><div class=\"panel\">{}</div>",
            t.info.method,
            t.info.url,
            t.info.name,
            window_end(chart, span, window)
        );
    }
    let (per, binned) = steps(width);
    html!(
        o,
        "\n</div><p class=\"note\">{}: the median, 99th percentile and highest latency of the chosen target's \
         responses that completed in it.{}</p></div></section>\n",
        per,
        binned
    );
}

/// The `<svg id>` of target `i`'s latency-over-time chart.
pub(super) fn target_chart_id(i: usize) -> String {
    format!("chart-latency-time-target-{i}")
}

/// Marks the end of the sending window on a time chart when responses
/// still arrived after it (the last, partial second then looks like a drop).
fn window_end(mut svg: Html, span: u32, window: f64) -> Html {
    let inside = window > 0.0 && window < f64::from(span);
    if !inside || !svg.contains("class=\"series\"") {
        return svg;
    }
    let px = x_scale(0.0, f64::from(span)).at(window);
    // The label right of the line, or left of it near the right edge.
    let (tx, anchor) = if px + 80.0 < W {
        (px + 3.0, "start")
    } else {
        (px - 3.0, "end")
    };
    let (bottom, ty) = (H - BOTTOM, TOP + 10.0);
    let mut mark = Html::new();
    html!(
        mark,
        "<line x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{bottom}\" stroke=\"{INK}\" stroke-opacity=\"0.5\" \
         stroke-dasharray=\"2 3\"/><text x=\"{tx:.1}\" y=\"{ty}\" text-anchor=\"{}\" \
         style=\"fill:{INK}\">sending ended</text>",
        anchor
    );
    svg.insert_before_last("</svg>", &mark);
    svg
}

/// The share of each status code (and of failures) as one stacked bar,
/// with a legend.
fn status_bar(s: &Summary<'_>) -> Html {
    let mut o = Html::new();
    let total = s.requests.completed + s.requests.failed;
    if total == 0 {
        html!(o, "<p class=\"note\">No request ended.</p>");
        return o;
    }
    let mut parts: Vec<(String, u64, &str)> = s
        .statuses
        .0
        .iter()
        .map(|&(c, n)| (format!("{c} {}", reason_phrase(c)), n, status_color(c)))
        .collect();
    if s.requests.failed > 0 {
        parts.push(("failed (no response)".into(), s.requests.failed, "#7f1d1d"));
    }
    html!(o, "<div class=\"bar\">");
    for (label, n, color) in &parts {
        let width = 100.0 * *n as f64 / total as f64;
        html!(
            o,
            "<span title=\"{}\" style=\"width:{width:.3}%;background:{}\"></span>",
            label,
            color
        );
    }
    html!(o, "</div><p class=\"note\">");
    for (i, (label, n, color)) in parts.iter().enumerate() {
        if i > 0 {
            html!(o, " &nbsp; ");
        }
        html!(
            o,
            "<span class=\"dot\" style=\"background:{}\"></span>{} {}",
            color,
            label,
            percent(*n, total)
        );
    }
    html!(
        o,
        ". Errors are failed requests plus responses with a status other than 2xx/3xx.</p>"
    );
    o
}

/// The colour of a status code's class.
pub(super) fn status_color(code: u16) -> &'static str {
    match code {
        200..=299 => "#16a34a",
        300..=399 => "#2563eb",
        400..=499 => "#d97706",
        _ => "#dc2626",
    }
}

/// A stretch of the timeline: one second, or several in a long run so
/// that a chart has at most [`MAX_BINS`] steps.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Bin {
    /// First second, since t0.
    start: u32,
    /// Seconds covered.
    width: u32,
    /// Completed requests per second.
    completed: f64,
    /// Errors (failed, or status not 2xx/3xx) per second.
    errors: f64,
    /// Latency, µs: the median of a single second, or the mean of the
    /// seconds' medians weighted by their completions; `None` when nothing
    /// completed.
    p50: Option<f64>,
    /// The highest per-second p99 in the bin, µs.
    p99: Option<f64>,
    /// The highest latency in the bin, µs.
    max: Option<f64>,
}

/// What a series draws of a bin; `None` breaks the line.
type BinValue<'a> = dyn Fn(&Bin) -> Option<f64> + 'a;

/// At most this many steps across a time chart.
const MAX_BINS: u32 = 300;

/// The timeline as consecutive bins covering seconds 0 to `span` (every
/// row's second is below `span`); idle seconds count as zero.
fn bins(rows: &[Second], span: u32) -> Vec<Bin> {
    let width = span.div_ceil(MAX_BINS).max(1);
    let n = span.div_ceil(width);
    let mut out: Vec<Bin> = (0..n)
        .map(|i| Bin {
            start: i * width,
            width: width.min(span - i * width),
            ..Bin::default()
        })
        .collect();
    let mut weighted = vec![(0.0, 0.0); out.len()];
    for r in rows {
        let i = ((r.second / width) as usize).min(out.len() - 1);
        let b = &mut out[i];
        b.completed += r.completed as f64;
        b.errors += r.errors as f64;
        if r.completed > 0 {
            weighted[i].0 += r.p50_us as f64 * r.completed as f64;
            weighted[i].1 += r.completed as f64;
            b.p99 = Some(b.p99.unwrap_or(0.0).max(r.p99_us as f64));
            b.max = Some(b.max.unwrap_or(0.0).max(r.max_us as f64));
        }
    }
    for (b, (sum, n)) in out.iter_mut().zip(weighted) {
        b.completed /= f64::from(b.width);
        b.errors /= f64::from(b.width);
        b.p50 = (n > 0.0).then(|| sum / n);
    }
    out
}

/// A step line: each bin holds its value over its seconds; bins without
/// a value break the line.
fn step_path(bins: &[Bin], x: &Scale, y: &Scale, value: &BinValue<'_>) -> String {
    use std::fmt::Write as _;
    let mut d = String::new();
    let mut joined = false;
    for b in bins {
        let Some(v) = value(b) else {
            joined = false;
            continue;
        };
        let (x0, x1, py) = (
            x.at(f64::from(b.start)),
            x.at(f64::from(b.start + b.width)),
            y.at(v),
        );
        let _ = write!(
            d,
            "{}{x0:.1},{py:.1} L{x1:.1},{py:.1} ",
            if joined { "L" } else { "M" }
        );
        joined = true;
    }
    d.trim_end().to_string()
}

/// Latency over time: p50, p99 and max of each step, as the chart `id`
/// named `label`.
fn latency_over_time(id: &str, label: &str, bins: &[Bin], span: u32) -> Html {
    let lo = bins
        .iter()
        .filter_map(|b| b.p50)
        .fold(f64::INFINITY, f64::min)
        .max(1.0);
    let hi = bins
        .iter()
        .filter_map(|b| b.max)
        .fold(0.0, f64::max)
        .max(1.0);
    if !lo.is_finite() || bins.iter().all(|b| b.p50.is_none()) {
        return empty_chart(id, label, "no response completed");
    }
    // A log axis when the values span more than a factor of 20, so the
    // median stays readable beside a far tail.
    let log = hi / lo > 20.0;
    let (y, ticks) = if log {
        let (lo, hi, ticks) = log_ticks(lo, hi);
        (y_scale(lo, hi, true), ticks)
    } else {
        let (top, ticks) = linear_ticks(hi, 5);
        (y_scale(0.0, top, false), ticks)
    };
    let x = x_scale(0.0, f64::from(span));
    let y_ticks: Vec<_> = ticks.iter().map(|v| (*v, short_us(*v))).collect();
    let y_title = if log {
        "latency (log scale)"
    } else {
        "latency"
    };
    let axes = Axes {
        x,
        x_ticks: time_ticks(span),
        x_title: "seconds since the start",
        y,
        y_ticks,
        y_title,
    };
    let mut o = frame(
        id,
        label,
        &axes,
        &[
            (BLUE, "p50", Mark::Line),
            (ORANGE, "p99", Mark::Line),
            (GRAY, "max", Mark::Line),
        ],
    );
    let series: [(&str, f64, &BinValue<'_>); 3] = [
        (GRAY, 1.5, &|b| b.max),
        (ORANGE, 2.0, &|b| b.p99),
        (BLUE, 2.0, &|b| b.p50),
    ];
    for (color, width, f) in series {
        html!(
            o,
            "<path class=\"series\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\" stroke-linejoin=\"round\"/>",
            step_path(bins, &x, &y, f),
            color
        );
    }
    html!(o, "</svg>");
    o
}

/// A filled step area under `value` and its outline.
fn step_area(
    o: &mut Html,
    bins: &[Bin],
    x: &Scale,
    y: &Scale,
    color: &str,
    value: &dyn Fn(&Bin) -> f64,
) {
    let line = step_path(bins, x, y, &|b| Some(value(b)));
    let (Some(first), Some(last)) = (bins.first(), bins.last()) else {
        return;
    };
    let base = y.at(y.lo);
    // The outline starts with "M"; the area joins it to the baseline.
    let (x0, x1) = (
        x.at(f64::from(first.start)),
        x.at(f64::from(last.start + last.width)),
    );
    html!(
        o,
        "<path d=\"M{x0:.1},{base:.1} L{} L{x1:.1},{base:.1} Z\" fill=\"{}\" fill-opacity=\"0.18\" stroke=\"none\"/>\
         <path class=\"series\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
        line.trim_start_matches('M'),
        color,
        line,
        color
    );
}

fn rate_over_time(bins: &[Bin], span: u32, run: &RunInfo) -> Html {
    let target = run.target_rps;
    let peak = bins.iter().map(|b| b.completed).fold(0.0, f64::max);
    let (top, ticks) = linear_ticks(peak.max(target.unwrap_or(0.0)) * 1.05, 5);
    let x = x_scale(0.0, f64::from(span));
    let y = y_scale(0.0, top, false);
    let target_label = match (target, run.stages.is_empty()) {
        (Some(t), true) => Some(format!("target {} req/s", rate(t))),
        (Some(_), false) => Some("target (stages)".to_string()),
        (None, _) => None,
    };
    let mut legend = vec![(BLUE, "completed per second", Mark::Area)];
    if let Some(t) = &target_label {
        legend.push((INK, t.as_str(), Mark::Dashed));
    }
    let y_ticks: Vec<_> = ticks.iter().map(|v| (*v, short_count(*v))).collect();
    let axes = Axes {
        x,
        x_ticks: time_ticks(span),
        x_title: "seconds since the start",
        y,
        y_ticks,
        y_title: "requests per second",
    };
    let mut o = frame("chart-rate-time", "Requests per second", &axes, &legend);
    step_area(&mut o, bins, &x, &y, BLUE, &|b| b.completed);
    if !run.stages.is_empty() {
        // The shape is piecewise linear: a line through its corners.
        let (mut at, mut points) = (0.0, format!("{:.1},{:.1}", x.at(0.0), y.at(0.0)));
        for st in &run.stages {
            at += st.duration.as_secs_f64();
            points.push_str(&format!(" {:.1},{:.1}", x.at(at), y.at(st.rps)));
        }
        html!(
            o,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{INK}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
            points
        );
    } else if let Some(t) = target {
        let (py, x1) = (y.at(t), W - RIGHT);
        html!(
            o,
            "<line x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{x1}\" y2=\"{py:.1}\" stroke=\"{INK}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>"
        );
    }
    html!(o, "</svg>");
    o
}

fn errors_over_time(bins: &[Bin], span: u32) -> Html {
    let peak = bins.iter().map(|b| b.errors).fold(0.0, f64::max);
    let (top, ticks) = linear_ticks(peak.max(1.0), 4);
    // Whole requests: no tick between 0 and 1.
    let ticks: Vec<f64> = ticks.into_iter().filter(|v| v.fract() == 0.0).collect();
    let x = x_scale(0.0, f64::from(span));
    let y = y_scale(0.0, top, false);
    let y_ticks: Vec<_> = ticks.iter().map(|v| (*v, short_count(*v))).collect();
    let axes = Axes {
        x,
        x_ticks: time_ticks(span),
        x_title: "seconds since the start",
        y,
        y_ticks,
        y_title: "errors per second",
    };
    let legend = [(
        RED,
        "errors per second (failed, or status not 2xx/3xx)",
        Mark::Area,
    )];
    let mut o = frame("chart-errors-time", "Errors per second", &axes, &legend);
    step_area(&mut o, bins, &x, &y, RED, &|b| b.errors);
    if peak == 0.0 {
        let (cx, cy) = ((LEFT + W - RIGHT) / 2.0, (TOP + H - BOTTOM) / 2.0);
        html!(
            o,
            "<text class=\"empty\" x=\"{cx}\" y=\"{cy}\" text-anchor=\"middle\" style=\"fill:{GREEN}\">no errors</text>"
        );
    }
    html!(o, "</svg>");
    o
}

/// The classic HDR plot: latency against percentile, the percentile axis
/// stretched as log10(1 / (1 − p)) so the tail gets the room.
fn percentile_curve(latency: &Histogram<u64>, service: &Histogram<u64>) -> Html {
    percentile_curves((latency, "latency"), (service, "service time"))
}

/// Two latency-by-percentile curves on one chart: `first` solid, with its
/// usual percentiles named, and `second` dashed.
pub(crate) fn percentile_curves(
    first: (&Histogram<u64>, &str),
    second: (&Histogram<u64>, &str),
) -> Html {
    let ((latency, first_label), (service, second_label)) = (first, second);
    let id = "chart-percentiles";
    let label = "Latency by percentile";
    if latency.is_empty() {
        return empty_chart(id, label, "no response completed");
    }
    // Up to the percentile the sample count can tell apart: 99.9% needs
    // about 1,000 samples. At least 99%, at most 99.999%.
    let digits = (latency.len() as f64).log10().ceil().clamp(2.0, 5.0);
    let per_digit = 50.0;
    let n = (digits * per_digit) as usize;
    let points = |h: &Histogram<u64>| -> Vec<(f64, f64)> {
        (0..=n)
            .map(|i| {
                let xv = i as f64 / per_digit;
                let q = 1.0 - 10f64.powf(-xv);
                (xv, h.value_at_quantile(q) as f64)
            })
            .collect()
    };
    let lat = points(latency);
    let srv = if service.is_empty() {
        Vec::new()
    } else {
        points(service)
    };
    let peak = lat.iter().chain(&srv).map(|p| p.1).fold(1.0, f64::max);
    let (top, ticks) = linear_ticks(peak, 5);
    let x = x_scale(0.0, digits);
    let y = y_scale(0.0, top, false);
    let px_per_digit = (W - LEFT - RIGHT) / digits;
    let mut x_ticks = Vec::new();
    if px_per_digit > 150.0 {
        x_ticks.push((0.0, "0%".to_string()));
    }
    x_ticks.push((2f64.log10(), "50%".to_string()));
    for d in 1..=digits as u32 {
        let p = 100.0 - 100.0 * 10f64.powi(-(d as i32));
        x_ticks.push((f64::from(d), format!("{}%", trim(format!("{p:.3}")))));
    }
    let y_ticks: Vec<_> = ticks.iter().map(|v| (*v, short_us(*v))).collect();
    let axes = Axes {
        x,
        x_ticks,
        x_title: "percentile (log scale toward 100%)",
        y,
        y_ticks,
        y_title: "latency",
    };
    let mut o = frame(
        id,
        label,
        &axes,
        &[
            (BLUE, first_label, Mark::Line),
            (TEAL, second_label, Mark::Dashed),
        ],
    );
    let poly = |pts: &[(f64, f64)]| -> String {
        pts.iter()
            .map(|(a, b)| format!("{:.1},{:.1}", x.at(*a), y.at(*b)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !srv.is_empty() {
        html!(
            o,
            "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{TEAL}\" stroke-width=\"2\" stroke-dasharray=\"6 3\" stroke-linejoin=\"round\"/>",
            poly(&srv)
        );
    }
    html!(
        o,
        "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{BLUE}\" stroke-width=\"2.5\" stroke-linejoin=\"round\"/>",
        poly(&lat)
    );
    // Name the usual percentiles on the latency curve.
    for (name, q) in [("p50", 0.5f64), ("p99", 0.99), ("p99.9", 0.999)] {
        let xv = -(1.0 - q).log10();
        if xv > digits + 1e-9 {
            continue;
        }
        let v = latency.value_at_quantile(q) as f64;
        let (px, py) = (x.at(xv), y.at(v));
        // Above the point in the lower half of the plot, below it in the
        // upper half, where the curve flattens toward the maximum.
        let ty = if py > (TOP + H - BOTTOM) / 2.0 {
            py - 8.0
        } else {
            py + 16.0
        };
        let tx = px - 4.0;
        html!(
            o,
            "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3.5\" fill=\"{BLUE}\"/>\
             <text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" style=\"fill:{INK}\">{} {}</text>",
            name,
            us(v)
        );
    }
    html!(o, "</svg>");
    o
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::{info, render, stats};
    use super::*;

    #[test]
    fn the_end_of_sending_is_marked_only_before_the_last_row() {
        let mut s = stats();
        let svg = latency_over_time("chart", "Chart", &bins(&s.timeline, 3), 3);
        assert!(!window_end(svg.clone(), 3, 3.0).contains("sending ended"));
        assert!(window_end(svg, 3, 2.5).contains("sending ended"));
        s.duration = Duration::from_millis(2_500);
        assert_eq!(render(&info(), &s, 0.0).matches("sending ended").count(), 3);
    }

    #[test]
    fn step_lines_break_at_gaps() {
        let rows = [
            Second {
                second: 0,
                completed: 1,
                p50_us: 10,
                ..Second::default()
            },
            Second {
                second: 1,
                completed: 1,
                p50_us: 20,
                ..Second::default()
            },
            Second {
                second: 3,
                completed: 1,
                p50_us: 10,
                ..Second::default()
            },
        ];
        let b = bins(&rows, 4);
        assert_eq!(b.len(), 4);
        assert_eq!((b[2].p50, b[2].completed), (None, 0.0));
        let x = x_scale(0.0, 4.0);
        let y = y_scale(0.0, 20.0, false);
        let d = step_path(&b, &x, &y, &|b| b.p50);
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('L').count(), 4, "{d}");
        // Rates have no gaps.
        let d = step_path(&b, &x, &y, &|b| Some(b.completed));
        assert_eq!(d.matches('M').count(), 1, "{d}");
    }

    #[test]
    fn long_runs_are_binned() {
        let rows: Vec<Second> = (0..3_601)
            .map(|second| Second {
                second,
                completed: 100,
                errors: u64::from(second == 50),
                p50_us: 1_000,
                p99_us: if second == 7 { 90_000 } else { 5_000 },
                max_us: 9_000 + u64::from(second),
                ..Second::default()
            })
            .collect();
        let b = bins(&rows, 3_601);
        assert!(b.len() <= MAX_BINS as usize, "{}", b.len());
        assert_eq!(b[0].width, 13);
        assert_eq!(b.iter().map(|b| b.width).sum::<u32>(), 3_601);
        assert_eq!(
            (b[0].completed, b[0].p50, b[0].p99),
            (100.0, Some(1_000.0), Some(90_000.0))
        );
        assert!((b[3].errors - 1.0 / 13.0).abs() < 1e-9);
        assert_eq!(b.last().unwrap().max, Some(12_600.0));
    }
}

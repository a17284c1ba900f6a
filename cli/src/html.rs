//! The `--html` report: one self-contained page that shows a run (or a
//! merge) at a glance. A verdict line and key figures, then charts drawn
//! here as inline SVG (latency over time, the latency percentile curve,
//! requests and errors per second), then the report's tables.
//!
//! The page makes no request of any kind: inline CSS, inline SVG, no
//! script, no font, image or link to fetch, and a Content-Security-Policy
//! that forbids every fetch should one ever slip in. Every text that comes
//! from outside (URL, error messages) is escaped.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use volley_core::{ErrorKind, Second, Stats, reason_phrase};

use crate::report::{self, RunInfo, bytes, dur, percent, rate, thousands, us};
use crate::shard::Shard;
use crate::threshold::Verdict;

const BLUE: &str = "#2563eb";
const ORANGE: &str = "#ea580c";
const GRAY: &str = "#94a3b8";
const TEAL: &str = "#0d9488";
const RED: &str = "#dc2626";
const GREEN: &str = "#15803d";
const INK: &str = "#0f172a";

/// The percentiles of the times table.
const PERCENTILES: [(&str, f64); 6] = [
    ("p50", 50.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
    ("p99.99", 99.99),
];

/// The whole page. `wall_start_unix_s` is the wall-clock start (0 when
/// unknown); `shard` is the `--shard` this process ran.
pub(crate) fn render_html(
    info: &RunInfo,
    s: &Stats,
    verdicts: &[Verdict],
    wall_start_unix_s: f64,
    shard: Option<Shard>,
) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let title = format!("volley: {} {}", info.method, info.url);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"volley {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&title)
    );
    header(&mut o, info, s, wall_start_unix_s, shard);
    verdict(&mut o, info, s, verdicts);
    figures(&mut o, info, s);
    let warnings = report::warnings(info, s);
    if !warnings.is_empty() {
        o.push_str("<section class=\"warnings\"><h2>Warnings</h2><ul>");
        for w in &warnings {
            let _ = write!(o, "<li>{}</li>", esc(w));
        }
        o.push_str("</ul></section>\n");
    }
    charts(&mut o, info, s);
    tables(&mut o, info, s, verdicts);
    let _ = write!(
        o,
        "<footer>Written by volley {}. Latency counts from when each request was due, so waits for a free user \
         and server stalls are in it; service time counts from when the request was written.</footer>\n\
         </main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    o
}

const CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;background:#f4f6f9;color:#0f172a;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,'Liberation Sans',sans-serif}\
main{max-width:1240px;margin:0 auto;padding:20px 24px 32px}\
h1{font-size:22px;margin:2px 0 4px;font-weight:600;word-break:break-all}\
h2{font-size:15px;margin:0 0 8px;font-weight:600}\
.brand{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#64748b}\
.method{color:#2563eb;margin-right:6px}\
.meta{color:#475569;margin:0}\
.verdict{display:flex;gap:16px;align-items:center;margin:16px 0 12px;padding:14px 18px;background:#fff;border:1px solid #e2e8f0;border-left:6px solid;border-radius:8px}\
.verdict.good{border-left-color:#16a34a}.verdict.warn{border-left-color:#d97706}.verdict.bad{border-left-color:#dc2626}\
.badge{font-weight:700;font-size:13px;letter-spacing:.05em;padding:5px 10px;border-radius:6px;color:#fff;white-space:nowrap}\
.good .badge{background:#16a34a}.warn .badge{background:#d97706}.bad .badge{background:#dc2626}\
.headline{font-size:19px;font-weight:600}\
.sub{color:#475569;margin-top:2px}\
.chips{list-style:none;margin:8px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:6px}\
.chips li{border-radius:999px;padding:2px 10px;font-size:13px;border:1px solid}\
.chips .pass{color:#166534;background:#f0fdf4;border-color:#bbf7d0}\
.chips .fail{color:#991b1b;background:#fef2f2;border-color:#fecaca}\
.figures{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin-bottom:12px}\
.fig{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 14px}\
.fig .k{font-size:12px;color:#64748b;text-transform:uppercase;letter-spacing:.05em}\
.fig .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}\
.fig .d{font-size:12px;color:#64748b}\
.fig.alert .v{color:#dc2626}\
.warnings{background:#fffbeb;border:1px solid #fde68a;border-radius:8px;padding:10px 16px;margin-bottom:12px}\
.warnings h2{color:#92400e}.warnings ul{margin:0;padding-left:20px}.warnings li{margin:2px 0}\
.grid{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin-bottom:12px}\
.tables{align-items:start}.col{display:flex;flex-direction:column;gap:12px;min-width:0}\
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 14px;min-width:0}\
.card .note{color:#64748b;font-size:12px;margin:4px 0 0}\
svg.chart{display:block;width:100%;height:auto}\
svg text{font-size:11px;fill:#475569}\
svg .legend text{fill:#0f172a;font-size:12px}\
svg .empty{font-size:14px;fill:#64748b}\
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\
th,td{padding:3px 8px;border-bottom:1px solid #f1f5f9;text-align:left;vertical-align:top}\
th{font-weight:600;color:#475569;font-size:12px}\
td.n,th.n{text-align:right;white-space:nowrap}\
tr.total td{font-weight:600}\
code{font:12px ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;word-break:break-all}\
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:6px}\
.bar{height:10px;display:flex;border-radius:5px;overflow:hidden;background:#e2e8f0;margin:6px 0 4px}\
.ok{color:#15803d}.bad-text{color:#dc2626;font-weight:600}\
footer{color:#64748b;font-size:12px;margin-top:8px}\
@media (max-width:900px){.grid{grid-template-columns:1fr}.figures{grid-template-columns:repeat(3,1fr)}}";

fn header(o: &mut String, info: &RunInfo, s: &Stats, wall_start_unix_s: f64, shard: Option<Shard>) {
    let mut meta = vec![match info.target_rps {
        Some(r) => format!("{} req/s target", rate(r)),
        None => "max rate (no pacing)".into(),
    }];
    meta.push(format!(
        "{} user{}",
        thousands(info.users as u64),
        plural(info.users)
    ));
    meta.push(format!("{} thread{}", info.threads, plural(info.threads)));
    meta.push(format!("{} planned", dur(info.duration)));
    if s.duration > std::time::Duration::ZERO && s.duration.abs_diff(info.duration).as_millis() > 50
    {
        meta.push(format!("{} measured", dur(s.duration)));
    }
    meta.push(if info.keep_alive {
        "keep-alive".into()
    } else {
        "a new connection per request".into()
    });
    meta.push(format!("timeout {}", dur(info.timeout)));
    if let Some(sh) = shard {
        meta.push(format!(
            "shard {} of {} (counted from 0)",
            sh.index, sh.count
        ));
    }
    if info.insecure {
        meta.push("TLS certificate NOT verified".into());
    }
    if let Some(t) = utc(wall_start_unix_s) {
        meta.push(format!("started {t}"));
    }
    let _ = writeln!(
        o,
        "<header><div class=\"brand\">volley · load test report</div>\
         <h1><span class=\"method\">{}</span>{}</h1><p class=\"meta\">{}</p></header>",
        esc(&info.method),
        esc(&info.url),
        esc(&meta.join(" · "))
    );
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Failed requests plus completed ones with a status other than 2xx/3xx,
/// and their share of the requests that ended (as `--threshold errors`).
fn error_share(s: &Stats) -> (u64, f64) {
    let errors = s.failed + s.non_success();
    let ended = s.completed + s.failed;
    (
        errors,
        if ended == 0 {
            0.0
        } else {
            100.0 * errors as f64 / ended as f64
        },
    )
}

fn share_text(p: f64) -> String {
    if p == 0.0 {
        "0%".into()
    } else if p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

fn verdict(o: &mut String, info: &RunInfo, s: &Stats, verdicts: &[Verdict]) {
    let (errors, share) = error_share(s);
    let failed_rules = verdicts.iter().filter(|v| !v.passed).count();
    let nothing = s.completed == 0;
    let troubled = errors > 0 || s.unfinished > 0 || s.unsent > 0;
    let (class, badge) = if nothing {
        ("bad", "NO RESPONSE")
    } else if failed_rules > 0 {
        ("bad", "FAILED")
    } else if !verdicts.is_empty() {
        (if troubled { "warn" } else { "good" }, "PASSED")
    } else if troubled {
        ("warn", "ERRORS")
    } else {
        ("good", "OK")
    };
    let mut headline = format!(
        "{} of {} requests completed",
        thousands(s.completed),
        thousands(s.scheduled)
    );
    if !nothing {
        let _ = write!(
            headline,
            ", p99 {}",
            us(s.latency.value_at_percentile(99.0) as f64)
        );
    }
    let _ = write!(headline, ", {} errors", share_text(share));
    let mut sub = vec![format!("achieved {} req/s", rate(s.achieved_rps()))];
    if let Some(t) = info.target_rps {
        sub[0].push_str(&format!(" of {} req/s target", rate(t)));
    }
    if s.failed > 0 {
        sub.push(format!("{} failed", thousands(s.failed)));
    }
    if s.non_success() > 0 {
        sub.push(format!(
            "{} with a status other than 2xx/3xx",
            thousands(s.non_success())
        ));
    }
    if s.unfinished > 0 {
        sub.push(format!("{} unfinished", thousands(s.unfinished)));
    }
    if s.unsent > 0 {
        sub.push(format!("{} never sent", thousands(s.unsent)));
    }
    if !verdicts.is_empty() {
        sub.push(if failed_rules == 0 {
            format!("all {} thresholds passed", verdicts.len())
        } else {
            format!("{failed_rules} of {} thresholds failed", verdicts.len())
        });
    }
    let _ = write!(
        o,
        "<section class=\"verdict {class}\"><div class=\"badge\">{badge}</div><div>\
         <div class=\"headline\">{}</div><div class=\"sub\">{}</div>",
        esc(&headline),
        esc(&sub.join(" · "))
    );
    if !verdicts.is_empty() {
        o.push_str("<ul class=\"chips\">");
        for v in verdicts {
            let _ = write!(
                o,
                "<li class=\"{}\">{} {} <b>{}</b></li>",
                if v.passed { "pass" } else { "fail" },
                if v.passed { "✓" } else { "✗" },
                esc(v.rule.text()),
                esc(&v.shown())
            );
        }
        o.push_str("</ul>");
    }
    o.push_str("</div></section>\n");
}

fn figures(o: &mut String, info: &RunInfo, s: &Stats) {
    let (errors, share) = error_share(s);
    let lat = |p: f64| {
        if s.latency.is_empty() {
            "-".to_string()
        } else {
            us(s.latency.value_at_percentile(p) as f64)
        }
    };
    let srv = |p: f64| {
        if s.service.is_empty() {
            "-".to_string()
        } else {
            us(s.service.value_at_percentile(p) as f64)
        }
    };
    let achieved = s.achieved_rps();
    let rate_note = match info.target_rps {
        Some(t) if t > 0.0 => format!("{:.1}% of {} target", 100.0 * achieved / t, rate(t)),
        _ => "max rate".into(),
    };
    let secs = s.duration.as_secs_f64().max(1e-9);
    let cards: [(&str, String, String, bool); 6] = [
        (
            "Throughput",
            format!("{} req/s", rate(achieved)),
            rate_note,
            false,
        ),
        (
            "Latency p50",
            lat(50.0),
            format!("service {}", srv(50.0)),
            false,
        ),
        (
            "Latency p99",
            lat(99.0),
            format!("service {}", srv(99.0)),
            false,
        ),
        (
            "Latency max",
            if s.latency.is_empty() {
                "-".into()
            } else {
                us(s.latency.max() as f64)
            },
            format!("p99.9 {}", lat(99.9)),
            false,
        ),
        (
            "Errors",
            share_text(share),
            format!(
                "{} of {}",
                thousands(errors),
                thousands(s.completed + s.failed)
            ),
            errors > 0,
        ),
        (
            "Received",
            bytes(s.bytes_in),
            format!("{}/s", bytes((s.bytes_in as f64 / secs) as u64)),
            false,
        ),
    ];
    o.push_str("<section class=\"figures\">");
    for (k, v, d, alert) in cards {
        let _ = write!(
            o,
            "<div class=\"fig{}\"><div class=\"k\">{}</div><div class=\"v\">{}</div><div class=\"d\">{}</div></div>",
            if alert { " alert" } else { "" },
            esc(k),
            esc(&v),
            esc(&d)
        );
    }
    o.push_str("</section>\n");
}

fn charts(o: &mut String, info: &RunInfo, s: &Stats) {
    let rows = &s.timeline;
    let end = rows.last().map_or(0, |r| r.second + 1);
    // Whole seconds from t0 to the last row or the end of the window.
    let span = (s.duration.as_secs_f64().ceil() as u32).max(end).max(1);
    let window = s.duration.as_secs_f64();
    let bins = bins(rows, span);
    let width = bins.first().map_or(1, |b| b.width);
    let (per, binned) = if width == 1 {
        ("Per second of the run".to_string(), String::new())
    } else {
        (
            format!("Per {width} s of the run"),
            format!(
                " Each step covers {width} s: p50 is the mean of its seconds' medians, p99 and max the highest."
            ),
        )
    };
    o.push_str("<section class=\"grid\">\n");
    let _ = writeln!(
        o,
        "<div class=\"card\"><h2>Latency over time</h2>{}<p class=\"note\">{per}: the median, 99th percentile and \
         highest latency of the responses that completed in it.{binned}</p></div>",
        window_end(latency_over_time(&bins, span), span, window)
    );
    let _ = writeln!(
        o,
        "<div class=\"card\"><h2>Latency by percentile</h2>{}<p class=\"note\">The whole run: at 99%, the latency \
         that all but the slowest 1% of responses stayed within. Latency counts from when each request was due, \
         service time from when it was written; the gap between the lines is time spent waiting to be sent.</p></div>",
        percentile_curve(&s.latency, &s.service)
    );
    let _ = writeln!(
        o,
        "<div class=\"card\"><h2>Requests per second</h2>{}<p class=\"note\">{per}: responses completed per \
         second, against the target rate.</p></div>",
        window_end(rate_over_time(&bins, span, info.target_rps), span, window)
    );
    let _ = writeln!(
        o,
        "<div class=\"card\"><h2>Errors per second</h2>{}{}</div>",
        window_end(errors_over_time(&bins, span), span, window),
        status_bar(s)
    );
    o.push_str("</section>\n");
}

/// Marks the end of the sending window on a time chart when responses
/// still arrived after it (the last, partial second then looks like a drop).
fn window_end(mut svg: String, span: u32, window: f64) -> String {
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
    let mark = format!(
        "<line x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"{INK}\" stroke-opacity=\"0.5\" \
         stroke-dasharray=\"2 3\"/><text x=\"{tx:.1}\" y=\"{}\" text-anchor=\"{anchor}\" \
         style=\"fill:{INK}\">sending ended</text>",
        H - BOTTOM,
        TOP + 10.0
    );
    if let Some(at) = svg.rfind("</svg>") {
        svg.insert_str(at, &mark);
    }
    svg
}

/// The share of each status code (and of failures) as one stacked bar,
/// with a legend.
fn status_bar(s: &Stats) -> String {
    let total = s.completed + s.failed;
    let mut o = String::new();
    if total == 0 {
        return "<p class=\"note\">No request ended.</p>".into();
    }
    let mut parts: Vec<(String, u64, &str)> = s
        .statuses()
        .map(|(c, n)| (format!("{c} {}", reason_phrase(c)), n, status_color(c)))
        .collect();
    if s.failed > 0 {
        parts.push(("failed (no response)".into(), s.failed, "#7f1d1d"));
    }
    o.push_str("<div class=\"bar\">");
    for (label, n, color) in &parts {
        let _ = write!(
            o,
            "<span title=\"{}\" style=\"width:{:.3}%;background:{color}\"></span>",
            esc(label),
            100.0 * *n as f64 / total as f64
        );
    }
    o.push_str("</div><p class=\"note\">");
    let items: Vec<String> = parts
        .iter()
        .map(|(label, n, color)| {
            format!(
                "<span class=\"dot\" style=\"background:{color}\"></span>{} {}",
                esc(label),
                percent(*n, total)
            )
        })
        .collect();
    o.push_str(&items.join(" &nbsp; "));
    o.push_str(". Errors are failed requests plus responses with a status other than 2xx/3xx.</p>");
    o
}

fn status_color(code: u16) -> &'static str {
    match code {
        200..=299 => "#16a34a",
        300..=399 => "#2563eb",
        400..=499 => "#d97706",
        _ => "#dc2626",
    }
}

// ---------------------------------------------------------------- charts

const W: f64 = 580.0;
const H: f64 = 250.0;
const LEFT: f64 = 62.0;
const RIGHT: f64 = 26.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 34.0;

/// A map from data values to pixels.
#[derive(Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    from: f64,
    to: f64,
}

impl Scale {
    fn at(&self, v: f64) -> f64 {
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

fn x_scale(lo: f64, hi: f64) -> Scale {
    Scale {
        lo,
        hi,
        log: false,
        from: LEFT,
        to: W - RIGHT,
    }
}

fn y_scale(lo: f64, hi: f64, log: bool) -> Scale {
    Scale {
        lo,
        hi,
        log,
        from: H - BOTTOM,
        to: TOP,
    }
}

enum Mark {
    Line,
    Dashed,
    Area,
}

/// The axes of a chart: scales, ticks with their labels, titles.
struct Axes<'a> {
    x: Scale,
    x_ticks: Vec<(f64, String)>,
    x_title: &'a str,
    y: Scale,
    y_ticks: Vec<(f64, String)>,
    y_title: &'a str,
}

/// Starts a chart: the frame, grid lines, tick labels, axis titles and
/// the legend. The caller adds the data and closes the `<svg>`.
fn frame(id: &str, label: &str, axes: &Axes<'_>, legend: &[(&str, &str, Mark)]) -> String {
    let Axes {
        x,
        x_ticks,
        x_title,
        y,
        y_ticks,
        y_title,
    } = axes;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        esc(label)
    );
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, H - BOTTOM, TOP);
    o.push_str("<g class=\"grid\">");
    for (v, text) in y_ticks {
        let py = y.at(*v);
        let _ = write!(
            o,
            "<line x1=\"{x0}\" y1=\"{py:.1}\" x2=\"{x1}\" y2=\"{py:.1}\" stroke=\"#e2e8f0\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 - 6.0,
            py + 4.0,
            esc(text)
        );
    }
    for (v, text) in x_ticks {
        let px = x.at(*v);
        let _ = write!(
            o,
            "<line x1=\"{px:.1}\" y1=\"{y0}\" x2=\"{px:.1}\" y2=\"{:.1}\" stroke=\"#94a3b8\"/>\
             <text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y0 + 4.0,
            y0 + 16.0,
            esc(text)
        );
    }
    let _ = write!(
        o,
        "<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#94a3b8\"/>\
         <line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"#94a3b8\"/></g>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text transform=\"translate(12 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        (x0 + x1) / 2.0,
        H - 4.0,
        esc(x_title),
        (y0 + y1) / 2.0,
        esc(y_title)
    );
    o.push_str("<g class=\"legend\">");
    let mut lx = x0;
    for (color, text, mark) in legend {
        let ly = 14.0;
        match mark {
            Mark::Line => {
                let _ = write!(
                    o,
                    "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2.5\"/>",
                    lx + 18.0
                );
            }
            Mark::Dashed => {
                let _ = write!(
                    o,
                    "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/>",
                    lx + 18.0
                );
            }
            Mark::Area => {
                let _ = write!(
                    o,
                    "<rect x=\"{lx}\" y=\"{}\" width=\"18\" height=\"10\" fill=\"{color}\" fill-opacity=\"0.3\" stroke=\"{color}\"/>",
                    ly - 5.0
                );
            }
        }
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            lx + 23.0,
            ly + 4.0,
            esc(text)
        );
        lx += 23.0 + 6.6 * text.chars().count() as f64 + 18.0;
    }
    o.push_str("</g>");
    o
}

fn empty_chart(id: &str, label: &str, message: &str) -> String {
    let axes = Axes {
        x: x_scale(0.0, 1.0),
        x_ticks: Vec::new(),
        x_title: "",
        y: y_scale(0.0, 1.0, false),
        y_ticks: Vec::new(),
        y_title: "",
    };
    let mut o = frame(id, label, &axes, &[]);
    let _ = write!(
        o,
        "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></svg>",
        W / 2.0,
        H / 2.0,
        esc(message)
    );
    o
}

/// About `count` round steps from 0 to at least `max`: (top, ticks).
fn linear_ticks(max: f64, count: usize) -> (f64, Vec<f64>) {
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
fn log_ticks(lo: f64, hi: f64) -> (f64, f64, Vec<f64>) {
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
fn short_us(v: f64) -> String {
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
fn short_count(v: f64) -> String {
    if v.abs() < 1_000.0 {
        trim(format!("{v:.2}"))
    } else if v.abs() < 1_000_000.0 {
        format!("{}k", trim(format!("{:.2}", v / 1e3)))
    } else {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Ticks of the time axis, 0 to `span` seconds.
fn time_ticks(span: u32) -> Vec<(f64, String)> {
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
fn step_path(bins: &[Bin], x: &Scale, y: &Scale, value: &dyn Fn(&Bin) -> Option<f64>) -> String {
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

fn latency_over_time(bins: &[Bin], span: u32) -> String {
    let id = "chart-latency-time";
    let label = "Latency over time";
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
    for (color, width, f) in [
        (
            GRAY,
            1.5,
            (&|b: &Bin| b.max) as &dyn Fn(&Bin) -> Option<f64>,
        ),
        (ORANGE, 2.0, &|b: &Bin| b.p99),
        (BLUE, 2.0, &|b: &Bin| b.p50),
    ] {
        let _ = write!(
            o,
            "<path class=\"series\" d=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\" stroke-linejoin=\"round\"/>",
            step_path(bins, &x, &y, f)
        );
    }
    o.push_str("</svg>");
    o
}

/// A filled step area under `value` and its outline.
fn step_area(
    bins: &[Bin],
    x: &Scale,
    y: &Scale,
    color: &str,
    value: &dyn Fn(&Bin) -> f64,
) -> String {
    let line = step_path(bins, x, y, &|b| Some(value(b)));
    let (Some(first), Some(last)) = (bins.first(), bins.last()) else {
        return String::new();
    };
    let base = y.at(y.lo);
    // The outline starts with "M"; the area joins it to the baseline.
    let area = format!(
        "M{:.1},{base:.1} L{} L{:.1},{base:.1} Z",
        x.at(f64::from(first.start)),
        line.trim_start_matches('M'),
        x.at(f64::from(last.start + last.width))
    );
    format!(
        "<path d=\"{area}\" fill=\"{color}\" fill-opacity=\"0.18\" stroke=\"none\"/>\
         <path class=\"series\" d=\"{line}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>"
    )
}

fn rate_over_time(bins: &[Bin], span: u32, target: Option<f64>) -> String {
    let peak = bins.iter().map(|b| b.completed).fold(0.0, f64::max);
    let (top, ticks) = linear_ticks(peak.max(target.unwrap_or(0.0)) * 1.05, 5);
    let x = x_scale(0.0, f64::from(span));
    let y = y_scale(0.0, top, false);
    let target_label = target.map(|t| format!("target {} req/s", rate(t)));
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
    o.push_str(&step_area(bins, &x, &y, BLUE, &|b| b.completed));
    if let Some(t) = target {
        let py = y.at(t);
        let _ = write!(
            o,
            "<line x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{}\" y2=\"{py:.1}\" stroke=\"{INK}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
            W - RIGHT
        );
    }
    o.push_str("</svg>");
    o
}

fn errors_over_time(bins: &[Bin], span: u32) -> String {
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
    let mut o = frame(
        "chart-errors-time",
        "Errors per second",
        &axes,
        &[(
            RED,
            "errors per second (failed, or status not 2xx/3xx)",
            Mark::Area,
        )],
    );
    o.push_str(&step_area(bins, &x, &y, RED, &|b| b.errors));
    if peak == 0.0 {
        let _ = write!(
            o,
            "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" style=\"fill:{GREEN}\">no errors</text>",
            (LEFT + W - RIGHT) / 2.0,
            (TOP + H - BOTTOM) / 2.0
        );
    }
    o.push_str("</svg>");
    o
}

/// The classic HDR plot: latency against percentile, the percentile axis
/// stretched as log10(1 / (1 − p)) so the tail gets the room.
fn percentile_curve(latency: &Histogram<u64>, service: &Histogram<u64>) -> String {
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
            (BLUE, "latency", Mark::Line),
            (TEAL, "service time", Mark::Dashed),
        ],
    );
    let poly = |pts: &[(f64, f64)]| -> String {
        pts.iter()
            .map(|(a, b)| format!("{:.1},{:.1}", x.at(*a), y.at(*b)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !srv.is_empty() {
        let _ = write!(
            o,
            "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{TEAL}\" stroke-width=\"2\" stroke-dasharray=\"6 3\" stroke-linejoin=\"round\"/>",
            poly(&srv)
        );
    }
    let _ = write!(
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
        let _ = write!(
            o,
            "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3.5\" fill=\"{BLUE}\"/>\
             <text x=\"{:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" style=\"fill:{INK}\">{name} {}</text>",
            px - 4.0,
            esc(&us(v))
        );
    }
    o.push_str("</svg>");
    o
}

// ---------------------------------------------------------------- tables

fn tables(o: &mut String, info: &RunInfo, s: &Stats, verdicts: &[Verdict]) {
    // Two columns that do not stretch their cards to each other's height.
    let _ = writeln!(
        o,
        "<section class=\"grid tables\"><div class=\"col\">{}{}{}</div><div class=\"col\">{}{}{}</div></section>",
        card_requests(info, s),
        card_status_codes(s),
        card_transfer(info, s),
        card_times(s),
        card_errors(s),
        card_thresholds(verdicts)
    );
}

fn card_requests(info: &RunInfo, s: &Stats) -> String {
    let mut o = String::new();
    o.push_str("<div class=\"card\"><h2>Requests</h2><table>");
    for (name, n, what) in [
        ("scheduled", s.scheduled, "due within the run"),
        ("sent", s.sent, "whose write started"),
        ("completed", s.completed, "full response, any status"),
        ("failed", s.failed, "ended in an error"),
        ("unfinished", s.unfinished, "still in flight at the end"),
        ("unsent", s.unsent, "never started: no user was free"),
    ] {
        let class = if (name == "failed" || name == "unsent" || name == "unfinished") && n > 0 {
            " class=\"bad-text\""
        } else {
            ""
        };
        let _ = write!(
            o,
            "<tr><td>{name}</td><td class=\"n\"{class}>{}</td><td class=\"what\">{what}</td></tr>",
            thousands(n)
        );
    }
    let mut achieved = format!("{} req/s over {}", rate(s.achieved_rps()), dur(s.duration));
    if s.scheduled > 0 && info.target_rps.is_some() {
        let _ = write!(
            achieved,
            " ({:.1}% of schedule)",
            100.0 * s.completed as f64 / s.scheduled as f64
        );
    }
    let _ = write!(
        o,
        "<tr class=\"total\"><td>achieved</td><td class=\"n\" colspan=\"2\">{}</td></tr>",
        esc(&achieved)
    );
    o.push_str("</table></div>\n");
    o
}

fn card_times(s: &Stats) -> String {
    let mut o = String::new();
    o.push_str("<div class=\"card\"><h2>Times</h2>");
    if s.completed == 0 {
        o.push_str("<p>No response completed.</p>");
    } else {
        o.push_str("<table><tr><th></th><th class=\"n\">latency</th><th class=\"n\">service</th><th class=\"n\">ttfb</th></tr>");
        let cols = [&s.latency, &s.service, &s.ttfb];
        let mut row = |name: &str, f: &dyn Fn(&Histogram<u64>) -> f64| {
            let _ = write!(o, "<tr><td>{name}</td>");
            for h in cols {
                let _ = write!(o, "<td class=\"n\">{}</td>", esc(&us(f(h))));
            }
            o.push_str("</tr>");
        };
        row("mean", &|h| h.mean());
        row("stdev", &|h| h.stdev());
        row("min", &|h| h.min() as f64);
        for (label, p) in PERCENTILES {
            row(label, &|h| h.value_at_percentile(p) as f64);
        }
        row("max", &|h| h.max() as f64);
        o.push_str(
            "</table><p class=\"note\">latency: from when the request was due; service: from the start of the \
             write to the end of the response; ttfb: to the first response byte.</p>",
        );
    }
    o.push_str("</div>\n");
    o
}

fn card_status_codes(s: &Stats) -> String {
    let mut o = String::new();
    o.push_str("<div class=\"card\"><h2>Status codes</h2>");
    if s.completed == 0 {
        o.push_str("<p>None.</p>");
    } else {
        o.push_str("<table><tr><th>code</th><th></th><th class=\"n\">count</th><th class=\"n\">share</th></tr>");
        for (code, n) in s.statuses() {
            let _ = write!(
                o,
                "<tr><td><span class=\"dot\" style=\"background:{}\"></span>{code}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                status_color(code),
                esc(reason_phrase(code)),
                thousands(n),
                percent(n, s.completed)
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</div>\n");
    o
}

fn card_errors(s: &Stats) -> String {
    let mut o = String::new();
    o.push_str("<div class=\"card\"><h2>Errors</h2>");
    let kinds: Vec<ErrorKind> = ErrorKind::ALL
        .into_iter()
        .filter(|k| s.errors[k.index()] > 0 || s.examples.0[k.index()].is_some())
        .collect();
    if kinds.is_empty() {
        o.push_str("<p class=\"ok\">No request failed.</p>");
        if s.non_success() > 0 {
            let _ = write!(
                o,
                "<p class=\"note\">{} responses had a status other than 2xx/3xx: see Status codes.</p>",
                thousands(s.non_success())
            );
        }
    } else {
        o.push_str("<table><tr><th>kind</th><th class=\"n\">count</th><th>first message</th></tr>");
        for k in kinds {
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
                esc(k.label()),
                thousands(s.errors[k.index()]),
                esc(s.examples.0[k.index()].as_deref().unwrap_or("-"))
            );
        }
        o.push_str("</table>");
        if s.connect_failures > 0 {
            let _ = write!(
                o,
                "<p class=\"note\">{} failed connect attempts in all, retried with backoff.</p>",
                thousands(s.connect_failures)
            );
        }
    }
    o.push_str("</div>\n");
    o
}

fn card_transfer(info: &RunInfo, s: &Stats) -> String {
    let mut o = String::new();
    let secs = s.duration.as_secs_f64().max(1e-9);
    o.push_str("<div class=\"card\"><h2>Transfer</h2><table>");
    let _ = write!(
        o,
        "<tr><td>received</td><td class=\"n\">{}</td><td>{}/s</td></tr><tr><td>sent</td><td class=\"n\">{}</td><td>{}/s</td></tr>",
        esc(&bytes(s.bytes_in)),
        esc(&bytes((s.bytes_in as f64 / secs) as u64)),
        esc(&bytes(s.bytes_out)),
        esc(&bytes((s.bytes_out as f64 / secs) as u64))
    );
    let connect = if s.connections > 0 {
        format!(
            "connect mean {}, max {}",
            us(s.connect.mean()),
            us(s.connect.max() as f64)
        )
    } else {
        String::new()
    };
    let _ = write!(
        o,
        "<tr><td>connections</td><td class=\"n\">{}</td><td>{}</td></tr>",
        thousands(s.connections),
        esc(&connect)
    );
    if info.tls && !s.tls_handshake.is_empty() {
        let _ = write!(
            o,
            "<tr><td>TLS handshakes</td><td class=\"n\">{}</td><td>{}</td></tr>",
            thousands(s.tls_handshake.len()),
            esc(&format!(
                "mean {}, max {}; {} full, {} resumed",
                us(s.tls_handshake.mean()),
                us(s.tls_handshake.max() as f64),
                thousands(s.tls_full),
                thousands(s.tls_resumed)
            ))
        );
    }
    if s.sent > 0 {
        let _ = write!(
            o,
            "<tr><td>send lag</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&format!(
                "p50 {}",
                us(s.send_lag.value_at_percentile(50.0) as f64)
            )),
            esc(&format!(
                "p99 {} (how late requests left after they were due)",
                us(s.send_lag.value_at_percentile(99.0) as f64)
            ))
        );
    }
    o.push_str("</table></div>\n");
    o
}

fn card_thresholds(verdicts: &[Verdict]) -> String {
    let mut o = String::new();
    o.push_str("<div class=\"card\"><h2>Thresholds</h2>");
    if verdicts.is_empty() {
        o.push_str("<p class=\"note\">No --threshold rule was given.</p>");
    } else {
        o.push_str("<table><tr><th>rule</th><th>result</th><th class=\"n\">measured</th></tr>");
        for v in verdicts {
            let _ = write!(
                o,
                "<tr><td><code>{}</code></td><td class=\"{}\">{}</td><td class=\"n\">{}</td></tr>",
                esc(v.rule.text()),
                if v.passed { "ok" } else { "bad-text" },
                if v.passed { "passed" } else { "FAILED" },
                esc(&v.shown())
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</div>\n");
    o
}

/// Escapes text for HTML content and attribute values; control
/// characters other than tab and newline become U+FFFD.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\t' | '\n' => o.push(c),
            c if c.is_control() => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// `2026-01-31 12:00:05 UTC` for Unix seconds; `None` for 0 or less.
fn utc(unix_s: f64) -> Option<String> {
    if !(unix_s > 0.0 && unix_s < 1e12) {
        return None;
    }
    let secs = unix_s.floor() as i64;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Some(format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn info() -> RunInfo {
        RunInfo {
            method: "GET".into(),
            url: "http://127.0.0.1:8080/a?b=1&c=<x>".into(),
            duration: Duration::from_secs(3),
            target_rps: Some(100.0),
            users: 4,
            threads: 1,
            keep_alive: true,
            timeout: Duration::from_secs(30),
            ..RunInfo::default()
        }
    }

    fn stats() -> Stats {
        let mut s = Stats::new();
        for second in 0..3u32 {
            s.timeline.push(Second {
                second,
                completed: 100,
                errors: u64::from(second),
                p50_us: 1_000 + u64::from(second) * 100,
                p99_us: 3_000,
                max_us: 9_000,
            });
        }
        for i in 0..300u64 {
            s.latency.record(900 + i * 10).unwrap();
            s.service.record(800 + i * 10).unwrap();
            s.ttfb.record(700 + i * 10).unwrap();
        }
        s.add_status(200, 297);
        s.add_status(503, 3);
        s.scheduled = 300;
        s.sent = 300;
        s.completed = 300;
        s.duration = Duration::from_secs(3);
        s
    }

    #[test]
    fn page_is_self_contained_and_escaped() {
        let mut s = stats();
        s.failed = 1;
        s.scheduled += 1;
        s.errors[ErrorKind::Timeout.index()] = 1;
        s.examples.0[ErrorKind::Timeout.index()] = Some("<script>alert(1)</script> & \"q\"".into());
        let page = render_html(&info(), &s, &[], 1_700_000_000.0, None);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("http://127.0.0.1:8080/a?b=1&amp;c=&lt;x&gt;"));
        assert!(!page.contains("<x>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"));
        assert!(!page.contains("<script"));
        for needle in ["src=", "href=", "@import", "url(", "<link", "<img"] {
            assert!(!page.contains(needle), "{needle}");
        }
        // The only URL is the target's (twice: title and heading).
        assert_eq!(page.matches("http://").count(), 2);
        assert_eq!(page.matches("https://").count(), 0);
        for id in [
            "chart-latency-time",
            "chart-percentiles",
            "chart-rate-time",
            "chart-errors-time",
        ] {
            assert!(page.contains(&format!("<svg id=\"{id}\"")), "{id}");
        }
        assert!(page.contains("started 2023-11-14 22:13:20 UTC"));
        assert!(page.contains("300 of 301 requests completed"));
    }

    #[test]
    fn empty_run_still_renders() {
        let mut s = Stats::new();
        s.scheduled = 10;
        s.failed = 10;
        s.errors[ErrorKind::ConnectRefused.index()] = 10;
        let page = render_html(&info(), &s, &[], 0.0, None);
        assert!(page.contains("NO RESPONSE"));
        assert!(page.contains("no response completed"));
        assert!(!page.contains("NaN") && !page.contains("inf,") && !page.contains("inf\""));
    }

    #[test]
    fn the_end_of_sending_is_marked_only_before_the_last_row() {
        let mut s = stats();
        let svg = latency_over_time(&bins(&s.timeline, 3), 3);
        assert!(!window_end(svg.clone(), 3, 3.0).contains("sending ended"));
        assert!(window_end(svg, 3, 2.5).contains("sending ended"));
        s.duration = Duration::from_millis(2_500);
        assert!(
            render_html(&info(), &s, &[], 0.0, None)
                .matches("sending ended")
                .count()
                == 3
        );
    }

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
        assert_eq!(utc(0.5), Some("1970-01-01 00:00:00 UTC".into()));
        assert_eq!(utc(951_782_400.0), Some("2000-02-29 00:00:00 UTC".into()));
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
    #[allow(clippy::needless_update)] // kept for fields `Second` may gain
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

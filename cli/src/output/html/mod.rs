//! The `--html` report: one self-contained page that shows a run (or a
//! merge) at a glance. A verdict line and key figures, then charts drawn
//! here as inline SVG (latency over time, the latency percentile curve,
//! requests and errors per second), for a run of targets their table and
//! latency over time for the target chosen, then the report's tables.
//!
//! The page makes no request of any kind: inline CSS, inline SVG, no
//! script, no font, image or link to fetch, and a Content-Security-Policy
//! that forbids every fetch should one ever slip in. Text from outside
//! (URL, error messages) cannot become markup: the page is written through
//! [`writer::Html`], which escapes every argument.
//!
//! The pages of `volley compare` and `volley find` live beside those
//! commands (`compare/html.rs`, `find/html.rs`) and are drawn with the parts
//! here: [`head`], [`axes`], [`charts`].

pub(crate) mod axes;
mod cards;
pub(crate) mod charts;
pub(crate) mod writer;

use writer::{Html, html};

use crate::format::{bytes, dur, rate, share, thousands, us};
use crate::output::Summary;

pub(crate) const BLUE: &str = "#2563eb";
pub(crate) const ORANGE: &str = "#ea580c";
const GRAY: &str = "#94a3b8";
const TEAL: &str = "#0d9488";
pub(crate) const RED: &str = "#dc2626";
const GREEN: &str = "#15803d";
const INK: &str = "#0f172a";

/// The start of every page, up to `<main>`.
pub(crate) fn head(o: &mut Html, title: &str) {
    html!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"volley {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        env!("CARGO_PKG_VERSION"),
        title
    );
}

/// The whole page.
pub(crate) fn page(s: &Summary<'_>) -> String {
    let mut o = Html::with_capacity(64 * 1024);
    let info = s.run;
    let version = env!("CARGO_PKG_VERSION");
    head(&mut o, &format!("volley: {}", info.request()));
    header(&mut o, s);
    verdict(&mut o, s);
    figures(&mut o, s);
    if !s.warnings.is_empty() {
        html!(o, "<section class=\"warnings\"><h2>Warnings</h2><ul>");
        for w in &s.warnings {
            html!(o, "<li>{}</li>", w);
        }
        html!(o, "</ul></section>\n");
    }
    charts::charts(&mut o, s);
    cards::targets(&mut o, s);
    charts::target_charts(&mut o, s);
    cards::tables(&mut o, s);
    html!(
        o,
        "<footer>Written by volley {}. Latency counts from when each request was due, so waits for a free user \
         and server stalls are in it; service time counts from when the request was written.</footer>\n\
         </main>\n</body>\n</html>\n",
        version
    );
    o.into_string()
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
.tabs{position:relative;display:flex;flex-wrap:wrap;gap:6px}\
.tabs>input{position:absolute;opacity:0;width:1px;height:1px;margin:0}\
.tabs>label{order:0;padding:2px 10px;border:1px solid #e2e8f0;border-radius:999px;font-size:13px;cursor:pointer;max-width:100%;overflow-wrap:anywhere}\
.tabs>input:checked+label{color:#fff;background:#2563eb;border-color:#2563eb}\
.tabs>input:focus-visible+label{outline:2px solid #0f172a;outline-offset:1px}\
.tabs>.panel{order:1;width:100%;display:none;margin-top:4px}\
.tabs>input:checked+label+.panel{display:block}\
@media (max-width:900px){.grid{grid-template-columns:1fr}.figures{grid-template-columns:repeat(3,1fr)}}";

fn header(o: &mut Html, s: &Summary<'_>) {
    let info = s.run;
    let mut meta = vec![match info.target_rps {
        Some(r) if !info.stages.is_empty() => {
            format!("{} stages up to {} req/s", info.stages.len(), rate(r))
        }
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
    let window = s.requests.window;
    if window > std::time::Duration::ZERO && window.abs_diff(info.duration).as_millis() > 50 {
        meta.push(format!("{} measured", dur(window)));
    }
    meta.push(match (info.connections, info.keep_alive) {
        (Some(c), _) => format!("HTTP/2 over {c} connection{} to each origin", plural(c)),
        (None, true) => "keep-alive".into(),
        (None, false) => "a new connection per request".into(),
    });
    meta.push(format!("timeout {}", dur(info.timeout)));
    if let Some(to) = s.destinations_to_show() {
        meta.push(format!("connected to {to}"));
    }
    if let Some(sh) = info.shard {
        meta.push(format!(
            "shard {} of {} (counted from 0)",
            sh.index, sh.count
        ));
    }
    if info.insecure {
        meta.push("TLS certificate NOT verified".into());
    }
    if let Some(t) = utc(s.wall_start_unix_s) {
        meta.push(format!("started {t}"));
    }
    html!(
        o,
        "<header><div class=\"brand\">volley · load test report</div>\
         <h1><span class=\"method\">{}</span>{}</h1><p class=\"meta\">{}</p></header>\n",
        if info.targets.is_empty() {
            info.method.as_str()
        } else {
            ""
        },
        if info.targets.is_empty() {
            info.url.clone()
        } else {
            info.request()
        },
        meta.join(" · ")
    );
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn verdict(o: &mut Html, s: &Summary<'_>) {
    let r = &s.requests;
    let verdicts = &s.verdicts;
    let failed_rules = verdicts.iter().filter(|v| !v.passed).count();
    let nothing = r.completed == 0;
    let troubled = s.errors_total > 0 || r.unfinished > 0 || r.unsent > 0;
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
        thousands(r.completed),
        thousands(r.scheduled)
    );
    if !nothing {
        headline.push_str(&format!(", p99 {}", us(s.latency.at(99.0) as f64)));
    }
    headline.push_str(&format!(", {} errors", share(s.error_share)));
    let mut sub = vec![format!("achieved {} req/s", rate(r.achieved_rps))];
    if let Some(t) = s.run.target_rps {
        sub[0].push_str(&format!(" of {} req/s target", rate(t)));
    }
    if r.failed > 0 {
        sub.push(format!("{} failed", thousands(r.failed)));
    }
    if s.non_success > 0 {
        sub.push(format!(
            "{} with a status other than 2xx/3xx",
            thousands(s.non_success)
        ));
    }
    if r.unfinished > 0 {
        sub.push(format!("{} unfinished", thousands(r.unfinished)));
    }
    if r.unsent > 0 {
        sub.push(format!("{} never sent", thousands(r.unsent)));
    }
    if !verdicts.is_empty() {
        sub.push(if failed_rules == 0 {
            format!("all {} thresholds passed", verdicts.len())
        } else {
            format!("{failed_rules} of {} thresholds failed", verdicts.len())
        });
    }
    html!(
        o,
        "<section class=\"verdict {}\"><div class=\"badge\">{}</div><div>\
         <div class=\"headline\">{}</div><div class=\"sub\">{}</div>",
        class,
        badge,
        headline,
        sub.join(" · ")
    );
    if !verdicts.is_empty() {
        html!(o, "<ul class=\"chips\">");
        for v in verdicts {
            let (class, mark) = if v.passed {
                ("pass", "✓")
            } else {
                ("fail", "✗")
            };
            html!(
                o,
                "<li class=\"{}\">{} {} <b>{}</b></li>",
                class,
                mark,
                v.rule.text(),
                v.shown()
            );
        }
        html!(o, "</ul>");
    }
    html!(o, "</div></section>\n");
}

fn figures(o: &mut Html, s: &Summary<'_>) {
    let dash_if_empty = |count: u64, v: u64| {
        if count == 0 {
            "-".to_string()
        } else {
            us(v as f64)
        }
    };
    let lat = |p: f64| dash_if_empty(s.latency.count, s.latency.at(p));
    let srv = |p: f64| dash_if_empty(s.service.count, s.service.at(p));
    let r = &s.requests;
    let rate_note = match s.run.target_rps {
        Some(t) if t > 0.0 => format!("{:.1}% of {} target", 100.0 * r.achieved_rps / t, rate(t)),
        _ => "max rate".into(),
    };
    let cards: [(&str, String, String, bool); 6] = [
        (
            "Throughput",
            format!("{} req/s", rate(r.achieved_rps)),
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
            dash_if_empty(s.latency.count, s.latency.max),
            format!("p99.9 {}", lat(99.9)),
            false,
        ),
        (
            "Errors",
            share(s.error_share),
            format!(
                "{} of {}",
                thousands(s.errors_total),
                thousands(r.completed + r.failed)
            ),
            s.errors_total > 0,
        ),
        (
            "Received",
            bytes(s.bytes.received),
            format!("{}/s", bytes(s.bytes_per_s.received)),
            false,
        ),
    ];
    html!(o, "<section class=\"figures\">");
    for (k, v, d, alert) in cards {
        html!(
            o,
            "<div class=\"fig{}\"><div class=\"k\">{}</div><div class=\"v\">{}</div><div class=\"d\">{}</div></div>",
            if alert { " alert" } else { "" },
            k,
            v,
            d
        );
    }
    html!(o, "</section>\n");
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

    use volley_core::{ErrorKind, Second, Stats};

    use super::*;
    use crate::result::RunInfo;

    pub(super) fn info() -> RunInfo {
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

    pub(super) fn stats() -> Stats {
        let mut s = Stats::new();
        for second in 0..3u32 {
            s.timeline.push(Second {
                second,
                completed: 100,
                errors: u64::from(second),
                p50_us: 1_000 + u64::from(second) * 100,
                p99_us: 3_000,
                max_us: 9_000,
                ..Second::default()
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

    pub(super) fn render(info: &RunInfo, s: &Stats, wall_start: f64) -> String {
        page(&Summary::new(info, s, &[], wall_start))
    }

    #[test]
    fn page_is_self_contained_and_escaped() {
        let mut s = stats();
        s.failed = 1;
        s.scheduled += 1;
        s.errors[ErrorKind::Timeout.index()] = 1;
        s.examples.0[ErrorKind::Timeout.index()] = Some("<script>alert(1)</script> & \"q\"".into());
        let page = render(&info(), &s, 1_700_000_000.0);
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
    fn a_share_below_a_tenth_of_a_percent_is_escaped() {
        let mut s = stats();
        s.add_status(404, 1);
        s.completed += 1_000;
        let page = render(&info(), &s, 0.0);
        assert!(page.contains("&lt;0.1%"), "the 404's share");
        assert!(!page.contains("<0.1%"));
    }

    #[test]
    fn empty_run_still_renders() {
        let mut s = Stats::new();
        s.scheduled = 10;
        s.failed = 10;
        s.errors[ErrorKind::ConnectRefused.index()] = 10;
        let page = render(&info(), &s, 0.0);
        assert!(page.contains("NO RESPONSE"));
        assert!(page.contains("no response completed"));
        assert!(!page.contains("NaN") && !page.contains("inf,") && !page.contains("inf\""));
    }

    #[test]
    fn targets_have_a_table_and_their_names_are_escaped() {
        let mut s = stats();
        let mut t = volley_core::TargetStats::new(3);
        for i in 0..10u64 {
            t.latency.record(1_000 + i).unwrap();
            t.add_status(if i == 0 { 503 } else { 200 }, 1);
        }
        (t.scheduled, t.completed) = (10, 10);
        let mut idle = volley_core::TargetStats::new(3);
        (idle.scheduled, idle.unsent) = (2, 2);
        s.targets = vec![t, idle];
        let mut info = info();
        info.targets = vec![
            crate::result::TargetInfo {
                name: "<b>login</b>".into(),
                method: "POST".into(),
                url: "http://127.0.0.1:8080/login?a=\"1\"".into(),
                weight: 1,
            },
            crate::result::TargetInfo {
                name: "idle".into(),
                ..Default::default()
            },
        ];
        let page = render(&info, &s, 0.0);
        assert!(page.contains("<h2>Targets</h2>"));
        assert!(!page.contains("<b>login"));
        assert!(page.contains(
            "<td title=\"POST http://127.0.0.1:8080/login?a=&quot;1&quot;\">&lt;b&gt;login&lt;/b&gt;</td>"
        ));
        assert!(
            page.contains("<td class=\"n bad-text\">10.0%</td>"),
            "1 of 10 was a 503"
        );
        assert!(page.contains(
            ">idle</td><td class=\"n\">2</td><td class=\"n\">0.0</td><td class=\"n\">-</td>"
        ));
        // A run of one request has no such table.
        assert!(!render(&super::tests::info(), &stats(), 0.0).contains("Targets"));
    }

    /// `n` targets named `<t0>`, `<t1>`, ...; target `i` completed one
    /// request of `i + 1` ms in each of seconds 0 and 2, when `rows`.
    fn with_targets(n: usize, rows: bool) -> (RunInfo, Stats) {
        let (mut info, mut s) = (info(), stats());
        for i in 0..n {
            let mut t = volley_core::TargetStats::new(3);
            let us = 1_000 * (i as u64 + 1);
            if rows {
                t.timeline = [0, 2]
                    .map(|second| Second {
                        second,
                        completed: 1,
                        p50_us: us,
                        p99_us: us,
                        max_us: us,
                        ..Second::default()
                    })
                    .to_vec();
            }
            s.targets.push(t);
            info.targets.push(crate::result::TargetInfo {
                name: format!("<t{i}>"),
                method: "GET".into(),
                url: format!("http://127.0.0.1:8080/{i}?a&b"),
                weight: 1,
            });
        }
        (info, s)
    }

    #[test]
    fn each_target_has_a_latency_chart_and_one_shows_at_a_time() {
        let (info, s) = with_targets(3, true);
        let page = render(&info, &s, 0.0);
        assert!(page.contains("<h2>Latency over time, per target</h2>"));
        for i in 0..3 {
            let id = charts::target_chart_id(i);
            assert_eq!(
                page.matches(&format!("<svg id=\"{id}\"")).count(),
                1,
                "{id}"
            );
            assert!(page.contains(&format!(
                "<input type=\"radio\" name=\"target-chart\" id=\"target-chart-{i}\""
            )));
            assert!(page.contains(&format!(
                "<label for=\"target-chart-{i}\" title=\"GET http://127.0.0.1:8080/{i}?a&amp;b\">&lt;t{i}&gt;</label>\
                 <div class=\"panel\"><svg id=\"{id}\""
            )));
            assert!(page.contains(&format!("aria-label=\"Latency over time: &lt;t{i}&gt;\"")));
        }
        assert!(!page.contains("<t0>"));
        assert_eq!(page.matches(" checked>").count(), 1);
        assert!(page.contains("id=\"target-chart-0\" checked>"));
        // Under the targets' table, with the run's own chart still once.
        let table = page.find("<h2>Targets</h2>").unwrap();
        assert!(table < page.find("id=\"target-chart-0\"").unwrap());
        assert_eq!(page.matches("<svg id=\"chart-latency-time\"").count(), 1);
        // Each chart draws its target's own latencies: 1 ms, 2 ms, 3 ms.
        for (i, tick) in ["1ms", "2ms", "3ms"].iter().enumerate() {
            let start = page
                .find(&format!("<svg id=\"{}\"", charts::target_chart_id(i)))
                .unwrap();
            let svg = &page[start..start + page[start..].find("</svg>").unwrap()];
            assert!(svg.contains(&format!(">{tick}</text>")), "{i}: {svg}");
            assert_eq!(svg.matches("class=\"series\"").count(), 3, "{i}");
        }
    }

    #[test]
    fn targets_without_timelines_draw_no_per_target_chart() {
        let (info, s) = with_targets(2, false);
        let page = render(&info, &s, 0.0);
        assert!(page.contains("<h2>Targets</h2>"));
        assert!(!page.contains("target-chart") && !page.contains("up to 32 targets"));
        let n = volley_core::stats::MAX_TARGET_TIMELINES + 1;
        let (info, s) = with_targets(n, false);
        let page = render(&info, &s, 0.0);
        assert!(page.contains(&format!(
            "Latency over time is drawn per target for runs of up to 32 targets; this one has {n}."
        )));
        assert!(!page.contains("target-chart"));
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0.5), Some("1970-01-01 00:00:00 UTC".into()));
        assert_eq!(utc(951_782_400.0), Some("2000-02-29 00:00:00 UTC".into()));
        assert_eq!(utc(0.0), None);
    }
}

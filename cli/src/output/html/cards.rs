//! The report's tables at the foot of the page, one card each.

use super::charts::status_color;
use super::writer::{Html, html};
use crate::format::{bytes, dur, percent, rate, thousands, us};
use crate::output::Summary;
use crate::result::{Dist, PERCENTILES};
use volley_core::reason_phrase;

/// Two columns of cards that do not stretch to each other's height.
pub(super) fn tables(o: &mut Html, s: &Summary<'_>) {
    html!(
        o,
        "<section class=\"grid tables\"><div class=\"col\">{}{}{}</div><div class=\"col\">{}{}{}</div></section>\n",
        requests(s),
        status_codes(s),
        transfer(s),
        times(s),
        errors(s),
        thresholds(s)
    );
}

/// The targets of a run of `--targets`, one row each, across the page;
/// nothing for a run of one request.
pub(super) fn targets(o: &mut Html, s: &Summary<'_>) {
    if s.targets.is_empty() {
        return;
    }
    html!(
        o,
        "<section class=\"card\" style=\"margin-bottom:12px\"><h2>Targets</h2><table><tr><th>name</th>\
         <th class=\"n\">requests</th><th class=\"n\">req/s</th><th class=\"n\">p50</th><th class=\"n\">p99</th>\
         <th class=\"n\">max</th><th class=\"n\">errors</th></tr>"
    );
    for t in &s.targets {
        let time = |v: u64| match t.latency.count {
            0 => "-".to_string(),
            _ => us(v as f64),
        };
        let class = if t.errors_total > 0 {
            " class=\"n bad-text\""
        } else {
            " class=\"n\""
        };
        html!(
            o,
            "<tr><td title=\"{} {}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td{class}>{}</td></tr>",
            t.info.method,
            t.info.url,
            t.info.name,
            thousands(t.requests.scheduled),
            rate(t.requests.achieved_rps),
            time(t.latency.at(50.0)),
            time(t.latency.at(99.0)),
            time(t.latency.max),
            percent(t.errors_total, t.ended)
        );
    }
    html!(
        o,
        "</table><p class=\"note\">requests: scheduled; p50, p99, max: latency; errors: failed requests and \
         statuses other than 2xx/3xx, as a share of the requests that ended.</p></section>\n"
    );
}

fn requests(s: &Summary<'_>) -> Html {
    let r = &s.requests;
    let mut o = Html::new();
    html!(o, "<div class=\"card\"><h2>Requests</h2><table>");
    for (name, n, what) in [
        ("scheduled", r.scheduled, "due within the run"),
        ("sent", r.sent, "whose write started"),
        ("completed", r.completed, "full response, any status"),
        ("failed", r.failed, "ended in an error"),
        ("unfinished", r.unfinished, "still in flight at the end"),
        ("unsent", r.unsent, "never started: no user was free"),
    ] {
        let bad = matches!(name, "failed" | "unsent" | "unfinished") && n > 0;
        let class = if bad { " class=\"bad-text\"" } else { "" };
        html!(
            o,
            "<tr><td>{}</td><td class=\"n\"{class}>{}</td><td class=\"what\">{}</td></tr>",
            name,
            thousands(n),
            what
        );
    }
    let mut achieved = format!("{} req/s over {}", rate(r.achieved_rps), dur(r.window));
    if let (Some(share), Some(_)) = (s.of_schedule(), s.run.target_rps) {
        achieved.push_str(&format!(" ({share:.1}% of schedule)"));
    }
    html!(
        o,
        "<tr class=\"total\"><td>achieved</td><td class=\"n\" colspan=\"2\">{}</td></tr>",
        achieved
    );
    html!(o, "</table></div>\n");
    o
}

fn times(s: &Summary<'_>) -> Html {
    let mut o = Html::new();
    html!(o, "<div class=\"card\"><h2>Times</h2>");
    if s.requests.completed == 0 {
        html!(o, "<p>No response completed.</p>");
    } else {
        html!(
            o,
            "<table><tr><th></th><th class=\"n\">latency</th><th class=\"n\">service</th><th class=\"n\">ttfb</th></tr>"
        );
        let cols = [&s.latency, &s.service, &s.ttfb];
        let mut row = |name: &str, f: &dyn Fn(&Dist) -> f64| {
            html!(o, "<tr><td>{}</td>", name);
            for d in cols {
                html!(o, "<td class=\"n\">{}</td>", us(f(d)));
            }
            html!(o, "</tr>");
        };
        row("mean", &|d| d.mean);
        row("stdev", &|d| d.stdev);
        row("min", &|d| d.min as f64);
        for (i, p) in PERCENTILES.iter().enumerate() {
            row(p.label, &|d| d.percentiles[i] as f64);
        }
        row("max", &|d| d.max as f64);
        html!(
            o,
            "</table><p class=\"note\">latency: from when the request was due; service: from the start of the \
             write to the end of the response; ttfb: to the first response byte.</p>"
        );
    }
    html!(o, "</div>\n");
    o
}

fn status_codes(s: &Summary<'_>) -> Html {
    let mut o = Html::new();
    html!(o, "<div class=\"card\"><h2>Status codes</h2>");
    if s.requests.completed == 0 {
        html!(o, "<p>None.</p>");
    } else {
        html!(
            o,
            "<table><tr><th>code</th><th></th><th class=\"n\">count</th><th class=\"n\">share</th></tr>"
        );
        for &(code, n) in &s.statuses.0 {
            html!(
                o,
                "<tr><td><span class=\"dot\" style=\"background:{}\"></span>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                status_color(code),
                code,
                reason_phrase(code),
                thousands(n),
                percent(n, s.requests.completed)
            );
        }
        html!(o, "</table>");
    }
    html!(o, "</div>\n");
    o
}

fn errors(s: &Summary<'_>) -> Html {
    let mut o = Html::new();
    html!(o, "<div class=\"card\"><h2>Errors</h2>");
    if s.errors.is_empty() {
        html!(o, "<p class=\"ok\">No request failed.</p>");
        if s.non_success > 0 {
            html!(
                o,
                "<p class=\"note\">{} responses had a status other than 2xx/3xx: see Status codes.</p>",
                thousands(s.non_success)
            );
        }
    } else {
        html!(
            o,
            "<table><tr><th>kind</th><th class=\"n\">count</th><th>first message</th></tr>"
        );
        for e in &s.errors {
            html!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
                e.kind.label(),
                thousands(e.count),
                e.example.unwrap_or("-")
            );
        }
        html!(o, "</table>");
        if s.connect_failures() > 0 {
            html!(
                o,
                "<p class=\"note\">{} failed connect attempts in all, retried with backoff.</p>",
                thousands(s.connect_failures())
            );
        }
    }
    html!(o, "</div>\n");
    o
}

fn transfer(s: &Summary<'_>) -> Html {
    let mut o = Html::new();
    html!(o, "<div class=\"card\"><h2>Transfer</h2><table>");
    html!(
        o,
        "<tr><td>received</td><td class=\"n\">{}</td><td>{}/s</td></tr><tr><td>sent</td><td class=\"n\">{}</td><td>{}/s</td></tr>",
        bytes(s.bytes.received),
        bytes(s.bytes_per_s.received),
        bytes(s.bytes.sent),
        bytes(s.bytes_per_s.sent)
    );
    let connect = if s.connections.opened > 0 {
        format!(
            "connect mean {}, max {}",
            us(s.connect.mean),
            us(s.connect.max as f64)
        )
    } else {
        String::new()
    };
    html!(
        o,
        "<tr><td>connections</td><td class=\"n\">{}</td><td>{}</td></tr>",
        thousands(s.connections.opened),
        connect
    );
    if s.connections.streams > 0 {
        html!(
            o,
            "<tr><td>streams</td><td class=\"n\">{}</td><td>HTTP/2; {} GOAWAY received</td></tr>",
            thousands(s.connections.streams),
            thousands(s.connections.goaways)
        );
    }
    if s.connections.retried > 0 {
        let why = match s.connections.streams {
            0 => "requests whose reused connection the server closed before answering",
            _ => "requests the server did not process, sent again",
        };
        html!(
            o,
            "<tr><td>retried</td><td class=\"n\">{}</td><td>{}</td></tr>",
            thousands(s.connections.retried),
            why
        );
    }
    let tls = &s.tls_handshake;
    if s.run.tls && tls.count > 0 {
        html!(
            o,
            "<tr><td>TLS handshakes</td><td class=\"n\">{}</td><td>mean {}, max {}; {} full, {} resumed</td></tr>",
            thousands(tls.count),
            us(tls.mean),
            us(tls.max as f64),
            thousands(s.connections.tls_full),
            thousands(s.connections.tls_resumed)
        );
    }
    if s.requests.sent > 0 {
        html!(
            o,
            "<tr><td>send lag</td><td class=\"n\">p50 {}</td><td>p99 {} (how late requests left after they were due)</td></tr>",
            us(s.send_lag.at(50.0) as f64),
            us(s.send_lag.at(99.0) as f64)
        );
    }
    html!(o, "</table></div>\n");
    o
}

fn thresholds(s: &Summary<'_>) -> Html {
    let mut o = Html::new();
    html!(o, "<div class=\"card\"><h2>Thresholds</h2>");
    if s.verdicts.is_empty() {
        html!(o, "<p class=\"note\">No --threshold rule was given.</p>");
    } else {
        html!(
            o,
            "<table><tr><th>rule</th><th>result</th><th class=\"n\">measured</th></tr>"
        );
        for v in &s.verdicts {
            let (class, result) = if v.passed {
                ("ok", "passed")
            } else {
                ("bad-text", "FAILED")
            };
            html!(
                o,
                "<tr><td><code>{}</code></td><td class=\"{}\">{}</td><td class=\"n\">{}</td></tr>",
                v.rule.text(),
                class,
                result,
                v.shown()
            );
        }
        html!(o, "</table>");
    }
    html!(o, "</div>\n");
    o
}

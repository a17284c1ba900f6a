//! The page of `volley find`: the answer, the latency against the rate
//! with the SLO lines, and the table of steps.

use super::report::{answer_line, step_line};
use super::{Found, Outcome};
use crate::output::html::axes::{
    Axes, Mark, frame, linear_ticks, log_ticks, short_count, short_us, x_scale, y_scale,
};
use crate::output::html::writer::{Html, html};
use crate::output::html::{BLUE, ORANGE, RED, head};
use crate::plan::threshold;

/// The whole page.
pub(crate) fn find_page(f: &Found) -> String {
    let mut o = Html::with_capacity(32 * 1024);
    head(&mut o, &format!("volley find: {} {}", f.method, f.url));
    let good = f.steps.iter().any(|s| s.hold && s.outcome == Outcome::Pass);
    html!(
        o,
        "<header><div class=\"brand\">volley · capacity search</div><h1><span class=\"method\">{}</span>{}</h1>\
         <p class=\"meta\">within {} · {} steps · {}s</p></header>\n",
        f.method,
        f.url,
        f.slos.join(" and "),
        f.steps.len(),
        format!("{:.0}", f.took.as_secs_f64())
    );
    html!(
        o,
        "<section class=\"verdict {}\"><div class=\"badge\">{}</div><div><div class=\"headline\">{}</div></div></section>\n",
        if good { "good" } else { "warn" },
        if good { "FOUND" } else { "NOT CONFIRMED" },
        answer_line(f)
    );
    html!(
        o,
        "<section class=\"grid\"><div class=\"card\"><h2>Latency against rate</h2>{}",
        curve(f)
    );
    html!(
        o,
        "<p class=\"note\">Each step's median and 99th percentile latency (from when each request was due), \
         with the latency SLOs as dashed lines.</p></div>\n<div class=\"card\"><h2>Steps</h2><table>"
    );
    for s in &f.steps {
        let class = if s.outcome == Outcome::Pass {
            "ok"
        } else {
            "bad-text"
        };
        html!(o, "<tr><td class=\"{}\">{}</td></tr>", class, step_line(s));
    }
    html!(o, "</table>");
    for n in &f.notes {
        html!(o, "<p class=\"note\">{}</p>", n);
    }
    html!(
        o,
        "</div></section>\n<footer>Written by volley {}.</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    o.into_string()
}

/// p50 and p99 against the rate of each step, and the SLO lines.
fn curve(f: &Found) -> Html {
    let mut steps: Vec<_> = f.steps.iter().filter(|s| s.p99_us > 0).collect();
    steps.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    let limits: Vec<f64> = f
        .slos
        .iter()
        .filter_map(|s| threshold::parse(s).ok())
        .filter_map(|r| r.latency_limit_us())
        .collect();
    let top_rate = steps.iter().map(|s| s.rps).fold(1.0, f64::max) * 1.05;
    let lo = steps
        .iter()
        .map(|s| s.p50_us as f64)
        .fold(f64::INFINITY, f64::min)
        .max(1.0);
    let hi = steps
        .iter()
        .map(|s| s.p99_us as f64)
        .chain(limits.iter().copied())
        .fold(1.0, f64::max);
    let log = lo.is_finite() && hi / lo > 20.0;
    let (y, ticks) = if log {
        let (a, b, t) = log_ticks(lo, hi);
        (y_scale(a, b, true), t)
    } else {
        let (top, t) = linear_ticks(hi * 1.05, 5);
        (y_scale(0.0, top, false), t)
    };
    let (_, x_ticks) = linear_ticks(top_rate, 5);
    let x = x_scale(0.0, x_ticks.last().copied().unwrap_or(top_rate));
    let axes = Axes {
        x,
        x_ticks: x_ticks.iter().map(|v| (*v, short_count(*v))).collect(),
        x_title: "target rate, req/s",
        y,
        y_ticks: ticks.iter().map(|v| (*v, short_us(*v))).collect(),
        y_title: if log {
            "latency (log scale)"
        } else {
            "latency"
        },
    };
    let legend = [
        (BLUE, "p50", Mark::Line),
        (ORANGE, "p99", Mark::Line),
        (RED, "SLO", Mark::Dashed),
    ];
    let mut o = frame("chart-find", "Latency against rate", &axes, &legend);
    for (color, value) in [
        (BLUE, &|s: &&super::Step| s.p50_us),
        (ORANGE, &|s: &&super::Step| s.p99_us),
    ] as [(&str, &dyn Fn(&&super::Step) -> u64); 2]
    {
        let points: Vec<String> = steps
            .iter()
            .map(|s| format!("{:.1},{:.1}", x.at(s.rps), y.at(value(s) as f64)))
            .collect();
        html!(
            o,
            "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
            points.join(" "),
            color
        );
        for s in &steps {
            let (px, py) = (x.at(s.rps), y.at(value(s) as f64));
            let fill = if s.outcome == Outcome::Pass {
                color
            } else {
                "#fff"
            };
            html!(
                o,
                "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3.5\" fill=\"{}\" stroke=\"{}\"/>",
                fill,
                color
            );
        }
    }
    for limit in limits {
        let (py, x0, x1) = (y.at(limit), x.at(0.0), x.at(top_rate));
        html!(
            o,
            "<line x1=\"{x0:.1}\" y1=\"{py:.1}\" x2=\"{x1:.1}\" y2=\"{py:.1}\" stroke=\"{RED}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>"
        );
    }
    html!(o, "</svg>");
    o
}

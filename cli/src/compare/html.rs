//! The page of `volley compare`: the two latency-by-percentile curves, and
//! the table of metrics.

use super::Comparison;
use super::report::change_text;
use crate::output::html::charts::percentile_curves;
use crate::output::html::head;
use crate::output::html::writer::{Html, html};

/// The whole page.
pub(crate) fn compare_page(c: &Comparison) -> String {
    let info = &c.base.runs[0].info;
    let mut o = Html::with_capacity(32 * 1024);
    head(&mut o, &format!("volley compare: {}", info.request()));
    html!(
        o,
        "<header><div class=\"brand\">volley · comparison</div><h1><span class=\"method\">{}</span>{}</h1>\
         <p class=\"meta\">base {} · new {} · 95% intervals from {}</p></header>\n",
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
        c.base.files.join(", "),
        c.new.files.join(", "),
        c.method
    );
    html!(
        o,
        "<section class=\"grid\"><div class=\"card\"><h2>Latency by percentile</h2>{}</div>\n\
         <div class=\"card\"><h2>Metrics</h2><table><tr><th>metric</th><th>change [95% interval]</th><th>verdict</th></tr>",
        percentile_curves(
            (&c.new.merged.latency, "new"),
            (&c.base.merged.latency, "base")
        )
    );
    for l in &c.lines {
        let verdict = match l.verdict {
            super::Verdict::Better => "better",
            super::Verdict::Worse => "worse",
            super::Verdict::Same => "~",
            super::Verdict::Unresolved => "unresolved",
        };
        html!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            l.metric.name(),
            change_text(l),
            verdict
        );
    }
    html!(
        o,
        "</table></div></section>\n<footer>Written by volley {}.</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    o.into_string()
}

//! `--html`: the page is one self-contained file whose charts carry data,
//! `volley merge` writes the same page, write errors follow `--save`'s
//! policy, and a real browser (headless Chromium, when installed) renders
//! it without fetching anything.

mod support;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{text, volley, volley_bin};
use volley_server::{ServeConfig, Server};

/// The four charts of the page, by `<svg id>`.
const CHARTS: [&str; 4] = [
    "chart-latency-time",
    "chart-percentiles",
    "chart-rate-time",
    "chart-errors-time",
];

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volley-html-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// Runs about 1 s of load at a loopback target (5% of answers are 503)
/// with `--html` and `--save`; returns the page and the URL as volley
/// normalised it.
fn make_report(dir: &Path) -> (String, String) {
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        statuses: vec![(200, 19), (503, 1)],
        ..ServeConfig::default()
    })
    .unwrap();
    let html = dir.join("report.html");
    let out = Command::new(volley_bin())
        .arg("--url")
        .arg(format!("http://{}/page?a=1&b=2", server.addr()))
        .args([
            "--rps", "300", "--users", "4", "-d", "1", "-q", "-o", "json",
        ])
        .args(["--threshold", "p99<30s", "--threshold", "errors<50%"])
        .arg("--html")
        .arg(&html)
        .arg("--save")
        .arg(dir.join("result.json"))
        .stdin(Stdio::null())
        .output()
        .expect("run volley");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let url = report["run"]["url"].as_str().expect("run.url").to_string();
    assert!(
        report["requests"]["completed"].as_u64().unwrap() > 200,
        "{report}"
    );
    (fs::read_to_string(&html).expect("the --html file"), url)
}

/// The `<svg id>` of target `i`'s latency-over-time chart.
fn target_chart(i: usize) -> String {
    format!("chart-latency-time-target-{i}")
}

/// Runs 2 s of load at three targets of one loopback server with
/// `--html`; returns the page.
fn make_targets_report(dir: &Path) -> String {
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeConfig::default()
    })
    .unwrap();
    let addr = server.addr();
    let file = dir.join("targets.jsonl");
    fs::write(
        &file,
        format!(
            "{{\"url\": \"http://{addr}/a\"}}\n{{\"name\": \"<b> & c\", \"url\": \"http://{addr}/b\"}}\n\
             {{\"url\": \"http://{addr}/c\", \"weight\": 2}}\n"
        ),
    )
    .unwrap();
    let html = dir.join("targets.html");
    let (file, page) = (file.to_str().unwrap(), html.to_str().unwrap());
    let out = volley(&[
        "--targets",
        file,
        "--rps",
        "300",
        "--users",
        "6",
        "-d",
        "2",
        "-q",
        "--html",
        page,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    fs::read_to_string(&html).expect("the --html file")
}

/// The `<svg id="...">...</svg>` of one chart.
fn chart<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no <svg id=\"{id}\">"));
    let end = page[start..]
        .find("</svg>")
        .unwrap_or_else(|| panic!("<svg id=\"{id}\"> is not closed"));
    &page[start..start + end]
}

/// For each data series (`class="series"`) of a chart: how many x,y
/// points its `points` or `d` attribute holds.
fn series_points(svg: &str) -> Vec<usize> {
    svg.split("class=\"series\"")
        .skip(1)
        .map(|rest| {
            let element = &rest[..rest.find('>').unwrap_or(rest.len())];
            let data = ["points=\"", " d=\""]
                .iter()
                .find_map(|a| element.find(a).map(|i| &element[i + a.len()..]))
                .unwrap_or("");
            let data = &data[..data.find('"').unwrap_or(0)];
            data.matches(',').count()
        })
        .collect()
}

fn assert_charts(page: &str, what: &str) {
    for id in CHARTS {
        let svg = chart(page, id);
        let series = series_points(svg);
        assert!(
            !series.is_empty() && series.iter().all(|n| *n >= 2),
            "{what}: {id}: series {series:?}\n{svg}"
        );
        // Axes carry tick labels.
        assert!(
            svg.matches("<text").count() >= 6,
            "{what}: {id} has too few labels\n{svg}"
        );
    }
    assert!(
        chart(page, "chart-percentiles").contains("<polyline"),
        "{what}"
    );
}

/// The page names no resource to fetch, and no URL but the target's.
fn assert_self_contained(page: &str, url: &str) {
    let shown = url.replace('&', "&amp;");
    for scheme in ["http://", "https://"] {
        for (at, _) in page.match_indices(scheme) {
            assert!(
                page[at..].starts_with(&shown),
                "a URL other than the target's at {at}: {}",
                &page[at..at + 80]
            );
        }
    }
    assert!(page.contains(&shown), "the target URL is shown");
    let lower = page.to_ascii_lowercase();
    for needle in [
        "src=", "href=", "srcset", "@import", "url(", "<script", "<link", "<img", "<iframe",
        "<object", "<embed", "=\"//", "='//",
    ] {
        assert!(!lower.contains(needle), "the page contains {needle:?}");
    }
}

#[test]
fn html_report_is_one_self_contained_page_with_charts() {
    let dir = scratch("page");
    let (page, url) = make_report(&dir);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.trim_end().ends_with("</html>"));
    assert_self_contained(&page, &url);
    assert_charts(&page, "run");
    assert!(
        page.contains("Content-Security-Policy"),
        "the page forbids fetches"
    );
    // Header, verdict and tables.
    for needle in [
        "requests completed, p99 ",
        "req/s target",
        "PASSED",
        "p99&lt;30s",
        "503</td><td>Service Unavailable",
        "Latency by percentile",
        "Status codes",
        "Transfer",
    ] {
        assert!(page.contains(needle), "the page lacks {needle:?}");
    }

    // `volley merge --html` writes the same kind of page.
    let merged = dir.join("merged.html");
    let out = Command::new(volley_bin())
        .arg("merge")
        .arg(dir.join("result.json"))
        .arg("--html")
        .arg(&merged)
        .stdin(Stdio::null())
        .output()
        .expect("run volley merge");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let merged = fs::read_to_string(&merged).expect("the merged page");
    assert_self_contained(&merged, &url);
    assert_charts(&merged, "merge");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn html_report_of_targets_has_a_latency_chart_per_target() {
    let dir = scratch("targets");
    let page = make_targets_report(&dir);
    assert_charts(&page, "targets");
    for i in 0..3 {
        let id = target_chart(i);
        let series = series_points(chart(&page, &id));
        assert!(
            series.len() == 3 && series.iter().all(|n| *n >= 2),
            "{id}: series {series:?}"
        );
    }
    assert!(
        page.contains(">&lt;b&gt; &amp; c</label>"),
        "names are escaped"
    );
    assert_eq!(page.matches(" checked>").count(), 1);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn html_path_errors_follow_the_save_policy() {
    // A missing directory is refused before the run: exit 2, one line.
    let out = Command::new(volley_bin())
        .args([
            "--url",
            "http://127.0.0.1:1/",
            "--rps",
            "10",
            "--users",
            "1",
            "--html",
            "/no/such/dir/r.html",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--html") && err.contains("does not exist"),
        "{err}"
    );

    // A file that cannot be written at the end: the report is still
    // printed, one line names the file, exit 1 (as for --save).
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeConfig::default()
    })
    .unwrap();
    let out = Command::new(volley_bin())
        .arg(format!("http://{}/", server.addr()))
        .args([
            "--rps",
            "50",
            "--users",
            "2",
            "-d",
            "300ms",
            "-q",
            "--html",
            "/proc/volley-report.html",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        text(&out.stdout).contains("Status codes"),
        "the report is printed"
    );
    let lines: Vec<_> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("volley: --html \"/proc/volley-report.html\": cannot write"),
        "{err}"
    );
}

// ------------------------------------------------------------ the browser

/// What one Chromium run left behind.
struct Rendered {
    dom: String,
    net_log: serde_json::Value,
    screenshot: PathBuf,
}

/// Renders `html` in headless Chromium: a screenshot, the DOM after
/// rendering, and a net log of every request the browser made. The
/// browser runs in a network namespace of its own when `unshare` can make
/// one (then it has no network at all), and resolves no host name either
/// way, so not even its own background requests (update checks and the
/// like) leave this machine. It is killed after 60 s.
fn render(chromium: &str, html: &Path, dir: &Path, tag: &str) -> Rendered {
    let profile = dir.join(format!("profile-{tag}"));
    let net_log = dir.join(format!("netlog-{tag}.json"));
    let screenshot = dir.join(format!("screenshot-{tag}.png"));
    let (stdout, stderr) = (
        dir.join(format!("dom-{tag}.html")),
        dir.join(format!("chromium-{tag}.log")),
    );
    let isolated = Command::new("unshare")
        .args(["-rn", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let mut cmd = if isolated {
        let mut c = Command::new("unshare");
        c.args(["-rn", chromium]);
        c
    } else {
        Command::new(chromium)
    };
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--disable-features=NetworkTimeServiceQuerying",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--window-size=1280,2000",
        "--dump-dom",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--log-net-log={}", net_log.display()))
    .arg(format!("--screenshot={}", screenshot.display()))
    .arg(format!("file://{}", html.display()))
    .stdin(Stdio::null())
    .stdout(File::create(&stdout).unwrap())
    .stderr(File::create(&stderr).unwrap());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            // The browser and every helper process it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!(
                "chromium did not finish within 60 s; its log: {}",
                stderr.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = fs::read_to_string(&stderr).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}):\n{log}");
    let _ = fs::remove_dir_all(&profile);
    let net_log =
        fs::read_to_string(&net_log).unwrap_or_else(|e| panic!("no net log ({e}):\n{log}"));
    Rendered {
        dom: fs::read_to_string(&stdout).unwrap(),
        net_log: serde_json::from_str(&net_log).expect("the net log is JSON"),
        screenshot,
    }
}

/// The URL requests in a net log that a page made: every
/// `URL_REQUEST_START_JOB` whose initiator is an origin. The browser's own
/// requests (its update and time checks) have the initiator "not an
/// origin"; a page opened from file:// has the opaque origin "null". The
/// file:// page itself is not loaded through the network stack and does
/// not appear in the log at all.
fn page_requests(net_log: &serde_json::Value) -> Vec<String> {
    let types = net_log["constants"]["logEventTypes"]
        .as_object()
        .expect("net log event types");
    let start_job = types["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("URL_REQUEST_START_JOB");
    let events = net_log["events"].as_array().expect("net log events");
    events
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter_map(|e| {
            let url = e["params"]["url"].as_str()?;
            let initiator = e["params"]["initiator"].as_str().unwrap_or("");
            (initiator != "not an origin").then(|| url.to_string())
        })
        .collect()
}

/// Every URL the net log names anywhere (`params.url`).
fn logged_urls(net_log: &serde_json::Value) -> Vec<String> {
    let events = net_log["events"].as_array().expect("net log events");
    events
        .iter()
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}

/// Fails, saying what to install, unless `chromium` runs.
fn require_chromium(chromium: &str) {
    let found = Command::new(chromium)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        found.is_ok_and(|s| s.success()),
        "`chromium --version` failed: install chromium to run this test"
    );
}

/// `page` without its Content-Security-Policy and with `extra` put at
/// the start of its body (or, when `at_end`, at its end): a probe of what
/// a browser does with it.
fn probe_page(page: &str, extra: &str, at_end: bool) -> String {
    let start = page
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .expect("CSP meta");
    let end = start + page[start..].find('>').unwrap() + 1;
    let page = format!("{}{}", &page[..start], &page[end..]);
    match at_end {
        false => page.replace("<body>", &format!("<body>{extra}")),
        true => page.replace("</body>", &format!("{extra}</body>")),
    }
}

/// The page shows one target's chart at a time, the first at first, and
/// choosing another target's name shows that one's instead: CSS alone
/// does it, the page having no script. (The probe adds a script that
/// clicks the third name and writes down which charts have a size.)
#[test]
#[ignore = "needs chromium (apt-get install chromium); CI installs it and runs it"]
fn target_charts_switch_in_chromium() {
    let chromium = "chromium";
    require_chromium(chromium);
    let dir = scratch("browser-targets");
    let page = make_targets_report(&dir);
    let shown = render(chromium, &dir.join("targets.html"), &dir, "targets");
    let requests = page_requests(&shown.net_log);
    assert!(requests.is_empty(), "the page made requests: {requests:?}");
    let script = "<script>\
        const shown = () => [...document.querySelectorAll('svg[id^=\"chart-latency-time-target-\"]')]\
          .filter(e => e.getBoundingClientRect().height > 0).map(e => e.id).join(',');\
        const before = shown();\
        document.querySelector('label[for=\"target-chart-2\"]').click();\
        const checked = document.querySelector('input[name=\"target-chart\"]:checked').id;\
        document.body.insertAdjacentHTML('beforeend',\
          '<pre id=\"switch\">' + before + ' then ' + shown() + ' (' + checked + ')</pre>');\
        </script>";
    let probe = dir.join("switch.html");
    fs::write(&probe, probe_page(&page, script, true)).unwrap();
    let seen = render(chromium, &probe, &dir, "switch");
    let expected = format!(
        "<pre id=\"switch\">{} then {} (target-chart-2)</pre>",
        target_chart(0),
        target_chart(2)
    );
    assert!(
        seen.dom.contains(&expected),
        "{expected} is not in the rendered page:\n{}",
        &seen.dom[seen.dom.len().saturating_sub(2_000)..]
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs chromium (apt-get install chromium); CI installs it and runs it"]
fn html_report_renders_offline_in_chromium() {
    let chromium = "chromium";
    require_chromium(chromium);
    let dir = scratch("browser");
    let (page, url) = make_report(&dir);
    let html = dir.join("report.html");

    let shown = render(chromium, &html, &dir, "report");
    // The rendered DOM holds every chart with its data.
    assert_charts(&shown.dom, "rendered DOM");
    assert!(
        shown.dom.contains("requests completed, p99 "),
        "the verdict line is rendered"
    );
    // A blank or failed render compresses to a few KiB.
    let png = fs::metadata(&shown.screenshot)
        .expect("the screenshot")
        .len();
    assert!(
        png > 40_000,
        "the screenshot is suspiciously small: {png} bytes"
    );
    // Nothing was requested by the page; nothing anywhere named the target.
    let requests = page_requests(&shown.net_log);
    assert!(requests.is_empty(), "the page made requests: {requests:?}");
    let target = url.trim_end_matches(|c| c != '/').trim_end_matches('/');
    let to_target: Vec<_> = logged_urls(&shown.net_log)
        .into_iter()
        .filter(|u| u.starts_with(target))
        .collect();
    assert!(
        to_target.is_empty(),
        "the browser fetched the target: {to_target:?}"
    );

    // The control: the same page with one remote image (and without the
    // Content-Security-Policy that would block it) is seen fetching it, so
    // the check above can see a page's requests.
    let probe = "http://127.0.0.1:9/volley-probe.png";
    let control = probe_page(&page, &format!("<img src=\"{probe}\">"), false);
    let control_html = dir.join("control.html");
    fs::write(&control_html, control).unwrap();
    let seen = render(chromium, &control_html, &dir, "control");
    assert_eq!(
        page_requests(&seen.net_log),
        [probe],
        "the control page's request is in the net log"
    );

    let _ = fs::remove_dir_all(&dir);
}

//! `volley compare` (SPEC §13) on real runs against the built-in server: a
//! slower server is called worse, the same one `~`; runs that cannot be
//! compared, and files without per-second histograms, are refused; a
//! regression past its tolerance is exit code 4.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use support::{json, text, volley};
use volley_server::{RunningServer, ServeConfig, Server};

/// One test at a time: each judges its runs' send lag, and two tests' runs
/// at once on two cores would add to each other's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serve(delay: Duration) -> RunningServer {
    Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        delay,
        ..ServeConfig::default()
    })
    .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volley-compare-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A 4 s run of `url` at 300 req/s, saved to `file`; the Host and URL stay
/// those of `url` whatever server `connect` names.
fn run(url: &str, connect: &RunningServer, file: &Path) {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let rule = format!("{host}:{}", connect.addr());
    let out = volley(&[
        url,
        "--rps",
        "300",
        "-c",
        "40",
        "-d",
        "4",
        "-q",
        "--connect-to",
        &rule,
        "--save",
        p(file),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_slower_server_is_worse_and_the_same_one_is_not() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 40 ms against 44 ms: 10% slower. (Latencies of tens of milliseconds
    // keep the generator's own wakeup jitter, which the comparability
    // guard would refuse beside a 2 ms service, small beside them.)
    let (base_server, slower) = (
        serve(Duration::from_millis(40)),
        serve(Duration::from_millis(44)),
    );
    let dir = scratch("real");
    let url = "http://volley.test:80/";
    let (base, same, new) = (
        dir.join("base.json"),
        dir.join("same.json"),
        dir.join("new.json"),
    );
    run(url, &base_server, &base);
    run(url, &base_server, &same);
    run(url, &slower, &new);
    let verdicts = |to: &Path, extra: &[&str]| {
        let mut args = vec![
            "compare",
            p(&base),
            "--to",
            p(to),
            "-o",
            "json",
            "--seed",
            "7",
        ];
        args.extend_from_slice(extra);
        let out = volley(&args);
        let v = json(&out);
        let of = |m: &str| {
            v["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["metric"] == m)
                .unwrap()["verdict"]
                .as_str()
                .unwrap()
                .to_string()
        };
        (out.status.code(), of("p50"), of("mean"), of("errors"), v)
    };
    let (code, p50, mean, errors, v) = verdicts(&new, &["--max-regression", "p50:+5%"]);
    assert_eq!(
        (p50.as_str(), mean.as_str(), errors.as_str()),
        ("worse", "worse", "~"),
        "{v:#}"
    );
    assert_eq!(code, Some(4), "a significant regression past +5%: {v:#}");
    let (code, _, _, _, v) = verdicts(&new, &["--max-regression", "p50:+20%"]);
    assert_eq!(code, Some(0), "within +20%: {v:#}");
    let (code, p50, mean, _, v) = verdicts(&same, &["--max-regression", "p50:+5%"]);
    assert_eq!(
        (code, p50.as_str(), mean.as_str()),
        (Some(0), "~", "~"),
        "{v:#}"
    );
    // The same seed, the same intervals.
    let again = verdicts(&new, &[]).4;
    assert_eq!(again["metrics"], verdicts(&new, &[]).4["metrics"]);
    // The page: both latency-by-percentile curves, and the table.
    let page = dir.join("compare.html");
    verdicts(&new, &["--html", p(&page)]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("<svg id=\"chart-percentiles\"")
            && html.matches("<polyline").count() == 2
            && html.contains(">base<")
            && html.contains(">new<"),
        "the two curves"
    );
    assert!(
        html.contains("<td>p50</td>") && html.contains("<td>worse</td>"),
        "the table"
    );
    assert!(
        !html.contains("src=") && !html.contains("<script"),
        "self-contained"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn incomparable_runs_and_old_files_are_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 40 ms, so that the runs keep their send lag under the guard's 10% of
    // the latency on a busy machine (at 20 ms a p99 of 2.6 ms was seen).
    let server = serve(Duration::from_millis(40));
    let dir = scratch("refused");
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    let url = format!("http://{}/", server.addr());
    let save = |file: &Path, rps: &str| {
        let out = volley(&[
            &url,
            "--rps",
            rps,
            "-c",
            "20",
            "-d",
            "2",
            "-q",
            "--save",
            p(file),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    save(&a, "200");
    save(&b, "300");
    let out = volley(&["compare", p(&a), "--to", p(&b)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("another rate"),
        "{}",
        text(&out.stderr)
    );
    // The same run over HTTP/2 is another protocol (SPEC §13's guard).
    let mut h2: serde_json::Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    h2["run"]["protocol"] = "h2".into();
    let h2_file = dir.join("h2.json");
    std::fs::write(&h2_file, h2.to_string()).unwrap();
    let out = volley(&["compare", p(&a), "--to", p(&h2_file)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("another protocol (h2 against http/1.1)"),
        "{}",
        text(&out.stderr)
    );
    // A file saved in format 1 has no per-second histograms to bootstrap.
    let mut old: serde_json::Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    old["version"] = 1.into();
    for row in old["timeline"].as_array_mut().unwrap() {
        let row = row.as_object_mut().unwrap();
        row.remove("latency_histogram");
        row.remove("service_histogram");
    }
    let v1 = dir.join("v1.json");
    std::fs::write(&v1, old.to_string()).unwrap();
    let out = volley(&["compare", p(&v1), "--to", p(&a)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no per-second histograms"),
        "{}",
        text(&out.stderr)
    );
    // merge still reads it.
    assert_eq!(
        volley(
            &["merge", p(&v1), p(&a), "-q"]
                .iter()
                .filter(|x| **x != "-q")
                .copied()
                .collect::<Vec<_>>()
        )
        .status
        .code(),
        Some(0)
    );
    // Three runs a side compare by the spread between runs, v1 or not.
    let out = volley(&[
        "compare",
        p(&v1),
        p(&v1),
        p(&a),
        "--to",
        p(&a),
        p(&a),
        p(&v1),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        json(&out)["interval_method"]
            .as_str()
            .unwrap()
            .contains("between runs")
    );
    for (args, expected) in [
        (
            vec!["compare", p(&a), "--to", p(&a), "--max-regression", "p99"],
            "--max-regression \"p99\"",
        ),
        (
            vec!["compare", p(&a), "--to", p(&a), "--seed", "x"],
            "--seed \"x\"",
        ),
    ] {
        let out = volley(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(expected),
            "{}",
            text(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

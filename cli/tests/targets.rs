//! Many requests in one run (SPEC §10) through the binary: target files,
//! per-target results, templates, checks; and real nginx as the judge.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use support::{assert_json_accounted, json, text, volley};
use volley_server::{ServeConfig, Server};
use volley_tests::nginx::Nginx;

/// A private directory for a test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volley-targets-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `targets` array of a JSON report, by name.
fn targets(v: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    v["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("no targets array: {v}"))
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t.clone()))
        .collect()
}

/// SPEC §2's identity per target, and the targets adding up to the run.
fn assert_targets_accounted(v: &serde_json::Value) {
    assert_json_accounted(v);
    let keys = ["scheduled", "completed", "failed", "unfinished", "unsent"];
    let mut sums = [0u64; 5];
    for t in v["targets"].as_array().unwrap() {
        let r = &t["requests"];
        let n: Vec<u64> = keys.iter().map(|k| r[k].as_u64().unwrap()).collect();
        assert_eq!(n[0], n[1] + n[2] + n[3] + n[4], "{t}");
        for (s, x) in sums.iter_mut().zip(&n) {
            *s += x;
        }
    }
    let run: Vec<u64> = keys
        .iter()
        .map(|k| v["requests"][k].as_u64().unwrap())
        .collect();
    assert_eq!(sums.to_vec(), run, "{v}");
    assert_timelines_add_up(v);
}

/// Each target's timeline counts its completions and failures, and each
/// second's rows of the targets add up to the run's row.
fn assert_timelines_add_up(v: &serde_json::Value) {
    let rows = |t: &serde_json::Value| t["timeline"].as_array().cloned().unwrap_or_default();
    let second = |row: &serde_json::Value| row["second"].as_u64().unwrap();
    let counts = |row: &serde_json::Value| {
        ["completed", "errors", "failed"].map(|k| row[k].as_u64().unwrap())
    };
    let mut by_second: BTreeMap<u64, [u64; 3]> = BTreeMap::new();
    for t in v["targets"].as_array().unwrap() {
        let mut total = [0; 3];
        for row in rows(t) {
            let sums = by_second.entry(second(&row)).or_default();
            for (i, n) in counts(&row).into_iter().enumerate() {
                sums[i] += n;
                total[i] += n;
            }
        }
        let r = &t["requests"];
        let ended = ["completed", "failed"].map(|k| r[k].as_u64().unwrap());
        assert_eq!([total[0], total[2]], ended, "{}: {t}", t["name"]);
    }
    let run: BTreeMap<u64, [u64; 3]> = rows(v).iter().map(|r| (second(r), counts(r))).collect();
    assert_eq!(by_second, run, "{v}");
}

/// Lines of nginx's access log (`STATUS URI`) counted by URI path.
fn by_path(log: &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for line in log.lines() {
        let uri = line.split(' ').nth(1).unwrap_or("");
        let path = uri.split('?').next().unwrap_or("").to_string();
        *m.entry(path).or_insert(0) += 1;
    }
    m
}

const NGINX_SITE: &str = "server { listen 127.0.0.1:{port}; keepalive_requests 1000; \
     location = /small { return 200 \"ok\\n\"; } \
     location = /missing { return 404; } \
     location = /created { return 201 \"made\\n\"; } \
     location = /big { alias {dir}/big.bin; } \
     location = /chunked { gzip on; gzip_min_length 1; gzip_types text/plain; alias {dir}/page.txt; } \
     location = /slow { limit_rate 40k; alias {dir}/slow.bin; } \
     location /item/ { return 200 \"item\\n\"; } } \
     server { listen 127.0.0.1:{port2}; location = /other { return 200 \"other origin\\n\"; } }";

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn site() -> String {
    NGINX_SITE.replace("{port2}", &free_port().to_string())
}

/// A vegeta-format file of five targets against nginx: nginx's access log,
/// grouped by path, equals volley's per-target counts, and each target's
/// statuses are the ones nginx gave.
#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn per_target_counts_equal_nginx_access_log() {
    let big = vec![b'x'; 256 * 1024];
    let page = "line of text\n".repeat(2_000);
    let slow = vec![b's'; 8 * 1024];
    let site = site();
    let port2 = site
        .split("listen 127.0.0.1:")
        .nth(2)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let nginx = Nginx::start_with(
        &site,
        &[
            ("big.bin", &big),
            ("page.txt", page.as_bytes()),
            ("slow.bin", &slow),
        ],
    );
    let dir = scratch("nginx");
    let base = format!("http://{}", nginx.addr);
    let file = dir.join("targets.txt");
    std::fs::write(
        &file,
        format!(
            "# a vegeta file\nGET {base}/small\n\nGET {base}/missing\nX-Trace: a\nX-Trace: b\n\n\
             POST {base}/created\nContent-Type: text/plain\n@{body}\n\n\
             GET {base}/big\n\nGET {base}/chunked\nAccept-Encoding: gzip\n\n\
             GET {base}/slow\n\nGET http://127.0.0.1:{port2}/other\n",
            body = dir.join("body.txt").display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("body.txt"), "hello").unwrap();
    let out = volley(&[
        "--targets",
        file.to_str().unwrap(),
        "--rps",
        "500",
        "-c",
        "10",
        "-n",
        "1400",
        "-q",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_targets_accounted(&v);
    assert_eq!(v["requests"]["failed"].as_u64(), Some(0), "{v}");
    let t = targets(&v);
    let log = by_path(&nginx.access_log());
    let mut table = Vec::new();
    for (name, path, status) in [
        ("GET /small", "/small", "200"),
        ("GET /missing", "/missing", "404"),
        ("POST /created", "/created", "201"),
        ("GET /big", "/big", "200"),
        ("GET /chunked", "/chunked", "200"),
        ("GET /slow", "/slow", "200"),
        ("GET /other", "/other", "200"),
    ] {
        let ours = t[name]["status"][status].as_u64().unwrap_or(0);
        let theirs = log.get(path).copied().unwrap_or(0);
        table.push(format!("{path}: nginx {theirs}, volley {ours}"));
        assert_eq!(ours, theirs, "{name}: {table:?}");
        assert_eq!(
            ours, 200,
            "each of seven equal targets gets 1400/7: {table:?}"
        );
    }
    eprintln!("{}", table.join("\n"));
}

/// A templated URL: the values nginx logs are the ones the seed
/// determines, in request order, the same for two runs of one command.
#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn templated_urls_reach_nginx_reproducibly() {
    let dir = scratch("template");
    let data = dir.join("ids.csv");
    std::fs::write(&data, "id,name\n17,ann\n42,\"bob, jr\"\n99,cy\n").unwrap();
    let mut logs = Vec::new();
    for _ in 0..2 {
        let nginx = Nginx::start(&site());
        let url = format!(
            "http://{}/item/{{{{seq}}}}?id={{{{row.id}}}}&r={{{{rand:1-1000}}}}",
            nginx.addr
        );
        let out = volley(&[
            &url,
            "--data",
            data.to_str().unwrap(),
            "--seed",
            "7",
            "--rps",
            "200",
            "-c",
            "1",
            "-n",
            "50",
            "-q",
            "-o",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(json(&out)["status"]["200"].as_u64(), Some(50));
        logs.push(nginx.access_log());
    }
    assert_eq!(logs[0], logs[1], "the same command sends the same requests");
    let uris: Vec<&str> = logs[0]
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(uris.len(), 50);
    for (k, uri) in uris.iter().enumerate() {
        let id = ["17", "42", "99"][k % 3];
        assert!(
            uri.starts_with(&format!("/item/{k}?id={id}&r=")),
            "request {k}: {uri}"
        );
    }
}

/// Against the built-in server: weights, checks and the per-target table.
#[test]
fn weights_and_checks_through_the_binary() {
    let dir = scratch("serve");
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeConfig::default()
    })
    .unwrap();
    let addr = server.addr();
    let file = dir.join("targets.jsonl");
    std::fs::write(
        &file,
        format!(
            "{{\"name\": \"home\", \"url\": \"http://{addr}/\", \"weight\": 3}}\n\
             {{\"name\": \"strict\", \"url\": \"http://{addr}/x\", \"expect_status\": [201]}}\n"
        ),
    )
    .unwrap();
    let out = volley(&[
        "--targets",
        file.to_str().unwrap(),
        "--rps",
        "400",
        "-c",
        "4",
        "-n",
        "400",
        "-q",
        "-o",
        "json",
    ]);
    let v = json(&out);
    assert_targets_accounted(&v);
    let t = targets(&v);
    assert_eq!(
        t["home"]["requests"]["completed"].as_u64(),
        Some(300),
        "{v}"
    );
    assert_eq!(t["strict"]["requests"]["failed"].as_u64(), Some(100), "{v}");
    assert_eq!(
        t["strict"]["errors"]["unexpected_status"].as_u64(),
        Some(100)
    );
    assert_eq!(v["errors"]["unexpected_status"].as_u64(), Some(100));
}

/// Bad target files are refused before any socket opens, with one line
/// naming the file and line.
#[test]
fn bad_target_files_name_the_line() {
    let dir = scratch("bad");
    for (content, expected) in [
        ("GET http://127.0.0.1:9/\nNoColon\n", ":2:"),
        ("GET http://127.0.0.1:9/{{nope}}\n", ":1:"),
        ("GET http://127.0.0.1:9/\n@/no/such/body\n", ":2:"),
        ("{\"url\": \"http://127.0.0.1:9/\", \"weight\": 0}\n", ":1:"),
    ] {
        let file = dir.join("t.txt");
        std::fs::write(&file, content).unwrap();
        let out = volley(&["--targets", file.to_str().unwrap(), "--rps", "1", "-c", "1"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{content}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("t.txt") && err.contains(expected),
            "{content}: {err}"
        );
    }
}

/// Four shards of a run of targets, merged, count what one process
/// counts, per target: the mix depends on the request index alone.
#[test]
fn four_shards_merged_equal_one_process_per_target() {
    let dir = scratch("shards");
    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeConfig::default()
    })
    .unwrap();
    let addr = server.addr();
    let file = dir.join("targets.txt");
    std::fs::write(
        &file,
        format!(
            "{{\"name\": \"a\", \"url\": \"http://{addr}/a\", \"weight\": 5}}\n\
             {{\"name\": \"b\", \"url\": \"http://{addr}/b\", \"weight\": 3}}\n\
             {{\"name\": \"c\", \"url\": \"http://{addr}/c/{{{{seq}}}}\", \"weight\": 2}}\n"
        ),
    )
    .unwrap();
    let targets_arg = file.to_str().unwrap();
    let common = ["--rps", "1000", "-c", "8", "-n", "1000", "-q"];
    let mut args = vec!["--targets", targets_arg, "-o", "json"];
    args.extend(common);
    let whole = json(&volley(&args));
    let mut saved = Vec::new();
    for i in 0..4 {
        let path = dir.join(format!("shard-{i}.json"));
        let shard = format!("{i}/4");
        let mut args = vec!["--targets", targets_arg, "--shard", &shard];
        args.extend(common);
        let path_arg = path.to_str().unwrap().to_string();
        args.extend(["--save", path_arg.as_str()]);
        let out = volley(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        saved.push(path_arg);
    }
    let mut args = vec!["merge", "-o", "json"];
    args.extend(saved.iter().map(String::as_str));
    let merged = json(&volley(&args));
    assert_targets_accounted(&merged);
    let (w, m) = (targets(&whole), targets(&merged));
    for (name, share) in [("a", 500), ("b", 300), ("c", 200)] {
        for key in ["scheduled", "completed"] {
            assert_eq!(
                w[name]["requests"][key].as_u64(),
                Some(share),
                "{name} {key}: {whole}"
            );
            assert_eq!(
                m[name]["requests"][key].as_u64(),
                Some(share),
                "{name} {key}: {merged}"
            );
        }
        assert_eq!(m[name]["status"], w[name]["status"], "{name}");
    }
}

/// A placeholder volley does not know, in the one request of --url, is
/// refused before any socket opens, naming where placeholders may stand.
#[test]
fn an_unknown_placeholder_in_the_url_is_refused() {
    let out = volley(&[
        "--url",
        "http://127.0.0.1:9/{{nope}}",
        "--rps",
        "1",
        "-c",
        "1",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--url, --header or --body: unknown placeholder {{nope}}"),
        "{err}"
    );
}

//! Real servers as the judges: volley against nginx from Debian's package,
//! started by the test on loopback, with volley's counts compared with the
//! server's own access log.

mod support;

use support::{json, text, volley};
use volley_tests::nginx::Nginx;

#[test]
#[ignore = "needs nginx (apt-get install nginx); CI installs it and runs it"]
fn nginx_logs_every_request_volley_counts() {
    let nginx = Nginx::start(
        "server { listen 127.0.0.1:{port}; keepalive_requests 50; location / { return 200 \"hello\\n\"; } }",
    );
    let url = format!("http://{}/", nginx.addr);
    let out = volley(&[
        &url, "--rps", "500", "-c", "10", "-n", "1000", "-q", "-o", "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["status"]["200"].as_u64(), Some(nginx.served(200)), "{v}");
    assert_eq!(nginx.served(200), 1000, "{}", nginx.error_log());
}

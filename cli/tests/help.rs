//! The binary starts and documents itself. (Being an integration test of
//! this package, it also makes `cargo test` build target/*/volley, which
//! the end-to-end tests in volley-tests run.)

use std::process::Command;

#[test]
fn help_lists_every_run_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_volley"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--url",
        "--rps",
        "--users",
        "--duration",
        "--requests",
        "--method",
        "--header",
        "--body",
        "--body-file",
        "--timeout",
        "--connect-timeout",
        "--ramp-up",
        "--no-keepalive",
        "--threads",
        "--output",
        "--quiet",
        "--threshold",
        "--save",
        "--shard",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
    assert!(text.contains("serve") && text.contains("demo") && text.contains("merge"));
}

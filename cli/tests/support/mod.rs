//! What the binary's tests share: the binary itself, and reading its output.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `volley` binary of this package, built by cargo for its tests.
pub(crate) fn volley_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_volley"))
}

/// Runs `volley args...` with no stdin and waits for it.
pub(crate) fn volley(args: &[&str]) -> Output {
    volley_env(args, None)
}

/// [`volley`] with one more environment variable. `JOB_COMPLETION_INDEX`
/// (which `--shard auto/N` reads) is never inherited.
pub(crate) fn volley_env(args: &[&str], env: Option<(&str, &str)>) -> Output {
    let mut cmd = Command::new(volley_bin());
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("JOB_COMPLETION_INDEX");
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    cmd.output().expect("run volley")
}

/// Output bytes as text.
pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// stdout as the one JSON object `-o json` prints.
pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// SPEC §2's identity on a JSON report, naming the counts if it fails.
pub(crate) fn assert_json_accounted(v: &serde_json::Value) {
    let r = &v["requests"];
    let n = |k: &str| {
        r[k].as_u64()
            .unwrap_or_else(|| panic!("requests.{k} missing: {v}"))
    };
    assert_eq!(
        n("scheduled"),
        n("completed") + n("failed") + n("unfinished") + n("unsent"),
        "{r}"
    );
}

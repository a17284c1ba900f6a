//! `--shard I/N` (SPEC §7): this process runs shard I of N of the plan.
//!
//! A shard is one more level of [`Config::split`], the same split that
//! divides a run across threads: shard I takes 1/N of the users (as evenly
//! as they divide) and the global requests I, I+N, I+2N, … of the single
//! schedule at the full `--rps`. The N shards together therefore make the
//! one evenly spaced schedule exactly, and the same holds for
//! `--requests` (each shard takes its share of the request indices). Within
//! the process the shard is split again across `--threads`.
//!
//! Shards are separate processes, usually on separate machines: each starts
//! its schedule at its own `t0`, so their interleaving in real time is only
//! as good as their start times agree. Counts are exact regardless: each
//! shard schedules exactly its indices within its own `--duration`.

use serde::{Deserialize, Serialize};
use volley_core::Config;

use crate::error::UsageError;

/// The environment variable a Kubernetes Indexed Job sets to the pod's index.
pub(crate) const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// Shard `index` of `count` (0 ≤ index < count); the result document's
/// `run.shard`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shard {
    pub(crate) index: usize,
    pub(crate) count: usize,
}

/// Parses `I/N`, or `auto/N` with I taken from `env_index` (the value of
/// [`INDEX_ENV`], passed in so that tests need not set the environment).
pub(crate) fn parse(s: &str, env_index: Option<&str>) -> Result<Shard, UsageError> {
    let bad = |why: String| UsageError(format!("--shard {s:?}: {why}"));
    let form = "expected I/N, shard I of N counted from 0 (0/4 to 3/4), or auto/N to read I from JOB_COMPLETION_INDEX";
    let Some((index, count)) = s.trim().split_once('/') else {
        return Err(bad(form.into()));
    };
    let count = match count.trim().parse::<usize>() {
        Ok(n) if n >= 1 => n,
        _ => {
            return Err(bad(format!(
                "the shard count {count:?} is not a whole number of at least 1; {form}"
            )));
        }
    };
    let index = if index.trim().eq_ignore_ascii_case("auto") {
        let Some(value) = env_index else {
            return Err(bad(format!(
                "{INDEX_ENV} is not set (a Kubernetes Indexed Job sets it in each pod); give the index instead, \
                 e.g. --shard 0/{count}"
            )));
        };
        match value.trim().parse::<usize>() {
            Ok(i) if i < count => i,
            _ => {
                return Err(bad(format!(
                    "{INDEX_ENV}={value:?} is not a shard index from 0 to {}",
                    count - 1
                )));
            }
        }
    } else {
        match index.trim().parse::<usize>() {
            Ok(i) if i < count => i,
            Ok(_) => {
                return Err(bad(format!(
                    "the index must be below {count}: shards are numbered 0 to {}",
                    count - 1
                )));
            }
            Err(_) => {
                return Err(bad(format!(
                    "the index {index:?} is not a whole number; {form}"
                )));
            }
        }
    };
    Ok(Shard { index, count })
}

/// Reads `--shard` (with [`INDEX_ENV`] for `auto/N`) and narrows `config`,
/// the whole run, to this shard's part of it.
pub(crate) fn apply(arg: Option<&str>, config: &mut Config) -> Result<Option<Shard>, UsageError> {
    let Some(arg) = arg else { return Ok(None) };
    let shard = parse(arg, std::env::var(INDEX_ENV).ok().as_deref())?;
    *config = narrow(config, shard).map_err(|why| UsageError(format!("--shard {arg:?}: {why}")))?;
    Ok(Some(shard))
}

/// This shard's part of `config`.
fn narrow(config: &Config, shard: Shard) -> Result<Config, String> {
    if config.users < shard.count {
        return Err(format!(
            "{} shards need at least {} users in all (one per shard); --users is {}",
            shard.count, shard.count, config.users
        ));
    }
    let mut parts = config.split(shard.count);
    debug_assert_eq!(
        parts.len(),
        shard.count,
        "split keeps every part when users >= parts"
    );
    Ok(parts.swap_remove(shard.index))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use volley_core::{Pacer, Rate};

    use super::*;

    fn err(s: &str, env: Option<&str>) -> String {
        parse(s, env).unwrap_err().0
    }

    #[test]
    fn forms() {
        assert_eq!(parse("0/4", None), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(parse("3/4", None), Ok(Shard { index: 3, count: 4 }));
        assert_eq!(parse("0/1", None), Ok(Shard { index: 0, count: 1 }));
        assert_eq!(parse("auto/4", Some("2")), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(parse("AUTO/4", Some("0")), Ok(Shard { index: 0, count: 4 }));
    }

    #[test]
    fn refusals() {
        let cases = [
            ("4/4", None, "below 4: shards are numbered 0 to 3"),
            ("1/0", None, "shard count \"0\""),
            ("3", None, "expected I/N"),
            ("x/4", None, "index \"x\""),
            ("1/four", None, "shard count \"four\""),
            ("-1/4", None, "index \"-1\""),
            ("auto/4", None, "JOB_COMPLETION_INDEX is not set"),
            (
                "auto/4",
                Some("4"),
                "JOB_COMPLETION_INDEX=\"4\" is not a shard index from 0 to 3",
            ),
            ("auto/4", Some("x"), "JOB_COMPLETION_INDEX=\"x\""),
        ];
        for (input, env, expected) in cases {
            let e = err(input, env);
            assert!(e.starts_with(&format!("--shard {input:?}: ")), "{e}");
            assert!(e.contains(expected), "{input}: {e}");
            assert!(!e.contains('\n'));
        }
        let config = Config::new(3, Rate::Max);
        assert!(
            narrow(&config, Shard { index: 0, count: 4 })
                .unwrap_err()
                .contains("at least 4 users")
        );
    }

    #[test]
    fn shards_make_the_single_schedule() {
        let Some(rate @ Rate::Fixed { milli_rps }) = Rate::per_second(1000.0) else {
            panic!()
        };
        let whole = Config::new(10, rate);
        let shards: Vec<Config> = (0..4)
            .map(|index| narrow(&whole, Shard { index, count: 4 }).unwrap())
            .collect();
        assert_eq!(
            shards.iter().map(|c| c.users).collect::<Vec<_>>(),
            [3, 3, 2, 2]
        );
        // Each shard again split across 2 threads, as the driver does.
        let engines: Vec<Config> = shards.iter().flat_map(|c| c.split(2)).collect();
        let mut due: Vec<Duration> = engines
            .iter()
            .flat_map(|c| {
                let p = Pacer::new(milli_rps, c.ramp_up, c.stride, c.phase);
                (0..p.count_before(Duration::from_secs(1))).map(move |k| p.intended(k))
            })
            .collect();
        due.sort();
        assert_eq!(due.len(), 1000);
        assert!(
            due.iter()
                .enumerate()
                .all(|(k, t)| *t == Duration::from_millis(k as u64))
        );
        let single =
            Pacer::new(milli_rps, Duration::ZERO, 1, 0).count_before(Duration::from_secs(1));
        assert_eq!(single, 1000);
        assert_eq!(engines.iter().map(|c| c.users).sum::<usize>(), 10);
    }
}

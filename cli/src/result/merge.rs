//! `volley merge FILE...` (SPEC §7): combines results saved with `--save`
//! (the shards of one test, or runs on several machines) into one report,
//! with the same formats, thresholds and exit codes as a run.
//!
//! Counts add exactly, histograms add exactly (HDR histograms of equal
//! bounds), and the per-second timelines are aligned on wall-clock time:
//! each file's rows are shifted by its start's offset from the earliest
//! start, rounded to whole seconds. The merged run:
//!
//! - `duration` and the measuring window are the longest of the files';
//! - `target_rps` is the sum of the targets (`null` if any was `max`);
//! - `users` and `threads` are summed;
//! - method and URL are the first file's.

use volley_core::Stats;

use super::{RunInfo, Saved, StageInfo};

/// Combines saved results; `parts` must not be empty.
pub(crate) fn merge(parts: Vec<Saved>) -> Saved {
    let base = parts
        .iter()
        .map(|p| p.wall_start_unix_s)
        .fold(f64::INFINITY, f64::min);
    let mut stats: Option<Stats> = None;
    let mut info: Option<RunInfo> = None;
    for mut part in parts {
        let offset = (part.wall_start_unix_s - base)
            .round()
            .clamp(0.0, f64::from(u32::MAX)) as u32;
        for row in &mut part.stats.timeline {
            row.second = row.second.saturating_add(offset);
        }
        match &mut stats {
            Some(s) => s.merge(&part.stats),
            None => stats = Some(part.stats),
        }
        info = Some(match info {
            None => part.info,
            Some(a) => {
                let b = part.info;
                RunInfo {
                    duration: a.duration.max(b.duration),
                    target_rps: a.target_rps.zip(b.target_rps).map(|(x, y)| x + y),
                    users: a.users + b.users,
                    threads: a.threads + b.threads,
                    keep_alive: a.keep_alive && b.keep_alive,
                    timeout: a.timeout.max(b.timeout),
                    tls: a.tls || b.tls,
                    insecure: a.insecure || b.insecure,
                    shard: None,
                    stages: sum_stages(&a.stages, &b.stages),
                    ..a
                }
            }
        });
    }
    Saved {
        info: info.expect("at least one result to merge"), // ok: clap requires one file
        stats: stats.unwrap_or_default(),
        wall_start_unix_s: if base.is_finite() { base } else { 0.0 },
    }
}

/// The shapes of two merged runs added rate to rate, when their stages
/// line up (shards of one test); otherwise no shape is known.
fn sum_stages(a: &[StageInfo], b: &[StageInfo]) -> Vec<StageInfo> {
    let aligned = a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.duration == y.duration);
    if !aligned {
        return Vec::new();
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| StageInfo {
            duration: x.duration,
            rps: x.rps + y.rps,
        })
        .collect()
}

/// Things worth a line on stderr: results of different targets, and
/// shards of one test that are missing or given twice.
pub(crate) fn notes(parts: &[Saved]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(first) = parts.first() {
        if let Some(other) = parts
            .iter()
            .find(|p| p.info.url != first.info.url || p.info.method != first.info.method)
        {
            out.push(format!(
                "the results are of different requests ({} {} and {} {}); the report names the first",
                first.info.method, first.info.url, other.info.method, other.info.url
            ));
        }
    }
    let shards: Vec<_> = parts.iter().filter_map(|p| p.info.shard).collect();
    if let Some(count) = shards.first().map(|s| s.count) {
        if shards.len() == parts.len() && shards.iter().all(|s| s.count == count) {
            let mut seen = vec![0usize; count];
            for s in &shards {
                seen[s.index.min(count - 1)] += 1;
            }
            let list = |want: &dyn Fn(usize) -> bool| {
                seen.iter()
                    .enumerate()
                    .filter(|(_, n)| want(**n))
                    .map(|(i, _)| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let missing = list(&|n| n == 0);
            let twice = list(&|n| n > 1);
            if !missing.is_empty() {
                out.push(format!("shards {missing} of {count} are missing: the merged rate is short of the whole test's"));
            }
            if !twice.is_empty() {
                out.push(format!(
                    "shards {twice} of {count} were given more than once"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use volley_core::Second;

    use super::*;
    use crate::plan::shard::Shard;

    fn part(start: f64, rate: Option<f64>, shard: Option<Shard>, rows: &[(u32, u64)]) -> Saved {
        let mut stats = Stats::new();
        for (second, completed) in rows {
            stats.timeline.push(Second {
                second: *second,
                completed: *completed,
                ..Second::default()
            });
            stats.completed += completed;
            stats.scheduled += completed;
            stats.add_status(200, *completed);
            for i in 0..*completed {
                stats.latency.record(1000 + i).unwrap();
            }
        }
        stats.duration = Duration::from_secs(2);
        let info = RunInfo {
            method: "GET".into(),
            url: "http://127.0.0.1:1/".into(),
            duration: Duration::from_secs(2),
            target_rps: rate,
            users: 3,
            threads: 1,
            keep_alive: true,
            timeout: Duration::from_secs(30),
            shard,
            ..RunInfo::default()
        };
        Saved {
            info,
            stats,
            wall_start_unix_s: start,
        }
    }

    #[test]
    fn sums_and_aligns_on_wall_clock() {
        let a = part(1000.9, Some(100.0), None, &[(0, 10), (1, 20)]);
        let b = part(1002.1, Some(50.0), None, &[(0, 5), (1, 6)]);
        let m = merge(vec![a, b]);
        assert_eq!(m.wall_start_unix_s, 1000.9);
        // b started 1.2 s later: its second 0 is a's second 1.
        let rows: Vec<_> = m
            .stats
            .timeline
            .iter()
            .map(|r| (r.second, r.completed))
            .collect();
        assert_eq!(rows, [(0, 10), (1, 25), (2, 6)]);
        assert_eq!(m.stats.completed, 41);
        assert_eq!(m.stats.latency.len(), 41);
        assert_eq!(m.stats.statuses().collect::<Vec<_>>(), [(200, 41)]);
        assert_eq!(m.info.target_rps, Some(150.0));
        assert_eq!((m.info.users, m.info.threads), (6, 2));
        assert_eq!(m.stats.duration, Duration::from_secs(2));
        let max = merge(vec![
            part(1.0, Some(100.0), None, &[]),
            part(1.0, None, None, &[]),
        ]);
        assert_eq!(max.info.target_rps, None);
    }

    #[test]
    fn notes_on_missing_shards_and_other_targets() {
        let shard = |index| Some(Shard { index, count: 4 });
        let parts = vec![
            part(1.0, None, shard(0), &[]),
            part(1.0, None, shard(2), &[]),
            part(1.0, None, shard(2), &[]),
        ];
        assert_eq!(
            notes(&parts),
            [
                "shards 1, 3 of 4 are missing: the merged rate is short of the whole test's",
                "shards 2 of 4 were given more than once"
            ]
        );
        let all: Vec<_> = (0..4).map(|i| part(1.0, None, shard(i), &[])).collect();
        assert!(notes(&all).is_empty());
        let mut other = part(1.0, None, None, &[]);
        other.info.url = "http://127.0.0.1:2/".into();
        assert_eq!(notes(&[part(1.0, None, None, &[]), other]).len(), 1);
    }
}

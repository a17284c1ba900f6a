//! `volley merge FILE...` (SPEC §7): combines results saved with `--save`
//! (the shards of one test, or runs on several machines) into one report,
//! with the same formats, thresholds and exit codes as a run.
//!
//! Counts add exactly, histograms add exactly (HDR histograms of equal
//! bounds), and the per-second timelines, the run's and its targets', are
//! aligned on wall-clock time: each file's rows are shifted by its start's
//! offset from the earliest start, rounded to whole seconds. The merged run:
//!
//! - `duration` and the measuring window are the longest of the files';
//! - `target_rps` is the sum of the targets (`null` if any was `max`);
//! - `users` and `threads` are summed;
//! - method and URL are the first file's.
//!
//! Targets (SPEC §10) are matched by name: a target's figures add up over
//! the files that have it, and the merged run lists every target named in
//! any file, in the order they first appear (with the first file's method,
//! URL and weight). Files of differing lists still merge, with a note
//! ([`notes`]): shards of one test always agree.

use volley_core::{Stats, TargetStats};

use super::{RunInfo, Saved, StageInfo, TargetInfo};

/// Combines saved results; `parts` must not be empty.
pub(crate) fn merge(mut parts: Vec<Saved>) -> Saved {
    let base = parts
        .iter()
        .map(|p| p.wall_start_unix_s)
        .fold(f64::INFINITY, f64::min);
    let targets = all_targets(&parts);
    for part in &mut parts {
        align_targets(part, &targets);
    }
    let mut stats: Option<Stats> = None;
    let mut info: Option<RunInfo> = None;
    for mut part in parts {
        let offset = (part.wall_start_unix_s - base)
            .round()
            .clamp(0.0, f64::from(u32::MAX)) as u32;
        let targets = part.stats.targets.iter_mut();
        let rows = part.stats.timeline.iter_mut();
        for row in rows.chain(targets.flat_map(|t| t.timeline.iter_mut())) {
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
                    connections: a.connections.zip(b.connections).map(|(x, y)| x + y),
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
    let mut info = info.expect("at least one result to merge"); // ok: clap requires one file
    info.targets = targets;
    Saved {
        info,
        stats: stats.unwrap_or_default(),
        wall_start_unix_s: if base.is_finite() { base } else { 0.0 },
    }
}

/// Every target named in `parts`, in the order they first appear.
fn all_targets(parts: &[Saved]) -> Vec<TargetInfo> {
    let mut out: Vec<TargetInfo> = Vec::new();
    for t in parts.iter().flat_map(|p| &p.info.targets) {
        if !out.iter().any(|known| known.name == t.name) {
            out.push(t.clone());
        }
    }
    out
}

/// Puts `part`'s targets in the order of `all`, with empty results for
/// the targets it does not have, so that [`Stats::merge`] adds them one
/// to one. A result of one request (no targets) stays as it is: its
/// requests count in the totals only.
fn align_targets(part: &mut Saved, all: &[TargetInfo]) {
    if part.info.targets.is_empty() || part.info.targets == all {
        return;
    }
    let sigfigs = volley_core::stats::target_sigfigs(all.len());
    let mut own: Vec<(String, TargetStats)> = part
        .info
        .targets
        .iter()
        .map(|t| t.name.clone())
        .zip(std::mem::take(&mut part.stats.targets))
        .collect();
    part.stats.targets = all
        .iter()
        .map(|t| match own.iter().position(|(name, _)| *name == t.name) {
            Some(i) => own.swap_remove(i).1,
            None => TargetStats::new(sigfigs),
        })
        .collect();
    part.info.targets = all.to_vec();
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
    if let Some(note) = targets_note(parts) {
        out.push(note);
    }
    if let Some((first, other)) = parts.first().and_then(|f| {
        parts
            .iter()
            .find(|p| p.info.protocol != f.info.protocol)
            .map(|o| (f, o))
    }) {
        out.push(format!(
            "the results are of different protocols ({} and {}); the report names the first",
            first.info.protocol, other.info.protocol
        ));
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

/// A note when the results do not list the same targets.
fn targets_note(parts: &[Saved]) -> Option<String> {
    let names =
        |p: &Saved| -> Vec<String> { p.info.targets.iter().map(|t| t.name.clone()).collect() };
    let first = names(parts.first()?);
    let other = parts.iter().map(names).find(|n| *n != first)?;
    let list = |n: &[String]| match n.is_empty() {
        true => "none".to_string(),
        false => n.join(", "),
    };
    let mut note = format!(
        "the results have different targets ({} and {}): each target adds up over the results that have it",
        list(&first),
        list(&other)
    );
    if parts.iter().any(|p| p.info.targets.is_empty()) {
        note.push_str("; the requests of a result without targets count in the totals only");
    }
    Some(note)
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

    /// `part` as a run of these targets, each with `n` completions of
    /// `latency` µs.
    fn with_targets(mut part: Saved, targets: &[(&str, u64, u64)]) -> Saved {
        for &(name, n, latency) in targets {
            let mut t = TargetStats::new(3);
            for _ in 0..n {
                t.latency.record(latency).unwrap();
                t.add_status(200, 1);
            }
            (t.scheduled, t.completed) = (n, n);
            part.stats.targets.push(t);
            part.info.targets.push(TargetInfo {
                name: name.into(),
                method: "GET".into(),
                url: format!("http://127.0.0.1:1/{name}"),
                weight: 1,
            });
        }
        part
    }

    fn by_name(m: &Saved) -> Vec<(String, u64, u64)> {
        m.info
            .targets
            .iter()
            .zip(&m.stats.targets)
            .map(|(i, t)| (i.name.clone(), t.completed, t.latency.max()))
            .collect()
    }

    #[test]
    fn targets_add_by_name() {
        let a = with_targets(part(1.0, None, None, &[]), &[("a", 2, 100), ("b", 3, 200)]);
        let b = with_targets(part(1.0, None, None, &[]), &[("a", 5, 300), ("b", 1, 400)]);
        assert!(notes(&[a.clone(), b.clone()]).is_empty());
        let m = merge(vec![a.clone(), b]);
        assert_eq!(by_name(&m), [("a".into(), 7, 300), ("b".into(), 4, 400)]);
        assert_eq!(m.stats.targets[0].status(200), 7);
        // Lists that differ: every target, in the order first seen, each
        // added over the results that have it.
        let c = with_targets(part(1.0, None, None, &[]), &[("c", 1, 500), ("a", 1, 600)]);
        let parts = vec![a, c];
        let note = notes(&parts);
        assert_eq!(
            note,
            [
                "the results have different targets (a, b and c, a): each target adds up over the results that have it"
            ]
        );
        let m = merge(parts);
        assert_eq!(
            by_name(&m),
            [
                ("a".into(), 3, 600),
                ("b".into(), 3, 200),
                ("c".into(), 1, 500)
            ]
        );
        assert!(m.stats.targets.iter().all(TargetStats::identity_holds));
        // With a result of one request: its requests are in no target.
        let one = part(1.0, None, None, &[(0, 4)]);
        let two = with_targets(part(1.0, None, None, &[]), &[("a", 2, 100)]);
        let parts = vec![one, two];
        assert!(notes(&parts)[0].ends_with("count in the totals only"));
        let m = merge(parts);
        assert_eq!(by_name(&m), [("a".into(), 2, 100)]);
        assert_eq!(m.stats.completed, 4);
    }

    #[test]
    fn target_timelines_align_on_wall_clock_and_merge_exactly() {
        // A second's latencies, all below 256 µs: kept exactly.
        let row = |second, latencies: &[u64]| Second {
            second,
            completed: latencies.len() as u64,
            p50_us: latencies[0],
            p99_us: latencies[latencies.len() - 1],
            max_us: latencies[latencies.len() - 1],
            latency: volley_core::Spread::from_pairs(latencies.iter().map(|&v| (v, 1))),
            ..Second::default()
        };
        let mut a = with_targets(part(1000.9, None, None, &[]), &[("x", 3, 100)]);
        a.stats.targets[0].timeline = vec![row(0, &[10, 20]), row(1, &[200])];
        let mut b = with_targets(part(1002.1, None, None, &[]), &[("x", 4, 100)]);
        b.stats.targets[0].timeline = vec![row(0, &[30, 40, 250]), row(2, &[5])];
        let m = merge(vec![a, b]);
        let rows: Vec<_> = m.stats.targets[0]
            .timeline
            .iter()
            .map(|r| (r.second, r.completed, r.p50_us, r.max_us))
            .collect();
        // b started 1.2 s later: its second 0 is a's second 1, where the
        // median of 30, 40, 200 and 250 is 40 (neither row's own).
        assert_eq!(rows, [(0, 2, 10, 20), (1, 4, 40, 250), (3, 1, 5, 5)]);
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
        let (h1, mut h2) = (part(1.0, None, None, &[]), part(1.0, None, None, &[]));
        h2.info.protocol = "h2".into();
        assert_eq!(
            notes(&[h1.clone(), h2]),
            [format!(
                "the results are of different protocols ({} and h2); the report names the first",
                h1.info.protocol
            )]
        );
    }
}

//! The report model: one [`Summary`] built from a run's description, its
//! statistics and its threshold rules. Every figure the reports show is
//! computed here, once; the text report, the JSON document and the HTML
//! page only render it.

use std::fmt;
use std::time::Duration;

use volley_core::{ErrorKind, Second, Stats, TargetStats};

use crate::format::{percent, rate, thousands, us};
use crate::plan::threshold::{self, Rule, Verdict};
use crate::result::{Bytes, Connections, Dist, Requests, RunInfo, Statuses, TargetInfo};

/// A finished run (or merge), ready to be rendered.
#[derive(Debug)]
pub(crate) struct Summary<'a> {
    pub(crate) run: &'a RunInfo,
    /// The statistics behind the figures: the histograms and the timeline
    /// for the charts and for `--save`.
    pub(crate) stats: &'a Stats,
    /// The wall-clock time of `t0`, Unix seconds (0 when unknown).
    pub(crate) wall_start_unix_s: f64,
    pub(crate) requests: Requests,
    /// What the schedule asked for over the window, req/s: below the
    /// target during a ramp-up or when the run was stopped early.
    pub(crate) scheduled_rps: f64,
    pub(crate) latency: Dist,
    pub(crate) service: Dist,
    pub(crate) ttfb: Dist,
    pub(crate) connect: Dist,
    pub(crate) tls_handshake: Dist,
    pub(crate) send_lag: Dist,
    pub(crate) statuses: Statuses,
    /// Completed responses with a status other than 2xx/3xx.
    pub(crate) non_success: u64,
    /// Failed requests plus `non_success`: what `--threshold errors` counts.
    pub(crate) errors_total: u64,
    /// `errors_total` as a share of the requests that ended, in percent.
    pub(crate) error_share: f64,
    /// The error kinds that occurred or left an example, in report order.
    pub(crate) errors: Vec<ErrorLine<'a>>,
    pub(crate) bytes: Bytes,
    /// Bytes received and sent per second of the window.
    pub(crate) bytes_per_s: Bytes,
    pub(crate) connections: Connections,
    pub(crate) warnings: Vec<Warning>,
    pub(crate) verdicts: Vec<Verdict>,
    /// Each target's figures, in the targets' order; empty for a run of
    /// one request.
    pub(crate) targets: Vec<TargetSummary<'a>>,
}

/// One target's figures (SPEC §10), computed as the run's are.
#[derive(Debug)]
pub(crate) struct TargetSummary<'a> {
    pub(crate) info: TargetInfo,
    /// Its statistics: the histograms for `--save`.
    pub(crate) stats: &'a TargetStats,
    pub(crate) requests: Requests,
    pub(crate) latency: Dist,
    pub(crate) service: Dist,
    pub(crate) ttfb: Dist,
    pub(crate) statuses: Statuses,
    pub(crate) bytes: Bytes,
    /// Failed requests plus completed ones with a status other than
    /// 2xx/3xx, as the run's `errors_total`.
    pub(crate) errors_total: u64,
    /// Its requests that ended: completed + failed, what `errors_total`
    /// is a share of (as for the run and `--threshold errors<1%`).
    pub(crate) ended: u64,
}

impl<'a> TargetSummary<'a> {
    /// Target `i` of the run: `t`, described by `run.targets[i]` (named
    /// `#i+1` should the description be missing).
    fn new(run: &RunInfo, i: usize, t: &'a TargetStats, window: std::time::Duration) -> Self {
        Self {
            info: run.targets.get(i).cloned().unwrap_or_else(|| TargetInfo {
                name: format!("#{}", i + 1),
                ..TargetInfo::default()
            }),
            stats: t,
            requests: Requests::of_target(t, window),
            latency: Dist::of(&t.latency),
            service: Dist::of(&t.service),
            ttfb: Dist::of(&t.ttfb),
            statuses: Statuses(t.status.clone()),
            bytes: Bytes::of_target(t),
            errors_total: t.failed + t.non_success(),
            ended: t.completed + t.failed,
        }
    }
}

/// `errors` as a share of the requests that `ended`, in percent; 0 when
/// none ended.
fn share_of_ended(errors: u64, ended: u64) -> f64 {
    if ended == 0 {
        0.0
    } else {
        100.0 * errors as f64 / ended as f64
    }
}

/// One error kind of the report.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErrorLine<'a> {
    pub(crate) kind: ErrorKind,
    pub(crate) count: u64,
    /// The first message seen of this kind.
    pub(crate) example: Option<&'a str>,
}

impl<'a> Summary<'a> {
    pub(crate) fn new(
        run: &'a RunInfo,
        stats: &'a Stats,
        rules: &[Rule],
        wall_start_unix_s: f64,
    ) -> Self {
        let s = stats;
        let requests = Requests::of(s);
        let window = s.duration.as_secs_f64().max(1e-9);
        let non_success = s.non_success();
        let errors_total = s.failed + non_success;
        let ended = s.completed + s.failed;
        let errors = ErrorKind::ALL
            .into_iter()
            .map(|kind| ErrorLine {
                kind,
                count: s.errors[kind.index()],
                example: s.examples.0[kind.index()].as_deref(),
            })
            .filter(|e| e.count > 0 || e.example.is_some())
            .collect();
        Self {
            run,
            stats,
            wall_start_unix_s,
            requests,
            scheduled_rps: s.scheduled as f64 / window,
            latency: Dist::of(&s.latency),
            service: Dist::of(&s.service),
            ttfb: Dist::of(&s.ttfb),
            connect: Dist::of(&s.connect),
            tls_handshake: Dist::of(&s.tls_handshake),
            send_lag: Dist::of(&s.send_lag),
            statuses: Statuses::of(s),
            non_success,
            errors_total,
            error_share: share_of_ended(errors_total, ended),
            errors,
            bytes: Bytes::of(s),
            bytes_per_s: Bytes {
                received: (s.bytes_in as f64 / window) as u64,
                sent: (s.bytes_out as f64 / window) as u64,
            },
            connections: Connections::of(s),
            warnings: Warning::all(run, s),
            verdicts: threshold::evaluate(
                rules,
                s,
                &run.targets
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>(),
            ),
            targets: s
                .targets
                .iter()
                .enumerate()
                .map(|(i, t)| TargetSummary::new(run, i, t, s.duration))
                .collect(),
        }
    }

    /// The per-second rows.
    pub(crate) fn timeline(&self) -> &'a [Second] {
        &self.stats.timeline
    }

    /// Completed as a share of scheduled, in percent (`None` when nothing
    /// was scheduled).
    pub(crate) fn of_schedule(&self) -> Option<f64> {
        let r = &self.requests;
        (r.scheduled > 0).then(|| 100.0 * r.completed as f64 / r.scheduled as f64)
    }

    /// The number of failed connect attempts, retried with backoff.
    pub(crate) fn connect_failures(&self) -> u64 {
        self.connections.failed_attempts
    }

    /// The destinations connected to, when they are not simply the URL's
    /// own address: a host name resolved, a `--connect-to` or
    /// `--unix-socket`, or several addresses.
    pub(crate) fn destinations_to_show(&self) -> Option<String> {
        let by = &self.connections.by_address;
        let url_authority = url::Url::parse(&self.run.url).ok().and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(format!("{host}:{}", u.port_or_known_default()?))
        });
        let only_the_urls = by.len() == 1 && by.keys().next() == url_authority.as_ref();
        (!by.is_empty() && !only_the_urls).then(|| {
            let list: Vec<String> = if by.len() == 1 {
                by.keys().cloned().collect()
            } else {
                by.iter()
                    .map(|(a, n)| format!("{a} ({})", crate::format::thousands(*n)))
                    .collect()
            };
            list.join(", ")
        })
    }

    /// Some rule failed.
    pub(crate) fn threshold_failed(&self) -> bool {
        self.verdicts.iter().any(|v| !v.passed)
    }
}

/// A warning worth acting on (SPEC §4, item 7). `Display` is its text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Warning {
    /// The target rate was missed because every user was busy: Little's
    /// law says how many are needed.
    UsersBusy {
        achieved: f64,
        target: f64,
        users: usize,
        mean_service_us: f64,
        busy: f64,
        needed: u64,
    },
    /// One origin of several (SPEC §10) missed its share of the rate
    /// because all of its users were busy: Little's law for that origin.
    OriginUsersBusy {
        origin: String,
        target: f64,
        users: usize,
        mean_service_us: f64,
        needed: u64,
        /// The `--users` that gives the origin that many.
        total_needed: u64,
    },
    /// Requests left late although the users should have sufficed.
    LateSends {
        lag_p90_us: u64,
        users: usize,
        busy: f64,
    },
    /// The schedule was missed while users were free.
    GeneratorShort { achieved: f64, scheduled_rps: f64 },
    /// Requests failed, most of them of `kind`.
    Failures {
        failed: u64,
        scheduled: u64,
        kind: ErrorKind,
        timeout: Duration,
    },
    /// Responses with a status other than 2xx/3xx; `server` when some were 5xx.
    BadStatus {
        count: u64,
        completed: u64,
        server: bool,
    },
    /// Requests still in flight at the end.
    Unfinished { count: u64 },
    /// Nothing was measured.
    NothingCompleted,
}

impl Warning {
    /// Every warning that applies to a run, in report order.
    fn all(info: &RunInfo, s: &Stats) -> Vec<Self> {
        let mut out = Vec::new();
        // How long a request holds its user: the service time, plus the
        // connect when every request opens a new connection.
        let connect_s = if info.keep_alive {
            0.0
        } else {
            s.connect.mean() / 1e6
        };
        let mean_service_s = s.service.mean() / 1e6 + connect_s;
        if let Some(target) = info.target_rps {
            let achieved = s.achieved_rps();
            let scheduled_rps = s.scheduled as f64 / s.duration.as_secs_f64().max(1e-9);
            let lag_p90 = s.send_lag.value_at_percentile(90.0);
            // Requests waited: some never left, or most left late.
            let backlog = s.unsent * 1000 > s.scheduled || (s.sent > 0 && lag_p90 > 10_000);
            // Users that cannot connect wait out a backoff: then more users
            // are not the answer, the connect errors are.
            let connects_failing = [
                ErrorKind::ConnectRefused,
                ErrorKind::ConnectTimeout,
                ErrorKind::ConnectError,
            ]
            .iter()
            .any(|k| s.errors[k.index()] > 0);
            let backlog = backlog && !connects_failing;
            // Little's law: users busy at once = arrival rate × time each
            // request holds a user; 25% margin for variance.
            let busy = target * mean_service_s;
            let needed = (busy * 1.25).ceil().max(1.0) as u64;
            let by_origin = Self::origins_busy(info, s, target, connect_s);
            if !by_origin.is_empty() {
                out.extend(by_origin);
            } else if backlog && s.completed > 0 && needed > info.users as u64 {
                out.push(Self::UsersBusy {
                    achieved,
                    target,
                    users: info.users,
                    mean_service_us: s.service.mean(),
                    busy,
                    needed,
                });
            } else if backlog && s.completed > 0 {
                out.push(Self::LateSends {
                    lag_p90_us: lag_p90,
                    users: info.users,
                    busy,
                });
            } else if s.completed > 0
                && s.completed * 100 < s.scheduled * 95
                && s.unfinished + s.failed == 0
            {
                out.push(Self::GeneratorShort {
                    achieved,
                    scheduled_rps,
                });
            }
        }
        if s.failed > 0 {
            let kind = ErrorKind::ALL
                .iter()
                .map(|k| (*k, s.errors[k.index()]))
                .max_by_key(|(_, n)| *n)
                .map_or(ErrorKind::Io, |(k, _)| k);
            out.push(Self::Failures {
                failed: s.failed,
                scheduled: s.scheduled,
                kind,
                timeout: info.timeout,
            });
        }
        let bad = s.non_success();
        if bad > 0 {
            let server = s.statuses().any(|(c, _)| c >= 500);
            out.push(Self::BadStatus {
                count: bad,
                completed: s.completed,
                server,
            });
        }
        if s.unfinished > 0 {
            out.push(Self::Unfinished {
                count: s.unfinished,
            });
        }
        if s.completed == 0 && s.scheduled > 0 {
            out.push(Self::NothingCompleted);
        }
        out
    }
}

impl Warning {
    /// With targets on several origins, each origin whose requests backed
    /// up while its users were all busy: each origin has its own users and
    /// backlog, so Little's law applies to each on its own.
    fn origins_busy(info: &RunInfo, s: &Stats, target: f64, connect_s: f64) -> Vec<Self> {
        let origin = |url: &str| -> String {
            let after = url.find("://").map_or(0, |i| i + 3);
            let end = url[after..]
                .find(['/', '?'])
                .map_or(url.len(), |i| after + i);
            url[..end].to_string()
        };
        let mut names: Vec<String> = Vec::new();
        for t in &info.targets {
            let o = origin(&t.url);
            if !names.contains(&o) {
                names.push(o);
            }
        }
        if names.len() < 2 || s.targets.len() != info.targets.len() {
            return Vec::new();
        }
        let mut shares = vec![0u64; names.len()];
        let of = |t: &crate::result::TargetInfo| {
            let o = origin(&t.url);
            names.iter().position(|n| *n == o).unwrap_or(0)
        };
        for t in &info.targets {
            shares[of(t)] += u64::from(t.weight);
        }
        let total_share: u64 = shares.iter().sum::<u64>().max(1);
        let users = volley_core::divide_users(info.users, &shares);
        let mut out = Vec::new();
        for (o, name) in names.iter().enumerate() {
            let (mut scheduled, mut unsent, mut sum_us, mut n) = (0, 0, 0.0, 0u64);
            for (t, ts) in info.targets.iter().zip(&s.targets) {
                if of(t) == o {
                    scheduled += ts.scheduled;
                    unsent += ts.unsent;
                    sum_us += ts.service.mean() * ts.service.len() as f64;
                    n += ts.service.len();
                }
            }
            if n == 0 || unsent * 1000 <= scheduled {
                continue;
            }
            let mean_service_us = sum_us / n as f64;
            let rate = target * shares[o] as f64 / total_share as f64;
            let needed = (rate * (mean_service_us / 1e6 + connect_s) * 1.25)
                .ceil()
                .max(1.0) as u64;
            if needed > users[o] as u64 {
                let total_needed =
                    (needed as f64 * total_share as f64 / shares[o] as f64).ceil() as u64;
                out.push(Self::OriginUsersBusy {
                    origin: name.clone(),
                    target: rate,
                    users: users[o],
                    mean_service_us,
                    needed,
                    total_needed: total_needed.max(info.users as u64 + 1),
                });
            }
        }
        out
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UsersBusy {
                achieved,
                target,
                users,
                mean_service_us,
                busy,
                needed,
            } => write!(
                f,
                "the target rate was not reached ({} of {} req/s): all {} users were busy, so requests \
                 waited for a free one (their wait is in the latency). Little's law: {} req/s × {} mean \
                 service time = {busy:.0} users busy at once; run with --users {} or more",
                rate(achieved),
                rate(target),
                thousands(users as u64),
                rate(target),
                us(mean_service_us),
                thousands(needed),
            ),
            Self::OriginUsersBusy {
                ref origin,
                target,
                users,
                mean_service_us,
                needed,
                total_needed,
            } => write!(
                f,
                "{origin}: its requests waited for a free user: its {} users (of --users, by its share of \
                 the schedule) were all busy. Little's law: {} req/s × {} mean service time; it needs {} \
                 users: run with --users {} or more",
                thousands(users as u64),
                rate(target),
                us(mean_service_us),
                thousands(needed),
                thousands(total_needed),
            ),
            Self::LateSends {
                lag_p90_us,
                users,
                busy,
            } => write!(
                f,
                "requests left late (send lag p90 {}) although {} users should suffice by Little's law \
                 ({busy:.1} busy at once): the service time varied widely, or this machine was short of CPU; \
                 try more --users or --threads",
                us(lag_p90_us as f64),
                thousands(users as u64),
            ),
            Self::GeneratorShort {
                achieved,
                scheduled_rps,
            } => write!(
                f,
                "the scheduled rate was not reached ({} of {} req/s) though users were free: the load \
                 generator itself may be short of CPU; try more --threads or another machine",
                rate(achieved),
                rate(scheduled_rps)
            ),
            Self::Failures {
                failed,
                scheduled,
                kind,
                timeout,
            } => write!(
                f,
                "{} requests failed ({}), most with {}: ",
                thousands(failed),
                percent(failed, scheduled.max(1)),
                kind.label()
            )
            .and_then(|()| hint(f, kind, timeout)),
            Self::BadStatus {
                count,
                completed,
                server,
            } => write!(
                f,
                "{} responses ({}) had a status other than 2xx/3xx: {}",
                thousands(count),
                percent(count, completed.max(1)),
                if server {
                    "the server reported errors (5xx); check its logs, and whether it fails only under this \
                     load (try a lower --rps)"
                } else {
                    "4xx means the request itself was refused: check the URL, method, headers and body"
                }
            ),
            Self::Unfinished { count } => write!(
                f,
                "{} requests were still in flight when the run ended; they are counted as unfinished, \
                 not as latencies (a slow tail may be hidden: lower --timeout to see them as timeouts)",
                thousands(count)
            ),
            Self::NothingCompleted => f.write_str("no request completed: nothing was measured"),
        }
    }
}

/// What to do about failures of `kind`.
fn hint(f: &mut fmt::Formatter<'_>, kind: ErrorKind, timeout: Duration) -> fmt::Result {
    f.write_str(match kind {
        ErrorKind::ConnectRefused => "nothing is listening at that address; is the server up, and is the port right?",
        ErrorKind::ConnectTimeout => {
            "connections were not accepted in time; the server may be overloaded, or its listen backlog full"
        }
        ErrorKind::ConnectError => {
            "could not open connections; with --no-keepalive at a high rate the local ports can run out (each \
             closed connection waits in TIME_WAIT): use keep-alive or a lower rate"
        }
        ErrorKind::Timeout => {
            return write!(
                f,
                "no full response within --timeout {}; the server is too slow at this load: lower --rps or \
                 raise --timeout",
                crate::format::dur(timeout)
            );
        }
        ErrorKind::Reset => {
            "the server reset connections; it may be overloaded, or limit connections or requests per connection"
        }
        ErrorKind::Tls => "the TLS handshake or a record failed",
        ErrorKind::Malformed => {
            "the server sent something that is not valid HTTP/1.1; is the URL's port an HTTP port?"
        }
        ErrorKind::ClosedEarly => {
            "the server closed connections before finishing responses; it may be overloaded or restarting"
        }
        ErrorKind::UnexpectedStatus => {
            "responses came with a status the request does not expect (--expect-status, or a target's \
             expect_status); they count as failed, not under the status codes: the example names the status"
        }
        ErrorKind::BodyMismatch => "response bodies did not contain the --expect-body text",
        _ => "see the example message above",
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use volley_core::{Stats, TargetStats};

    use super::Warning;
    use crate::result::{RunInfo, TargetInfo};

    /// Two origins, one that kept up and one whose two users could not:
    /// the hint is for that origin alone, with Little's law for its share.
    #[test]
    fn each_origin_gets_its_own_littles_law() {
        let target = |name: &str, url: &str| TargetInfo {
            name: name.into(),
            method: "GET".into(),
            url: url.into(),
            weight: 1,
        };
        let info = RunInfo {
            target_rps: Some(1_000.0),
            users: 4,
            keep_alive: true,
            duration: Duration::from_secs(1),
            targets: vec![
                target("fast", "http://127.0.0.1:8080/a"),
                target("slow", "http://127.0.0.1:9090/b/{{seq}}"),
            ],
            ..RunInfo::default()
        };
        let mut s = Stats::new();
        let (mut fast, mut slow) = (TargetStats::new(3), TargetStats::new(3));
        for _ in 0..500 {
            fast.service.record(1_000).unwrap();
        }
        (fast.scheduled, fast.completed) = (500, 500);
        for _ in 0..100 {
            slow.service.record(10_000).unwrap();
        }
        (slow.scheduled, slow.completed, slow.unsent, slow.unfinished) = (500, 100, 398, 2);
        s.targets = vec![fast, slow];
        (s.scheduled, s.completed, s.unsent, s.unfinished) = (1_000, 600, 398, 2);
        s.sent = 602;
        s.duration = Duration::from_secs(1);
        let warnings = Warning::all(&info, &s);
        let busy: Vec<_> = warnings
            .iter()
            .filter_map(|w| match w {
                Warning::OriginUsersBusy {
                    origin,
                    users,
                    needed,
                    total_needed,
                    ..
                } => Some((origin.as_str(), *users, *needed, *total_needed)),
                _ => None,
            })
            .collect();
        // 500 req/s × 10 ms = 5 users busy, with 25% margin 7; it has 2 of
        // the 4, and gets half of --users.
        assert_eq!(busy, [("http://127.0.0.1:9090", 2, 7, 14)], "{warnings:?}");
        assert!(
            !warnings
                .iter()
                .any(|w| matches!(w, Warning::UsersBusy { .. }))
        );
        assert!(busy_text(&warnings).contains("--users 14"));
    }

    fn busy_text(warnings: &[Warning]) -> String {
        warnings.iter().map(ToString::to_string).collect()
    }
}

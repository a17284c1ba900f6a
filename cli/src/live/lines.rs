//! `--live PATH`: one JSON line per second of the run, written as each
//! second closes, so that `tail -f PATH | jq` follows the run. A line is
//! that second's timeline row (as the report's `timeline[]` has it, plus
//! `rps`) and the counts so far; after the last second, a line with
//! `"final": true` carries the report's own counts.
//!
//! Its thread reads what the loops publish (see `Control::watch`) a few
//! times a second; it never makes a loop wait, and a slow disk or reader
//! of the pipe delays only the lines.

use std::fs::File;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use volley_core::{ErrorKind, Second, Stats};
use volley_driver::{Control, Snapshot};

use super::Schedule;
use crate::plan::live::LiveTo;
use crate::result::{Bytes, Requests, Row, RunInfo, Statuses, codec};

/// How often the thread looks for a closed second: a line comes at most
/// this long after the loops published its row.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// One line.
#[derive(Serialize)]
struct Line {
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    row: Option<Row>,
    /// Completions per second in that second.
    #[serde(skip_serializing_if = "Option::is_none")]
    rps: Option<f64>,
    #[serde(rename = "final", skip_serializing_if = "std::ops::Not::not")]
    last: bool,
    /// Since `t0` when the line's counts were taken.
    elapsed_s: f64,
    in_flight: u64,
    total: Total,
}

/// The counts so far, in the report's sections and names.
#[derive(Serialize)]
struct Total {
    requests: Counts,
    status: Statuses,
    #[serde(with = "codec::error_counts")]
    errors: [u64; ErrorKind::COUNT],
    bytes: Bytes,
    connections: Connections,
}

/// The report's `requests`; `scheduled` is known only at the end.
#[derive(Serialize)]
struct Counts {
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled: Option<u64>,
    sent: u64,
    completed: u64,
    failed: u64,
    unfinished: u64,
    unsent: u64,
    #[serde(serialize_with = "codec::round1")]
    achieved_rps: f64,
    #[serde(rename = "window_s", with = "codec::seconds")]
    window: Duration,
}

#[derive(Serialize)]
struct Connections {
    opened: u64,
    failed_attempts: u64,
}

impl Total {
    fn running(s: &Snapshot, schedule: &Schedule) -> Self {
        let window = s.elapsed.min(schedule.duration);
        Self {
            requests: Counts {
                scheduled: None,
                sent: s.sent,
                completed: s.completed,
                failed: s.failed,
                unfinished: s.unfinished,
                unsent: s.unsent,
                achieved_rps: schedule.achieved(s.completed, s.elapsed),
                window,
            },
            status: Statuses(s.statuses().collect()),
            errors: s.errors,
            bytes: Bytes {
                received: s.bytes_in,
                sent: s.bytes_out,
            },
            connections: Connections {
                opened: s.connections,
                failed_attempts: s.connect_failures,
            },
        }
    }

    fn of(stats: &Stats) -> Self {
        let r = Requests::of(stats);
        Self {
            requests: Counts {
                scheduled: Some(r.scheduled),
                sent: r.sent,
                completed: r.completed,
                failed: r.failed,
                unfinished: r.unfinished,
                unsent: r.unsent,
                achieved_rps: r.achieved_rps,
                window: r.window,
            },
            status: Statuses::of(stats),
            errors: stats.errors,
            bytes: Bytes::of(stats),
            connections: Connections {
                opened: stats.connections,
                failed_attempts: stats.connect_failures,
            },
        }
    }
}

struct Writer {
    out: Box<dyn Write + Send>,
    /// The next second to write.
    next: u32,
    wall_start_unix_s: f64,
    /// What was asked for, for each row's target rate.
    info: RunInfo,
    schedule: Schedule,
    /// The first failed write; no line is written after it.
    failed: Option<io::Error>,
}

impl Writer {
    /// `t0` comes after the users connect, and after `--start-at`: its
    /// wall-clock time, once the loops have taken it.
    fn started_at(&mut self, control: &Control) {
        if let Some(t) = control.started_at() {
            self.wall_start_unix_s = crate::result::saved::unix_seconds(t);
        }
    }

    fn line(&mut self, line: &Line) {
        if self.failed.is_some() {
            return;
        }
        let written = serde_json::to_writer(&mut self.out, line)
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        if let Err(e) = written {
            self.failed = Some(e);
        }
    }

    fn row(&mut self, row: Second, elapsed: Duration, in_flight: u64, total: Total) {
        let line = Line {
            row: Some(Row::of(
                &row,
                self.wall_start_unix_s,
                Some(&self.info),
                false,
            )),
            rps: Some(row.completed as f64),
            last: false,
            elapsed_s: crate::format::round(elapsed.as_secs_f64(), 3),
            in_flight,
            total,
        };
        self.line(&line);
    }

    /// Writes every second that has closed in every loop.
    fn catch_up(&mut self, s: &Snapshot) {
        // The seconds of a finished run are written from its final
        // statistics.
        if !s.started || s.finished {
            return;
        }
        while s.is_closed(self.next) {
            let second = self.next;
            let row = s.row(second).cloned().unwrap_or(Second {
                second,
                ..Second::default()
            });
            self.row(
                row,
                s.elapsed,
                s.in_flight,
                Total::running(s, &self.schedule),
            );
            self.next += 1;
        }
    }

    /// The seconds not yet written, then the final line.
    fn end(&mut self, stats: &Stats) {
        if let Some(last) = stats.timeline.last().map(|r| r.second) {
            for second in self.next..=last {
                let row = stats
                    .timeline
                    .iter()
                    .find(|r| r.second == second)
                    .cloned()
                    .unwrap_or(Second {
                        second,
                        ..Second::default()
                    });
                self.row(row, stats.elapsed, 0, Total::of(stats));
            }
        }
        let line = Line {
            row: None,
            rps: None,
            last: true,
            elapsed_s: crate::format::round(stats.elapsed.as_secs_f64(), 3),
            in_flight: 0,
            total: Total::of(stats),
        };
        self.line(&line);
    }
}

/// The thread that writes the lines while the run goes.
pub(crate) struct LiveLines {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Writer>,
}

impl LiveLines {
    /// Opens `to` (a file is created, or truncated) and starts following
    /// the loops' snapshots, for a run that started about
    /// `wall_start_unix_s` (the exact time of `t0` replaces it once known).
    pub(crate) fn start(
        to: &LiveTo,
        control: Arc<Control>,
        wall_start_unix_s: f64,
        info: &RunInfo,
        schedule: Schedule,
    ) -> io::Result<Self> {
        let out: Box<dyn Write + Send> = match to {
            LiveTo::Stdout => Box::new(io::stdout()),
            LiveTo::File(path) => Box::new(File::create(path)?),
        };
        let mut writer = Writer {
            out,
            next: 0,
            wall_start_unix_s,
            info: info.clone(),
            schedule,
            failed: None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("volley-live".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(LOOK_EVERY);
                        writer.started_at(&control);
                        writer.catch_up(&control.published());
                    }
                    writer.started_at(&control);
                    writer
                })?
        };
        Ok(Self { stop, handle })
    }

    /// After the run: the seconds left and the final line, from the run's
    /// final statistics (the report's). Returns the first failed write.
    pub(crate) fn finish(self, stats: &Stats) -> io::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        let mut writer = self
            .handle
            .join()
            .map_err(|_| io::Error::other("the --live writer panicked"))?;
        writer.end(stats);
        writer.failed.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes the test can still read.
    #[derive(Clone, Default)]
    struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn row(second: u32, completed: u64) -> Second {
        Second {
            second,
            completed,
            errors: 1,
            p50_us: 100,
            p99_us: 900,
            max_us: 1_000,
            ..Second::default()
        }
    }

    #[test]
    fn a_line_per_closed_second_then_the_final_counts() {
        let buf = Shared::default();
        let mut w = Writer {
            out: Box::new(buf.clone()),
            next: 0,
            wall_start_unix_s: 1_000.5,
            info: RunInfo {
                target_rps: Some(10.0),
                duration: Duration::from_secs(4),
                ..RunInfo::default()
            },
            schedule: Schedule {
                rps: Some(10.0),
                stages: Vec::new(),
                duration: Duration::from_secs(4),
            },
            failed: None,
        };
        let mut s = Snapshot {
            started: true,
            elapsed: Duration::from_millis(2_100),
            sent: 30,
            completed: 29,
            open_second: Some(2),
            rows: vec![row(0, 10)],
            ..Snapshot::default()
        };
        s.status[200] = 29;
        w.catch_up(&s);
        // Second 1 had nothing to report: a line of zeros.
        s.open_second = Some(3);
        s.rows = vec![row(0, 10), row(2, 19)];
        w.catch_up(&s);
        let mut stats = Stats::new();
        stats.scheduled = 40;
        stats.sent = 40;
        stats.completed = 39;
        stats.unsent = 1;
        stats.duration = Duration::from_secs(4);
        stats.elapsed = Duration::from_millis(4_002);
        stats.add_status(200, 39);
        stats.timeline = vec![row(0, 10), row(2, 19), row(3, 10)];
        w.end(&stats);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let seconds: Vec<_> = lines.iter().map(|l| l["second"].as_u64()).collect();
        assert_eq!(
            seconds,
            [Some(0), Some(1), Some(2), Some(3), None],
            "{text}"
        );
        assert_eq!(lines[0]["completed"], 10);
        assert_eq!(lines[0]["rps"], 10.0);
        assert_eq!(lines[0]["unix_s"], 1_000.5);
        assert_eq!(lines[0]["target_rps"], 10.0, "what the schedule asked for");
        assert_eq!(lines[1]["completed"], 0);
        assert_eq!(lines[2]["total"]["requests"]["completed"], 29);
        assert!(lines[2]["total"]["requests"].get("scheduled").is_none());
        assert_eq!(lines[2]["total"]["status"]["200"], 29);
        let last = &lines[4];
        assert_eq!(last["final"], true);
        assert_eq!(
            last["total"]["requests"],
            serde_json::to_value(Requests::of(&stats)).unwrap()
        );
        assert!(lines[..4].iter().all(|l| l.get("final").is_none()));
    }
}

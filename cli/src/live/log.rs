//! `--log PATH`: one CSV row per request that ended (SPEC §6), written by
//! its own thread from the batches the event loops send over a bounded
//! channel, so memory does not grow with the run and the loops never wait
//! on the disk unless the disk falls a whole channel behind.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use volley_core::{Outcome, RequestRecord};

/// Batches the channel holds before the loops wait (each batch is up to
/// 1,024 records of 56 bytes).
const CHANNEL_BATCHES: usize = 16;

/// The CSV header: the column names.
pub(crate) const HEADER: &str =
    "index,intended_us,sent_us,done_us,latency_us,service_us,status,bytes_in,error,target";

/// The writer thread and the sending side for the loops.
pub(crate) struct RequestLog {
    pub(crate) tx: SyncSender<Vec<RequestRecord>>,
    writer: JoinHandle<io::Result<u64>>,
}

impl RequestLog {
    /// Creates `path` (truncating it) and starts the writer. `targets` are
    /// the names the `target` column gives, by [`RequestRecord::target`]:
    /// the targets' names in order, or the one request's name.
    pub(crate) fn create(path: &str, targets: &[String]) -> io::Result<Self> {
        let file = File::create(path)?;
        let names: Vec<String> = targets.iter().map(|n| csv_field(n)).collect();
        let (tx, rx) = sync_channel(CHANNEL_BATCHES);
        let writer = std::thread::Builder::new()
            .name("volley-log".into())
            .spawn(move || write_all(file, &rx, &names))?;
        Ok(Self { tx, writer })
    }

    /// Waits for every row to be written (all senders must be gone) and
    /// returns how many there were.
    pub(crate) fn finish(self) -> io::Result<u64> {
        drop(self.tx);
        self.writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the log writer panicked")))
    }
}

/// `s` as a CSV field (RFC 4180): in quotes, inner quotes doubled, when
/// it holds a comma, a quote or a line break; as it is otherwise.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_all(file: File, rx: &Receiver<Vec<RequestRecord>>, names: &[String]) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    writeln!(out, "{HEADER}")?;
    let mut rows = 0;
    for batch in rx {
        for r in &batch {
            write_row(&mut out, r, names)?;
        }
        rows += batch.len() as u64;
    }
    out.flush()?;
    Ok(rows)
}

fn us(d: Duration) -> u128 {
    d.as_micros()
}

/// One CSV row; empty fields where a value does not apply. `names` are
/// the `target` column's fields, already quoted where CSV needs it.
pub(crate) fn write_row(
    out: &mut dyn Write,
    r: &RequestRecord,
    names: &[String],
) -> io::Result<()> {
    write!(out, "{},{},", r.index, us(r.intended))?;
    match r.sent {
        Some(s) => write!(out, "{},", us(s))?,
        None => write!(out, ",")?,
    }
    write!(
        out,
        "{},{},",
        us(r.done),
        us(r.done.saturating_sub(r.intended))
    )?;
    match r.sent {
        Some(s) => write!(out, "{},", us(r.done.saturating_sub(s)))?,
        None => write!(out, ",")?,
    }
    match r.outcome {
        Outcome::Completed(status) => write!(out, "{status},{},", r.bytes_in)?,
        Outcome::Failed(kind) => write!(out, ",{},{}", r.bytes_in, kind.name())?,
        Outcome::Unfinished => write!(out, ",{},unfinished", r.bytes_in)?,
        _ => write!(out, ",{},", r.bytes_in)?,
    }
    let target = usize::try_from(r.target)
        .ok()
        .and_then(|i| names.get(i))
        .map_or("", String::as_str);
    writeln!(out, ",{target}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use volley_core::ErrorKind;

    fn row(r: RequestRecord) -> String {
        let mut v = Vec::new();
        write_row(&mut v, &r, &["GET /".into()]).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn rows() {
        let ms = Duration::from_millis;
        let base = RequestRecord {
            index: 7,
            intended: ms(10),
            sent: Some(ms(11)),
            done: ms(15),
            bytes_in: 120,
            outcome: Outcome::Completed(200),
            target: 0,
        };
        assert_eq!(row(base), "7,10000,11000,15000,5000,4000,200,120,,GET /\n");
        let failed = RequestRecord {
            sent: None,
            bytes_in: 0,
            outcome: Outcome::Failed(ErrorKind::ConnectRefused),
            ..base
        };
        assert_eq!(
            row(failed),
            "7,10000,,15000,5000,,,0,connect_refused,GET /\n"
        );
        let unfinished = RequestRecord {
            outcome: Outcome::Unfinished,
            ..base
        };
        assert_eq!(
            row(unfinished),
            "7,10000,11000,15000,5000,4000,,120,unfinished,GET /\n"
        );
        assert_eq!(
            HEADER.split(',').count(),
            row(base).trim_end().split(',').count()
        );
    }

    #[test]
    fn target_names_are_quoted_when_csv_needs_it() {
        assert_eq!(csv_field("GET /api"), "GET /api");
        assert_eq!(csv_field("search, then buy"), "\"search, then buy\"");
        assert_eq!(csv_field("the \"login\""), "\"the \"\"login\"\"\"");
        assert_eq!(csv_field("a\nb"), "\"a\nb\"");
        let names: Vec<String> = ["login", "search, then buy"].map(csv_field).into();
        let r = RequestRecord {
            index: 3,
            intended: Duration::ZERO,
            sent: None,
            done: Duration::ZERO,
            bytes_in: 0,
            outcome: Outcome::Completed(204),
            target: 1,
        };
        let line = |r: &RequestRecord| {
            let mut v = Vec::new();
            write_row(&mut v, r, &names).unwrap();
            String::from_utf8(v).unwrap()
        };
        assert_eq!(line(&r), "3,0,,0,0,,204,0,,\"search, then buy\"\n");
        // An index past the names leaves the field empty.
        assert!(line(&RequestRecord { target: 9, ..r }).ends_with(",204,0,,\n"));
    }
}

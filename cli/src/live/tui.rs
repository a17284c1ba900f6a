//! `--tui`: a full-screen live view on the terminal instead of the progress
//! line: target and achieved rate, latency p50/p99 of each second as a
//! chart, the status and error mix, requests in flight. `q` or Ctrl-C ends
//! the run as Ctrl-C does (twice: at once); the report prints after the
//! screen is restored.
//!
//! Drawn with ratatui over crossterm: the chart, the layout and redrawing
//! only what changed come with it, and crossterm gives raw mode, the
//! alternate screen and key events without a C library. It draws on stderr,
//! where the progress line would be, so stdout still carries only the
//! report. The terminal is restored on every way out: the normal end, an
//! error (drop), and a panic (a hook restores it before the message).

use std::io::{self, Stderr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::crossterm::{cursor, execute};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};
use ratatui::{Frame, Terminal};
use volley_core::{ErrorKind, Second, reason_phrase};
use volley_driver::{Control, Snapshot};

use super::Schedule;
use crate::format::{percent, rate, thousands, us};

/// How often the screen is redrawn (and keys are looked at, in between).
const REDRAW_EVERY: Duration = Duration::from_millis(250);
/// Seconds the chart shows, the latest.
const CHART_SECONDS: usize = 120;

/// Whether the terminal is in raw mode on the alternate screen now.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Leaves raw mode and the alternate screen, once, whoever calls first.
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(io::stderr(), LeaveAlternateScreen, cursor::Show);
    }
}

/// What the view says about the run besides its numbers.
#[derive(Clone, Debug)]
pub(crate) struct About {
    /// `GET http://…/`.
    pub(crate) request: String,
    pub(crate) users: usize,
    pub(crate) threads: usize,
    pub(crate) schedule: Schedule,
}

/// The seconds seen so far, for the chart.
#[derive(Debug, Default)]
struct History {
    rows: Vec<Second>,
    next: u32,
}

impl History {
    /// Takes every second that has closed in every loop.
    fn update(&mut self, s: &Snapshot) {
        if !s.started || s.finished {
            return;
        }
        while s.is_closed(self.next) {
            let second = self.next;
            self.rows.push(s.row(second).cloned().unwrap_or(Second {
                second,
                ..Second::default()
            }));
            self.next += 1;
        }
        let over = self.rows.len().saturating_sub(CHART_SECONDS);
        self.rows.drain(..over);
    }
}

/// The view's thread; restores the terminal when finished or dropped.
pub(crate) struct Tui {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<io::Result<()>>>,
}

impl Tui {
    /// Takes over the terminal (stderr) and starts drawing.
    pub(crate) fn start(control: Arc<Control>, about: About) -> io::Result<Self> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        if let Err(e) = execute!(io::stderr(), EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("volley-tui".into())
                .spawn(move || show(&control, &about, &stop))
        };
        match handle {
            Ok(h) => Ok(Self {
                stop,
                handle: Some(h),
            }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// Ends the view and gives the terminal back.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.close()
    }

    fn close(&mut self) -> io::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        let shown = self.handle.take().map_or(Ok(()), |h| {
            h.join()
                .unwrap_or_else(|_| Err(io::Error::other("the live view panicked")))
        });
        restore();
        shown
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn show(control: &Control, about: &About, stop: &AtomicBool) -> io::Result<()> {
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stderr()))?;
    let mut history = History::default();
    let mut stops = 0u8;
    while !stop.load(Ordering::Relaxed) {
        let s = control.published();
        history.update(&s);
        draw_frame(&mut terminal, about, &s, &history, stops)?;
        if event::poll(REDRAW_EVERY)? {
            if let Event::Key(k) = event::read()? {
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                if k.kind == KeyEventKind::Press && (k.code == KeyCode::Char('q') || ctrl_c) {
                    // As Ctrl-C outside the view: drain, then at once.
                    control.stop();
                    stops = stops.saturating_add(1);
                }
            }
        }
    }
    Ok(())
}

fn draw_frame(
    terminal: &mut Terminal<CrosstermBackend<Stderr>>,
    about: &About,
    s: &Snapshot,
    history: &History,
    stops: u8,
) -> io::Result<()> {
    terminal.draw(|f| render(f, about, s, history, stops))?;
    Ok(())
}

/// The whole screen for one snapshot (a pure function of its inputs).
fn render(f: &mut Frame<'_>, about: &About, s: &Snapshot, history: &History, stops: u8) {
    let [head, chart, mix, foot] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Min(8),
        Constraint::Length(8),
        Constraint::Length(1),
    ])
    .areas(f.area());
    f.render_widget(figures(about, s, history), head);
    render_chart(f, chart, history);
    let [status, errors] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(mix);
    f.render_widget(status_mix(s), status);
    f.render_widget(error_mix(s), errors);
    let hint = match stops {
        0 => "q or Ctrl-C: stop the run (requests in flight are awaited, then the report)",
        1 => "stopping: waiting for the requests in flight; q again to stop at once",
        _ => "stopping now",
    };
    f.render_widget(
        Paragraph::new(hint).style(Style::default().fg(Color::DarkGray)),
        foot,
    );
}

fn figures<'a>(about: &'a About, s: &Snapshot, history: &History) -> Paragraph<'a> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let last = history.rows.last();
    let total = about.schedule.duration.as_secs_f64();
    let elapsed = if s.started {
        s.elapsed.as_secs_f64().min(total)
    } else {
        0.0
    };
    let target = match about.schedule.target_at(s.elapsed) {
        Some(r) => format!("{} req/s", rate(r)),
        None => "max".into(),
    };
    let state = if !s.started {
        "connecting users"
    } else if s.finished {
        "done"
    } else {
        "running"
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(format!("{:.1}s", elapsed), bold),
            Span::raw(format!(" of {}s  {state}", total)),
        ]),
        Line::from(vec![
            Span::raw("target "),
            Span::styled(target, bold),
            Span::raw("   achieved "),
            Span::styled(
                format!("{} req/s", rate(last.map_or(0.0, |r| r.completed as f64))),
                bold,
            ),
            Span::raw(format!(
                " last second, {} req/s overall",
                rate(about.schedule.achieved(s.completed, s.elapsed))
            )),
        ]),
        Line::from(vec![
            Span::raw("p50 "),
            Span::styled(us(last.map_or(0, |r| r.p50_us) as f64), bold),
            Span::raw("   p99 "),
            Span::styled(us(last.map_or(0, |r| r.p99_us) as f64), bold),
            Span::raw("   max "),
            Span::raw(us(last.map_or(0, |r| r.max_us) as f64)),
            Span::raw(" (latency, last second)"),
        ]),
        Line::from(vec![
            Span::raw("completed "),
            Span::styled(thousands(s.completed), bold),
            Span::raw("   failed "),
            Span::styled(thousands(s.failed), bold),
            Span::raw("   in flight "),
            Span::styled(thousands(s.in_flight), bold),
            Span::raw(format!(
                " of {} users on {} threads",
                thousands(about.users as u64),
                about.threads
            )),
        ]),
    ];
    Paragraph::new(lines).block(
        Block::default()
            .borders(Borders::ALL)
            .title(format!(" volley  {} ", about.request)),
    )
}

fn render_chart(f: &mut Frame<'_>, area: Rect, history: &History) {
    let ms = |v: u64| v as f64 / 1e3;
    let p50: Vec<(f64, f64)> = history
        .rows
        .iter()
        .map(|r| (f64::from(r.second), ms(r.p50_us)))
        .collect();
    let p99: Vec<(f64, f64)> = history
        .rows
        .iter()
        .map(|r| (f64::from(r.second), ms(r.p99_us)))
        .collect();
    let top = p99.iter().map(|p| p.1).fold(0.0, f64::max).max(0.001) * 1.1;
    let first = p50.first().map_or(0.0, |p| p.0);
    let end = p50.last().map_or(1.0, |p| p.0).max(first + 1.0);
    let datasets = vec![
        Dataset::default()
            .name("p99")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(Color::Red))
            .data(&p99),
        Dataset::default()
            .name("p50")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(Color::Cyan))
            .data(&p50),
    ];
    let chart = Chart::new(datasets)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" latency p50 / p99 per second (ms) "),
        )
        .x_axis(
            Axis::default()
                .bounds([first, end])
                .labels([format!("{first:.0}s"), format!("{end:.0}s")]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(["0".to_string(), format!("{top:.2}")]),
        );
    f.render_widget(chart, area);
}

fn status_mix(s: &Snapshot) -> Paragraph<'static> {
    let lines: Vec<Line<'_>> = if s.completed == 0 {
        vec![Line::from("(none yet)")]
    } else {
        s.statuses()
            .map(|(code, n)| {
                let style = if (200..400).contains(&code) {
                    Style::default()
                } else {
                    Style::default().fg(Color::Yellow)
                };
                Line::styled(
                    format!(
                        "{code} {:<22} {:>10} {:>7}",
                        reason_phrase(code),
                        thousands(n),
                        percent(n, s.completed)
                    ),
                    style,
                )
            })
            .collect()
    };
    Paragraph::new(lines).block(
        Block::default()
            .borders(Borders::ALL)
            .title(" status codes "),
    )
}

fn error_mix(s: &Snapshot) -> Paragraph<'static> {
    let lines: Vec<Line<'_>> = if s.failed == 0 && s.connect_failures == 0 {
        vec![Line::from("(none)")]
    } else {
        let mut lines: Vec<Line<'_>> = ErrorKind::ALL
            .iter()
            .filter(|k| s.errors[k.index()] > 0)
            .map(|k| {
                Line::styled(
                    format!("{:<20} {:>10}", k.label(), thousands(s.errors[k.index()])),
                    Style::default().fg(Color::Red),
                )
            })
            .collect();
        lines.push(Line::from(format!(
            "failed connect attempts {}",
            thousands(s.connect_failures)
        )));
        lines
    };
    Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" errors "))
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;

    use super::*;

    fn screen(s: &Snapshot, history: &History, stops: u8) -> String {
        let about = About {
            request: "GET http://127.0.0.1:8080/".into(),
            users: 50,
            threads: 2,
            schedule: Schedule {
                rps: Some(1000.0),
                stages: Vec::new(),
                duration: Duration::from_secs(20),
            },
        };
        let mut t = Terminal::new(TestBackend::new(100, 30)).unwrap();
        t.draw(|f| render(f, &about, s, history, stops)).unwrap();
        let buffer = t.backend().buffer().clone();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    + "\n"
            })
            .collect()
    }

    #[test]
    fn the_screen_shows_rates_latency_and_the_mix() {
        let mut s = Snapshot {
            started: true,
            elapsed: Duration::from_millis(3_200),
            sent: 3_003,
            completed: 3_000,
            failed: 2,
            in_flight: 3,
            open_second: Some(3),
            ..Snapshot::default()
        };
        s.status[200] = 2_970;
        s.status[503] = 30;
        s.errors[ErrorKind::Timeout.index()] = 2;
        s.rows = (0..3)
            .map(|second| Second {
                second,
                completed: 1_000,
                errors: 10,
                p50_us: 1_200,
                p99_us: 3_400 + u64::from(second) * 100,
                max_us: 9_000,
                ..Second::default()
            })
            .collect();
        let mut history = History::default();
        history.update(&s);
        assert_eq!(history.rows.len(), 3);
        let text = screen(&s, &history, 0);
        for shown in [
            "volley  GET http://127.0.0.1:8080/",
            "3.2s of 20s  running",
            "target 1,000 req/s",
            "achieved 1,000 req/s last second",
            "p99 3.60ms",
            "p50 1.20ms",
            "in flight 3 of 50 users",
            "200 OK",
            "99.0%",
            "503 Service Unavailable",
            "timeout",
            "latency p50 / p99",
            "q or Ctrl-C",
        ] {
            assert!(text.contains(shown), "{shown:?} not on the screen:\n{text}");
        }
        assert!(screen(&s, &history, 1).contains("q again to stop at once"));
        let waiting = screen(&Snapshot::default(), &History::default(), 0);
        assert!(waiting.contains("connecting users") && waiting.contains("(none yet)"));
    }
}

//! Seeing a simulated schedule: `periodic simulate --format table` (per task: runs,
//! failures, lateness, duration) and `--timeline FILE.svg` (one row per task, one mark
//! per run, the loop's idle gaps, a time axis and a legend).
//!
//! The SVG is written by hand: a few rectangles, lines and texts need no library, and
//! the output stays plain (no script, no external style sheet, readable by any SVG
//! viewer). Each run carries a `<title>`, shown by viewers as a tooltip. The structure is
//! stable for tools and tests: one `<g class="row" data-task="NAME">` per task holding
//! its `<rect class="run ok|failed">` marks, and one `<g class="idle">` holding a
//! `<rect class="idle-gap">` per sleep of the loop.
//!
//! ```text
//!          0        10        20
//! a        █         █         █            marks: width = the run's duration
//! b           ▏   ─█ ▏   ─█                  ─ lateness: due → start
//!    ░░░░░░  ░░░░░░   ░░░░░░                 idle gaps: the loop sleeps
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use crate::scenario::Scenario;
use crate::simulate::Event;
use crate::table::Table;

/// What `periodic simulate` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Format {
    /// One JSON object per event, as oslo_trace.py prints them (the default).
    #[default]
    Jsonl,
    /// Per task: runs, failures, mean and max lateness (start - due), mean duration.
    Table,
}

/// Keeps the events of a simulation for the table and the picture.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Recorder {
    pub(crate) fn push(&self, event: &Event) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
    }

    pub(crate) fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// After a simulation: prints the table when `format` asks for it, writes the SVG to
/// `timeline` when given. The error is one line for stderr.
pub(crate) fn report(
    scenario: &Scenario,
    scenario_path: &Path,
    policy: &str,
    events: &[Event],
    format: Format,
    timeline: Option<&Path>,
) -> Result<(), String> {
    let names: Vec<String> = scenario.tasks.iter().map(|t| t.name.clone()).collect();
    let trace = Trace::new(&names, events, scenario.horizon);
    if format == Format::Table {
        let text = table(&trace);
        let mut out = std::io::stdout().lock();
        if let Err(e) = std::io::Write::write_all(&mut out, text.as_bytes())
            .and_then(|()| std::io::Write::flush(&mut out))
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Err(format!("cannot write the table: {e}"));
        }
    }
    if let Some(path) = timeline {
        let name = scenario_path.file_name().map_or_else(
            || scenario_path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let title = format!(
            "{name}: {} tasks, {} runs in {} s (idle policy {policy})",
            trace.tasks.len(),
            trace.runs.len(),
            num(scenario.horizon)
        );
        std::fs::write(path, svg(&trace, &title))
            .map_err(|e| format!("cannot write the timeline `{}`: {e}", path.display()))?;
    }
    Ok(())
}

/// One run of a task, from the trace.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    /// The row (index into [`Trace::tasks`]).
    pub(crate) row: usize,
    /// When it started, seconds from the start of the simulation.
    pub(crate) start: f64,
    /// When it was due.
    pub(crate) due: f64,
    /// How long it ran.
    pub(crate) duration: f64,
    /// Whether it returned an error (or panicked).
    pub(crate) failed: bool,
}

impl Run {
    /// Start − due, never negative.
    pub(crate) fn lateness(&self) -> f64 {
        (self.start - self.due).max(0.0)
    }
}

/// A simulation's runs and sleeps, per task.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trace {
    /// Task names, one row each: the scenario's order, then any other name seen.
    pub(crate) tasks: Vec<Arc<str>>,
    /// Every run, in trace order.
    pub(crate) runs: Vec<Run>,
    /// Every sleep of the loop: (from, seconds).
    pub(crate) idles: Vec<(f64, f64)>,
    /// The scenario's horizon, in seconds.
    pub(crate) horizon: f64,
}

impl Trace {
    /// The trace of `events`, with one row per name in `tasks` (in that order).
    pub(crate) fn new(tasks: &[String], events: &[Event], horizon: f64) -> Trace {
        let mut trace = Trace {
            tasks: tasks.iter().map(|t| Arc::from(t.as_str())).collect(),
            horizon,
            ..Trace::default()
        };
        let mut rows: HashMap<Arc<str>, usize> = trace
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (Arc::clone(t), i))
            .collect();
        for event in events {
            match event {
                Event::Task {
                    t,
                    task,
                    due,
                    duration,
                    failed,
                } => {
                    let row = *rows.entry(Arc::clone(task)).or_insert_with(|| {
                        trace.tasks.push(Arc::clone(task));
                        trace.tasks.len() - 1
                    });
                    trace.runs.push(Run {
                        row,
                        start: *t,
                        due: *due,
                        duration: *duration,
                        failed: *failed,
                    });
                }
                Event::Idle { t, idle } => trace.idles.push((*t, *idle)),
            }
        }
        trace
    }

    /// The runs of each row, in trace order: one pass over the runs, so that the table and
    /// the picture stay linear in the number of tasks (filtering all runs once per row
    /// took 25 s for 200,000 tasks).
    pub(crate) fn runs_by_row(&self) -> Vec<Vec<&Run>> {
        let mut rows = vec![Vec::new(); self.tasks.len()];
        for run in &self.runs {
            rows[run.row].push(run);
        }
        rows
    }

    /// Where the picture ends: the horizon, or the end of the last run if later.
    fn end(&self) -> f64 {
        self.runs
            .iter()
            .map(|r| r.start + r.duration)
            .fold(self.horizon, f64::max)
            .max(f64::EPSILON)
    }
}

/// Per task: runs, failures, mean and max lateness (start − due) and mean duration, in
/// seconds to the millisecond; `-` for a task that never ran. A boxed table.
pub(crate) fn table(trace: &Trace) -> String {
    let mut table = Table::new(&[
        "Task",
        "Runs",
        "Failures",
        "Mean Lateness (s)",
        "Max Lateness (s)",
        "Mean Duration (s)",
    ])
    .right(&[
        "Runs",
        "Failures",
        "Mean Lateness (s)",
        "Max Lateness (s)",
        "Mean Duration (s)",
    ]);
    for (name, runs) in trace.tasks.iter().zip(trace.runs_by_row()) {
        let failures = runs.iter().filter(|r| r.failed).count();
        let stats = if runs.is_empty() {
            ["-".to_owned(), "-".to_owned(), "-".to_owned()]
        } else {
            let n = f64::from(u32::try_from(runs.len()).unwrap_or(u32::MAX));
            let mean_late = runs.iter().map(|r| r.lateness()).sum::<f64>() / n;
            let max_late = runs.iter().map(|r| r.lateness()).fold(0.0, f64::max);
            let mean_duration = runs.iter().map(|r| r.duration).sum::<f64>() / n;
            [
                format!("{mean_late:.3}"),
                format!("{max_late:.3}"),
                format!("{mean_duration:.3}"),
            ]
        };
        let [a, b, c] = stats;
        table.push(vec![
            name.to_string(),
            runs.len().to_string(),
            failures.to_string(),
            a,
            b,
            c,
        ]);
    }
    table.render()
}

// ===== SVG =====

const WIDTH: f64 = 1000.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 44.0;
const ROW: f64 = 26.0;
const BAR: f64 = 14.0;
const MIN_MARK: f64 = 1.5;
const OK: &str = "#2563eb";
const FAILED: &str = "#dc2626";
const LATE: &str = "#f59e0b";
const IDLE: &str = "#e5e7eb";

/// Where things go: the plot spans `left..WIDTH - RIGHT` for the times `0..end`.
#[derive(Debug, Clone, Copy)]
struct Layout {
    left: f64,
    end: f64,
    scale: f64,
    plot_bottom: f64,
    height: f64,
}

impl Layout {
    fn new(trace: &Trace) -> Layout {
        let longest = trace
            .tasks
            .iter()
            .map(|t| t.chars().count())
            .max()
            .unwrap_or(0);
        let left = (count(longest.min(40)) * 7.2 + 24.0).max(90.0);
        let end = trace.end();
        let plot_bottom = TOP + count(trace.tasks.len()) * ROW;
        Layout {
            left,
            end,
            scale: (WIDTH - left - RIGHT) / end,
            plot_bottom,
            height: plot_bottom + 84.0,
        }
    }

    /// The x of time `t`.
    fn x(&self, t: f64) -> f64 {
        self.left + t.clamp(0.0, self.end) * self.scale
    }
}

/// A count as a coordinate factor.
fn count(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The timeline as a standalone SVG document titled `title`.
pub(crate) fn svg(trace: &Trace, title: &str) -> String {
    let layout = Layout::new(trace);
    let (left, height) = (layout.left, layout.height);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(
        s,
        r#"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="22" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
    idle_gaps(&mut s, trace, &layout);
    axis(&mut s, &layout);
    for (row, (name, runs)) in trace.tasks.iter().zip(trace.runs_by_row()).enumerate() {
        task_row(&mut s, row, name, &runs, &layout);
    }
    legend(&mut s, &layout);
    s.push_str("</svg>\n");
    s
}

/// The loop's sleeps, as grey bands behind everything.
fn idle_gaps(s: &mut String, trace: &Trace, layout: &Layout) {
    let _ = writeln!(s, r#"<g class="idle">"#);
    for &(from, idle) in &trace.idles {
        if idle <= 0.0 || from >= layout.end {
            continue;
        }
        let (x0, x1) = (layout.x(from), layout.x(from + idle));
        let _ = writeln!(
            s,
            r#"<rect class="idle-gap" x="{x0:.2}" y="{TOP}" width="{:.2}" height="{:.2}" fill="{IDLE}"><title>idle {} s from {} s</title></rect>"#,
            (x1 - x0).max(0.0),
            layout.plot_bottom - TOP,
            num(idle),
            num(from)
        );
    }
    let _ = writeln!(s, "</g>");
}

/// The time axis, with a faint grid line at each tick.
fn axis(s: &mut String, layout: &Layout) {
    let (left, bottom) = (layout.left, layout.plot_bottom);
    let step = nice_step(layout.end / 8.0);
    let _ = writeln!(s, r##"<g class="axis" stroke="#9ca3af">"##);
    let _ = writeln!(
        s,
        r#"<line x1="{left}" y1="{bottom}" x2="{:.2}" y2="{bottom}"/>"#,
        layout.x(layout.end)
    );
    let mut k = 0.0_f64;
    while k * step <= layout.end + step * 1e-9 {
        let tx = layout.x(k * step);
        let _ = writeln!(
            s,
            r#"<line x1="{tx:.2}" y1="{TOP}" x2="{tx:.2}" y2="{:.2}" stroke-opacity="0.35"/>"#,
            bottom + 5.0
        );
        let _ = writeln!(
            s,
            r##"<text x="{tx:.2}" y="{:.2}" text-anchor="middle" stroke="none" fill="#374151">{}</text>"##,
            bottom + 18.0,
            num(k * step)
        );
        k += 1.0;
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.2}" y="{:.2}" text-anchor="end" stroke="none" fill="#374151">time (s)</text>"##,
        WIDTH - RIGHT,
        bottom + 34.0
    );
    let _ = writeln!(s, "</g>");
}

/// One task: its name, a mark per run (width = duration) and a lateness whisker from
/// due to start for late runs.
fn task_row(s: &mut String, row: usize, name: &str, runs: &[&Run], layout: &Layout) {
    let left = layout.left;
    let y = TOP + count(row) * ROW;
    let bar_y = y + (ROW - BAR) / 2.0;
    let mid = y + ROW / 2.0;
    let _ = writeln!(s, r#"<g class="row" data-task="{}">"#, escape(name));
    let _ = writeln!(
        s,
        r##"<line x1="{left}" y1="{:.2}" x2="{:.2}" y2="{:.2}" stroke="#f3f4f6"/>"##,
        y + ROW,
        WIDTH - RIGHT,
        y + ROW
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.2}" y="{:.2}" text-anchor="end">{}</text>"#,
        left - 8.0,
        mid + 4.0,
        escape(name)
    );
    for run in runs {
        let late = run.lateness();
        if late > 0.0 {
            let _ = writeln!(
                s,
                r#"<line class="late" x1="{:.2}" y1="{mid:.2}" x2="{:.2}" y2="{mid:.2}" stroke="{LATE}" stroke-width="2"/>"#,
                layout.x(run.due),
                layout.x(run.start)
            );
        }
        let (class, fill) = if run.failed {
            ("failed", FAILED)
        } else {
            ("ok", OK)
        };
        let _ = writeln!(
            s,
            r#"<rect class="run {class}" x="{:.2}" y="{bar_y:.2}" width="{:.2}" height="{BAR}" fill="{fill}"><title>{}: started {} s, due {} s (late {} s), ran {} s{}</title></rect>"#,
            layout.x(run.start),
            (run.duration * layout.scale).max(MIN_MARK),
            escape(name),
            num(run.start),
            num(run.due),
            num(late),
            num(run.duration),
            if run.failed { ", failed" } else { "" }
        );
    }
    let _ = writeln!(s, "</g>");
}

/// What the marks mean.
fn legend(s: &mut String, layout: &Layout) {
    let ly = layout.plot_bottom + 52.0;
    let _ = writeln!(s, r#"<g class="legend" font-size="11">"#);
    let mut lx = layout.left;
    for (label, swatch) in [
        ("run (width = duration)", Some(OK)),
        ("failed run", Some(FAILED)),
        ("lateness (due → start)", None),
        ("loop idle (sleeping)", Some(IDLE)),
    ] {
        match swatch {
            Some(fill) => {
                let _ = writeln!(
                    s,
                    r#"<rect x="{lx:.2}" y="{ly:.2}" width="14" height="10" fill="{fill}"/>"#
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    r#"<line x1="{lx:.2}" y1="{:.2}" x2="{:.2}" y2="{:.2}" stroke="{LATE}" stroke-width="2"/>"#,
                    ly + 5.0,
                    lx + 14.0,
                    ly + 5.0
                );
            }
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="{:.2}">{label}</text>"#,
            lx + 20.0,
            ly + 9.0
        );
        lx += 20.0 + 6.5 * count(label.chars().count()) + 24.0;
    }
    let _ = writeln!(s, "</g>");
}

/// 1, 2 or 5 × 10^k, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let magnitude = 10_f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// A number without a useless `.0`, to the microsecond.
fn num(x: f64) -> String {
    let rounded = (x * 1e6).round() / 1e6;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded}")
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(t: f64, name: &str, due: f64, duration: f64, failed: bool) -> Event {
        Event::Task {
            t,
            task: Arc::from(name),
            due,
            duration,
            failed,
        }
    }

    #[test]
    fn steps_are_nice() {
        for (raw, step) in [
            (0.3, 0.5),
            (1.0, 1.0),
            (2.6, 5.0),
            (50.0, 50.0),
            (51.0, 100.0),
            (0.0, 1.0),
            (f64::NAN, 1.0),
        ] {
            assert!(
                (nice_step(raw) - step).abs() < 1e-12,
                "{raw} → {}",
                nice_step(raw)
            );
        }
    }

    #[test]
    fn numbers_and_names_are_plain_text() {
        assert_eq!(num(5.0), "5");
        assert_eq!(num(1.25), "1.25");
        assert_eq!(num(0.1 + 0.2), "0.3");
        assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&apos;");
    }

    #[test]
    fn unknown_task_names_get_a_row_and_a_table_line() {
        let trace = Trace::new(
            &["a".to_owned(), "never".to_owned()],
            &[
                task(0.0, "a", 0.0, 1.0, false),
                Event::Idle { t: 1.0, idle: 4.0 },
                task(5.0, "x", 2.0, 0.0, true),
            ],
            10.0,
        );
        assert_eq!(trace.tasks.len(), 3);
        assert_eq!(trace.runs[1].row, 2);
        let text = table(&trace);
        assert!(
            text.contains("| never |    0 |        0 |                 - |"),
            "{text}"
        );
        assert!(
            text.contains("| x     |    1 |        1 |             3.000 |"),
            "{text}"
        );
    }

    /// 100,000 tasks of one run each: the per-task grouping is one pass. Filtering every
    /// run once per task (10^10 comparisons here) took minutes in a debug build.
    #[test]
    fn table_is_linear_in_the_number_of_tasks() {
        let n = 100_000;
        let names: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
        let events: Vec<Event> = names
            .iter()
            .map(|name| task(1.0, name, 0.5, 0.0, false))
            .collect();
        let trace = Trace::new(&names, &events, 10.0);
        let started = std::time::Instant::now();
        let rows = trace.runs_by_row();
        assert!(rows.iter().all(|runs| runs.len() == 1));
        let text = table(&trace);
        assert_eq!(text.lines().count(), n + 4);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }
}

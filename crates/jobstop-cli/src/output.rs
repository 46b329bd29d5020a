//! Tables, colors and JSON shapes, and the one writer every command's
//! output goes through ([`Output`]).

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jobstop::{Error, Run, RunState, StopOutcome};
use serde_json::{Map, Value, json};

/// Whether to color stdout (only on a terminal, and never when `NO_COLOR` is
/// set) and whether stderr is a terminal (where [`Progress`] may be shown).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Term {
    pub(crate) color: bool,
    pub(crate) progress: bool,
}

impl Term {
    pub(crate) fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Term {
            color: !no_color && std::io::stdout().is_terminal(),
            progress: std::io::stderr().is_terminal(),
        }
    }

    pub(crate) fn paint(&self, text: &str, code: Option<&str>) -> String {
        match code {
            Some(code) if self.color => format!("\x1b[{code}m{text}\x1b[0m"),
            _ => text.to_owned(),
        }
    }

    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint(text, Some("1"))
    }

    #[cfg(feature = "sim")]
    pub(crate) fn state(&self, state: RunState) -> String {
        self.paint(state.as_str(), state_color(state))
    }
}

/// A progress bar (or, without a known total, a spinner) on stderr, drawn by
/// `indicatif`, or nothing at all: it exists only when stderr is a terminal
/// and the output is not JSON (see [`Ctx::progress`](crate::commands::Ctx)).
/// While it is shown, every line written to stdout or stderr goes through
/// [`suspend`](Self::suspend), which clears the bar, writes, and draws it
/// again, so the bar never cuts a line. It is cleared when finished or
/// dropped.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// No progress shown; [`suspend`](Self::suspend) just runs its closure.
    pub(crate) fn none() -> Self {
        Progress { bar: None }
    }

    /// A bar of `total` steps when `show`; its message holds the counts.
    pub(crate) fn bar(show: bool, total: usize, what: &str) -> Self {
        let template =
            format!("{{spinner}} {what} [{{bar:25}}] {{pos}}/{{len}} ({{elapsed}}) {{msg}}");
        Self::start(
            show,
            Some(u64::try_from(total).unwrap_or(u64::MAX)),
            &template,
        )
    }

    /// A spinner showing `message` and the time spent, when `show`.
    pub(crate) fn spinner(show: bool, message: String) -> Self {
        let progress = Self::start(show, None, "{spinner} {msg} ({elapsed})");
        progress.set_message(message);
        progress
    }

    fn start(show: bool, total: Option<u64>, template: &str) -> Self {
        if !show {
            return Progress::none();
        }
        // `ProgressDrawTarget::stderr` draws nothing where stderr is not a
        // terminal, should one get here anyway.
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        // The templates are constants; a bad one keeps the default style.
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress { bar: Some(bar) }
    }

    /// Sets the text after the bar.
    pub(crate) fn set_message(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }

    /// Sets how many steps are done.
    pub(crate) fn set_position(&self, done: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(u64::try_from(done).unwrap_or(u64::MAX));
        }
    }

    /// Runs `write` with the bar cleared, then draws the bar again.
    pub(crate) fn suspend<R>(&self, write: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Clears the bar for good.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The ANSI code for a state, if it has a color.
pub(crate) fn state_color(state: RunState) -> Option<&'static str> {
    match state {
        RunState::Running => Some("32"),
        RunState::Queued | RunState::Paused => Some("36"),
        RunState::Stopping => Some("33"),
        RunState::Stopped => Some("35"),
        RunState::Failed => Some("31"),
        RunState::Succeeded | RunState::Idle => Some("2"),
        RunState::Unknown => None,
    }
}

/// One table cell: its text and an optional ANSI color.
pub(crate) struct Cell {
    text: String,
    color: Option<&'static str>,
}

impl Cell {
    pub(crate) fn plain(text: impl Into<String>) -> Self {
        Cell {
            text: one_line(&text.into()),
            color: None,
        }
    }

    pub(crate) fn colored(text: impl Into<String>, color: Option<&'static str>) -> Self {
        Cell {
            text: one_line(&text.into()),
            color,
        }
    }

    pub(crate) fn state(state: RunState) -> Self {
        Cell::colored(state.as_str(), state_color(state))
    }
}

/// Columns aligned on the visible width of each cell; colors do not count.
pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    #[cfg(feature = "sim")]
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(crate) fn render(&self, term: &Term) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.text.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: Vec<(String, usize)>| {
            let last = cells.len().saturating_sub(1);
            let mut text = String::new();
            for (i, (shown, visible)) in cells.into_iter().enumerate() {
                text.push_str(&shown);
                if i < last {
                    let pad = widths[i].saturating_sub(visible) + 2;
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(
            &mut out,
            self.headers
                .iter()
                .map(|h| (term.bold(h), h.chars().count()))
                .collect(),
        );
        for row in &self.rows {
            line(
                &mut out,
                row.iter()
                    .take(columns)
                    .map(|c| (term.paint(&c.text, c.color), c.text.chars().count()))
                    .collect(),
            );
        }
        out
    }
}

/// A table printed row by row as the rows arrive, never held whole: the
/// first rows are held until [`settle`](Self::settle) (the caller's "the
/// first page is in": nothing more is ready at once) or until
/// [`HOLD`](Self::HOLD) of them are in; their widths (and the headers') fix
/// the columns, the header is printed once, and every later row is printed
/// as it comes. A later cell wider than its column is never cut: it pushes
/// the rest of its row to the right (two spaces still separate the cells).
pub(crate) struct TableStream {
    headers: Vec<&'static str>,
    widths: Option<Vec<usize>>,
    held: Vec<Vec<Cell>>,
    printed: usize,
}

impl TableStream {
    /// The most rows held before the widths settle on their own.
    pub(crate) const HOLD: usize = 1000;

    pub(crate) fn new(headers: &[&'static str]) -> Self {
        TableStream {
            headers: headers.to_vec(),
            widths: None,
            held: Vec::new(),
            printed: 0,
        }
    }

    /// Whether rows are held, waiting for the widths to settle.
    pub(crate) fn is_settling(&self) -> bool {
        self.widths.is_none() && !self.held.is_empty()
    }

    /// Whether no row was pushed at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.printed == 0 && self.held.is_empty()
    }

    /// Rows printed so far (not counting the held ones).
    pub(crate) fn printed(&self) -> usize {
        self.printed
    }

    /// Adds a row: held while the widths are not settled (settling at
    /// [`HOLD`](Self::HOLD) rows), printed at once afterwards.
    pub(crate) fn push(
        &mut self,
        out: &Output,
        term: &Term,
        row: Vec<Cell>,
    ) -> Result<(), OutputError> {
        match &self.widths {
            Some(widths) => {
                let line = aligned_line(widths, painted(term, &row));
                self.printed += 1;
                out.write(&line)
            }
            None => {
                self.held.push(row);
                if self.held.len() >= Self::HOLD {
                    self.settle(out, term)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Fixes the widths on the held rows and prints the header and them (in
    /// one write). Does nothing once settled, or while no row was pushed.
    pub(crate) fn settle(&mut self, out: &Output, term: &Term) -> Result<(), OutputError> {
        if !self.is_settling() {
            return Ok(());
        }
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.held {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.text.chars().count());
            }
        }
        let mut text = aligned_line(
            &widths,
            self.headers
                .iter()
                .map(|h| (term.bold(h), h.chars().count()))
                .collect(),
        );
        for row in std::mem::take(&mut self.held) {
            text.push_str(&aligned_line(&widths, painted(term, &row)));
            self.printed += 1;
        }
        self.widths = Some(widths);
        out.write(&text)
    }
}

/// A row's cells as (painted text, visible width).
fn painted(term: &Term, row: &[Cell]) -> Vec<(String, usize)> {
    row.iter()
        .map(|c| (term.paint(&c.text, c.color), c.text.chars().count()))
        .collect()
}

/// One line of aligned cells (as [`Table::render`] lays them out): each
/// cell but the last padded to its column's width plus two spaces, the line
/// trimmed and ended with a newline. Cells past `widths` are dropped.
fn aligned_line(widths: &[usize], cells: Vec<(String, usize)>) -> String {
    let shown = cells.len().min(widths.len());
    let last = shown.saturating_sub(1);
    let mut text = String::new();
    for (i, (cell, visible)) in cells.into_iter().take(shown).enumerate() {
        text.push_str(&cell);
        if i < last {
            let pad = widths[i].saturating_sub(visible) + 2;
            text.extend(std::iter::repeat_n(' ', pad));
        }
    }
    let mut line = text.trim_end().to_owned();
    line.push('\n');
    line
}

/// Control characters (a vendor's name with a newline, an escape sequence)
/// never reach the terminal.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A timestamp for tables: `2024-06-19 04:00:18Z`, or `-`.
pub(crate) fn time_cell(t: Option<chrono::DateTime<chrono::Utc>>) -> Cell {
    Cell::plain(
        t.map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
            .unwrap_or_else(|| "-".to_owned()),
    )
}

/// A run as JSON: the core serialization plus `account`; `raw` only when
/// asked for.
pub(crate) fn run_json(run: &Run, account: &str, raw: bool) -> Value {
    let mut value = serde_json::to_value(run).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        if !raw {
            map.remove("raw");
        }
        map.insert("account".to_owned(), Value::String(account.to_owned()));
    }
    value
}

/// A stop outcome as JSON: `{"outcome", "run"}`.
pub(crate) fn outcome_json(outcome: &StopOutcome, account: &str, raw: bool) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("account".to_owned(), json!(account));
    map.insert("outcome".to_owned(), json!(outcome.as_str()));
    map.insert("run".to_owned(), run_json(outcome.run(), account, raw));
    map
}

/// An error as JSON: `{kind, message, http_status, vendor_code, request_id}`
/// (plus the vendor's own message); `message` is the one-line `Display`.
pub(crate) fn error_json(err: &Error) -> Value {
    json!({
        "kind": err.kind().name(),
        "message": err.to_string(),
        "http_status": err.http_status(),
        "vendor_code": err.vendor_code(),
        "vendor_message": err.vendor_message(),
        "request_id": err.request_id(),
    })
}

/// Why the output could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OutputError {
    /// The reader went away (`jobstop list | head`): a broken pipe. The
    /// command ends quietly with [`EXIT_PIPE`](crate::exit::EXIT_PIPE).
    #[error("cannot write the output: the reader closed it")]
    Closed,
    /// Any other write error (a full disk, an I/O error): the message.
    #[error("cannot write the output: {0}")]
    Failed(String),
}

impl OutputError {
    fn from_io(e: &std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            OutputError::Closed
        } else {
            OutputError::Failed(e.to_string())
        }
    }
}

/// The writer of a command's output (stdout in the binary). Every write is
/// flushed at once, so what is printed is out of the process as soon as it
/// is known, and every write returns its error. The first error sticks:
/// later writes return it without writing anything, and the command's end
/// ([`dispatch`](crate::commands::dispatch)) reports it and sets the exit
/// code even where a caller had nothing better to do than go on.
pub(crate) struct Output {
    sink: Mutex<Sink>,
    /// JSON on one line (`--output jsonl`) instead of pretty.
    compact: AtomicBool,
}

struct Sink {
    writer: Box<dyn Write + Send>,
    failed: Option<OutputError>,
}

impl Output {
    /// An output writing to `writer`.
    pub(crate) fn new(writer: impl Write + Send + 'static) -> Self {
        Output {
            sink: Mutex::new(Sink {
                writer: Box::new(writer),
                failed: None,
            }),
            compact: AtomicBool::new(false),
        }
    }

    /// Writes JSON values on one line each from now on (`--output jsonl`).
    pub(crate) fn set_compact(&self, compact: bool) {
        self.compact.store(compact, Ordering::Relaxed);
    }

    /// The process's stdout.
    pub(crate) fn stdout() -> &'static Output {
        static STDOUT: OnceLock<Output> = OnceLock::new();
        STDOUT.get_or_init(|| Output::new(std::io::stdout()))
    }

    /// Writes `text` as it is and flushes.
    pub(crate) fn write(&self, text: &str) -> Result<(), OutputError> {
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = &sink.failed {
            return Err(e.clone());
        }
        let written = sink
            .writer
            .write_all(text.as_bytes())
            .and_then(|()| sink.writer.flush());
        if let Err(e) = written {
            let e = OutputError::from_io(&e);
            sink.failed = Some(e.clone());
            return Err(e);
        }
        Ok(())
    }

    /// Writes `text` and a newline.
    pub(crate) fn line(&self, text: impl fmt::Display) -> Result<(), OutputError> {
        self.write(&format!("{text}\n"))
    }

    /// Writes a JSON value, pretty (compact on one line with `--output
    /// jsonl`), and a newline.
    pub(crate) fn json(&self, value: &Value) -> Result<(), OutputError> {
        if self.compact.load(Ordering::Relaxed) {
            return self.line(value);
        }
        // A `Value` always serializes (its keys are strings).
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
        self.line(text)
    }

    /// The first write error, if there was one.
    pub(crate) fn failure(&self) -> Option<OutputError> {
        self.sink
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .failed
            .clone()
    }
}

/// A JSON array written one element at a time, each as soon as it is known
/// (one element per line, compact), so nothing is held for the end and what
/// was written before an interruption is closed into valid JSON by
/// [`finish`](Self::finish).
pub(crate) struct JsonArray<'a> {
    out: &'a Output,
    count: usize,
}

impl<'a> JsonArray<'a> {
    /// Writes the opening bracket.
    pub(crate) fn start(out: &'a Output) -> Result<Self, OutputError> {
        out.write("[")?;
        Ok(JsonArray { out, count: 0 })
    }

    /// Writes one element.
    pub(crate) fn push(&mut self, value: &Value) -> Result<(), OutputError> {
        let sep = if self.count == 0 { "\n  " } else { ",\n  " };
        self.out.write(&format!("{sep}{value}"))?;
        self.count += 1;
        Ok(())
    }

    /// How many elements were written.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Writes the closing bracket.
    pub(crate) fn finish(self) -> Result<(), OutputError> {
        if self.count == 0 {
            self.out.write("]\n")
        } else {
            self.out.write("\n]\n")
        }
    }
}

/// Writes one line on stderr; a failing stderr is ignored (there is nowhere
/// left to say so). Never panics, unlike `eprintln!`.
pub(crate) fn err_line(args: fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args);
    let _ = err.write_all(b"\n");
    let _ = err.flush();
}

/// Writes on stderr without a newline (a prompt); errors are ignored.
pub(crate) fn err_text(args: fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args);
    let _ = err.flush();
}

/// Prints a JSON value on stdout through [`Output::stdout`]; a failure is
/// kept there and reported when the command ends.
pub(crate) fn print_json(value: &Value) {
    let _ = Output::stdout().json(value);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use jobstop::{ErrorKind, RunId, Vendor};

    #[test]
    fn columns_align_on_visible_width() {
        let mut t = Table::new(&["ID", "STATE", "NAME"]);
        t.push(vec![
            Cell::plain("1"),
            Cell::state(RunState::Running),
            Cell::plain("a"),
        ]);
        t.push(vec![
            Cell::plain("1000"),
            Cell::state(RunState::Stopped),
            Cell::plain("b\nc"),
        ]);
        let plain = t.render(&Term {
            color: false,
            progress: false,
        });
        assert_eq!(
            plain,
            "ID    STATE    NAME\n1     running  a\n1000  stopped  b c\n"
        );
        let colored = t.render(&Term {
            color: true,
            progress: false,
        });
        assert!(colored.contains("\x1b[32mrunning\x1b[0m  a"));
        let stripped: String = colored
            .split('\x1b')
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    part.split_once('m').map_or("", |(_, rest)| rest)
                }
            })
            .collect();
        assert_eq!(stripped, plain);
    }

    #[test]
    fn run_json_has_account_and_raw_only_on_request() {
        let run = Run::new(Vendor::CHORUS, RunId::new("7"), RunState::Idle, "idle")
            .with_raw(json!({"id": 7}));
        let v = run_json(&run, "prod", false);
        assert_eq!(v["account"], "prod");
        assert_eq!(v["id"], "7");
        assert!(v.get("raw").is_none());
        assert_eq!(run_json(&run, "prod", true)["raw"]["id"], 7);
    }

    /// A writer that fails like a full disk or a closed pipe, counting writes.
    struct Broken(
        std::io::ErrorKind,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    );

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(std::io::Error::from(self.0))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_errors_are_returned_and_stick() {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let out = Output::new(Broken(std::io::ErrorKind::StorageFull, calls.clone()));
        let Err(OutputError::Failed(message)) = out.line("x") else {
            panic!("a full disk is a failure");
        };
        assert!(message.contains("storage"), "{message}");
        assert!(out.json(&json!([1])).is_err());
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "nothing written after a failure"
        );
        assert!(matches!(out.failure(), Some(OutputError::Failed(_))));

        let out = Output::new(Broken(std::io::ErrorKind::BrokenPipe, calls));
        assert_eq!(out.line("x"), Err(OutputError::Closed));
        assert_eq!(out.failure(), Some(OutputError::Closed));
    }

    /// A `Write` into a shared buffer.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_streamed_array_is_valid_json_at_every_finish() {
        for n in [0, 1, 3] {
            let buf = Shared::default();
            let out = Output::new(buf.clone());
            let mut array = JsonArray::start(&out).unwrap();
            for i in 0..n {
                array.push(&json!({"i": i, "s": "a\nb"})).unwrap();
            }
            array.finish().unwrap();
            let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v.as_array().unwrap().len(), n, "{text}");
            assert_eq!(
                text.lines().count(),
                n + if n == 0 { 1 } else { 2 },
                "{text}"
            );
        }
    }

    #[test]
    fn a_streamed_table_settles_on_its_first_rows_and_never_cuts_a_cell() {
        let plain = Term {
            color: false,
            progress: false,
        };
        let row = |id: &str, state, name: &str| {
            vec![Cell::plain(id), Cell::state(state), Cell::plain(name)]
        };
        let buf = Shared::default();
        let out = Output::new(buf.clone());
        let text = || String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let mut t = TableStream::new(&["ID", "STATE", "NAME"]);
        t.settle(&out, &plain).unwrap();
        assert_eq!(text(), "", "nothing to settle on: no header yet");
        assert!(t.is_empty());
        t.push(&out, &plain, row("1", RunState::Running, "a"))
            .unwrap();
        t.push(&out, &plain, row("1000", RunState::Stopped, "b\nc"))
            .unwrap();
        assert!(t.is_settling());
        assert_eq!(text(), "", "held until settled");
        t.settle(&out, &plain).unwrap();
        // The same lines as the whole table's.
        let mut whole = Table::new(&["ID", "STATE", "NAME"]);
        whole.push(row("1", RunState::Running, "a"));
        whole.push(row("1000", RunState::Stopped, "b\nc"));
        assert_eq!(text(), whole.render(&plain));
        // A later, wider id pushes its row right; nothing is cut.
        t.push(&out, &plain, row("123456", RunState::Failed, "d"))
            .unwrap();
        assert!(
            text().ends_with("1000  stopped  b c\n123456  failed   d\n"),
            "{}",
            text()
        );
        assert_eq!(t.printed(), 3);

        // HOLD rows settle on their own.
        let buf = Shared::default();
        let out = Output::new(buf.clone());
        let mut t = TableStream::new(&["ID"]);
        for i in 0..TableStream::HOLD {
            t.push(&out, &plain, vec![Cell::plain(i.to_string())])
                .unwrap();
        }
        assert!(!t.is_settling());
        let printed = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(printed.lines().count(), TableStream::HOLD + 1);

        // Colors do not count toward the widths.
        let buf = Shared::default();
        let out = Output::new(buf.clone());
        let colored = Term {
            color: true,
            progress: false,
        };
        let mut t = TableStream::new(&["STATE", "ID"]);
        t.push(
            &out,
            &colored,
            vec![Cell::state(RunState::Running), Cell::plain("7")],
        )
        .unwrap();
        t.settle(&out, &colored).unwrap();
        t.push(
            &out,
            &colored,
            vec![Cell::state(RunState::Failed), Cell::plain("8")],
        )
        .unwrap();
        let printed = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(
            printed.ends_with("\x1b[31mfailed\x1b[0m   8\n"),
            "{printed:?}"
        );
    }

    #[test]
    fn error_json_shape() {
        let e = Error::new(ErrorKind::PermissionDenied, "nope")
            .with_http_status(403)
            .with_request_id("r-1");
        let v = error_json(&e);
        assert_eq!(v["kind"], "permission_denied");
        assert_eq!(v["http_status"], 403);
        assert_eq!(v["request_id"], "r-1");
        assert_eq!(v["vendor_code"], Value::Null);
    }
}

//! All output. stdout carries data (plans, JSON, lists); stderr carries messages,
//! warnings and errors. Whether each takes colour is decided with the other settings
//! ([`crate::options::Options::resolve`]: `--color`, `NO_COLOR`, the terminals) and
//! handed in as [`Colors`]; the printer reads nothing from the environment.
//! A closed pipe (`mpm plan | head`) ends output quietly instead of failing: the
//! reader chose to stop. Any other failed write to stdout (a full disk, an I/O
//! error) also ends the output, and is kept for [`Printer::finish`], which makes the
//! command exit 1: a plan that never reached its file is not a success.

use std::cell::{Cell, RefCell};
use std::io::{self, IsTerminal, Write};

/// Which streams take colour. The default is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Colors {
    pub stdout: bool,
    pub stderr: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Add,
    Change,
    Destroy,
    Conflict,
    Dim,
    Bold,
}

#[derive(Debug)]
pub struct Printer {
    color_out: bool,
    color_err: bool,
    /// stdout takes no more: its reader closed the pipe, or a write failed.
    stdout_closed: Cell<bool>,
    /// The first write to stdout that failed other than by a closed pipe.
    stdout_error: RefCell<Option<io::Error>>,
}

/// Standard output could not be written, for another reason than a closed pipe.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(pub io::Error);

impl Printer {
    pub fn new(colors: Colors) -> Self {
        Printer {
            color_out: colors.stdout,
            color_err: colors.stderr,
            stdout_closed: Cell::new(false),
            stdout_error: RefCell::new(None),
        }
    }

    /// A printer that never colours (for tests and files).
    pub fn plain() -> Self {
        Printer::new(Colors::default())
    }

    /// Writes data to stdout. A failed write silences the rest of the output; any
    /// failure but a broken pipe is reported by [`Printer::finish`].
    pub fn out(&self, text: &str) {
        if self.stdout_closed.get() {
            return;
        }
        let mut lock = io::stdout().lock();
        if let Err(e) = lock.write_all(text.as_bytes()).and_then(|()| lock.flush()) {
            self.stdout_failed(e);
        }
    }

    fn stdout_failed(&self, e: io::Error) {
        self.stdout_closed.set(true);
        if e.kind() != io::ErrorKind::BrokenPipe {
            self.stdout_error.borrow_mut().get_or_insert(e);
        }
    }

    /// Flushes stdout at the end of a command: `Err` when some of its output was
    /// lost (a broken pipe is not a loss: the reader took what it wanted).
    pub fn finish(&self) -> Result<(), StdoutError> {
        if !self.stdout_closed.get()
            && let Err(e) = io::stdout().lock().flush()
        {
            self.stdout_failed(e);
        }
        match self.stdout_error.take() {
            Some(e) => Err(StdoutError(e)),
            None => Ok(()),
        }
    }

    /// Whether stdout takes no more: its reader closed the pipe, or a write failed.
    pub fn stdout_gone(&self) -> bool {
        self.stdout_closed.get()
    }

    /// Whether some output was lost to a failed write (not a closed pipe): a plan
    /// nobody could read is not applied.
    pub fn output_lost(&self) -> bool {
        self.stdout_error.borrow().is_some()
    }

    /// A buffered writer to stdout for long output.
    pub fn out_writer(&self) -> OutWriter<'_> {
        OutWriter {
            printer: self,
            buffer: String::new(),
        }
    }

    /// Writes a message line to stderr.
    pub fn note(&self, text: &str) {
        let mut lock = io::stderr().lock();
        let _ = writeln!(lock, "{text}");
    }

    pub fn warn(&self, text: &str) {
        let label = self.paint_err(Style::Change, "warning:");
        self.note(&format!("{label} {text}"));
    }

    pub fn error(&self, error: &crate::Error) {
        self.error_text(error.render());
    }

    /// `error: cannot write to standard output: <why>`, on stderr.
    pub fn stdout_error(&self, error: &StdoutError) {
        self.error_text(format!("error: {error}\n"));
    }

    /// A rendered error, with its `error:` and `hint:` labels coloured when stderr
    /// takes colour.
    fn error_text(&self, text: String) {
        let text = if self.color_err {
            text.lines()
                .map(|l| match l.strip_prefix("error:") {
                    Some(rest) => format!("{}{rest}", paint(Style::Destroy, "error:")),
                    None => match l.strip_prefix("hint:") {
                        Some(rest) => format!("{}{rest}", paint(Style::Add, "hint:")),
                        None => l.to_string(),
                    },
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        } else {
            text
        };
        let mut lock = io::stderr().lock();
        let _ = lock.write_all(text.as_bytes());
    }

    /// Colours `text` for stdout when colour is on.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color_out {
            paint(style, text)
        } else {
            text.to_string()
        }
    }

    fn paint_err(&self, style: Style, text: &str) -> String {
        if self.color_err {
            paint(style, text)
        } else {
            text.to_string()
        }
    }

    /// A unified diff as a block of its own under the change lines: a blank line,
    /// then each line indented by four, added lines in green, removed in red, hunk
    /// headers dim (the `---`/`+++` file headers stay plain). For stdout.
    pub fn write_diff(&self, out: &mut dyn std::fmt::Write, unified: &str) {
        let _ = writeln!(out);
        for line in unified.lines() {
            let style = match line.as_bytes().first() {
                Some(b'+') if !line.starts_with("+++") => Some(Style::Add),
                Some(b'-') if !line.starts_with("---") => Some(Style::Destroy),
                Some(b'@') => Some(Style::Dim),
                _ => None,
            };
            let line = match style {
                Some(s) => self.paint(s, line),
                None => line.to_string(),
            };
            let _ = writeln!(out, "    {line}");
        }
    }

    pub fn stdin_is_terminal(&self) -> bool {
        io::stdin().is_terminal()
    }

    pub fn stderr_is_terminal(&self) -> bool {
        io::stderr().is_terminal()
    }

    /// Asks a yes/no question on the terminal; only `yes` accepts (Terraform's rule).
    pub fn confirm(&self, question: &str) -> io::Result<bool> {
        {
            let mut err = io::stderr().lock();
            write!(
                err,
                "{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
            )?;
            err.flush()?;
        }
        let mut answer = String::new();
        io::stdin().read_line(&mut answer)?;
        Ok(answer.trim() == "yes")
    }
}

fn paint(style: Style, text: &str) -> String {
    let code = match style {
        Style::Add => "32",
        Style::Change => "33",
        Style::Destroy => "31",
        Style::Conflict => "1;31",
        Style::Dim => "2",
        Style::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Data for stdout, passed on in chunks of 64 KiB; the rest when dropped.
pub struct OutWriter<'a> {
    printer: &'a Printer,
    buffer: String,
}

impl std::fmt::Write for OutWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buffer.push_str(s);
        if self.buffer.len() >= 64 << 10 {
            self.printer.out(&self.buffer);
            self.buffer.clear();
        }
        Ok(())
    }
}

impl Drop for OutWriter<'_> {
    fn drop(&mut self) {
        if !self.buffer.is_empty() {
            self.printer.out(&self.buffer);
        }
    }
}

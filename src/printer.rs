//! All output. stdout carries data (plans, JSON, lists); stderr carries messages,
//! warnings and errors. Colour only on a terminal, never with `NO_COLOR`.
//! A closed pipe (`mpm plan | head`) ends output quietly instead of failing.

use std::cell::Cell;
use std::io::{self, IsTerminal, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
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
    stdout_closed: Cell<bool>,
}

impl Printer {
    pub fn new(choice: ColorChoice) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |tty: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color,
        };
        Printer {
            color_out: decide(io::stdout().is_terminal()),
            color_err: decide(io::stderr().is_terminal()),
            stdout_closed: Cell::new(false),
        }
    }

    /// A printer that never colours (for tests and files).
    pub fn plain() -> Self {
        Printer {
            color_out: false,
            color_err: false,
            stdout_closed: Cell::new(false),
        }
    }

    /// Writes data to stdout. A broken pipe silences the rest of the output.
    pub fn out(&self, text: &str) {
        if self.stdout_closed.get() {
            return;
        }
        let mut lock = io::stdout().lock();
        if let Err(e) = lock.write_all(text.as_bytes()).and_then(|()| lock.flush())
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            self.stdout_closed.set(true);
        }
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
        let text = error.render();
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

    pub fn stdin_is_terminal(&self) -> bool {
        io::stdin().is_terminal()
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

//! Terminal output: status lines and warnings go to stderr with a `hallows:` prefix, so stdout
//! stays free for machine-readable output (`report --json`) and for the user's own programs.

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by `--quiet`: status lines are dropped, warnings and errors still shown.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Turns status lines off (for `cargo build --quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Prefix of every line cargo-hallows itself prints.
pub const PREFIX: &str = "hallows:";

fn paint(code: &str, text: &str) -> String {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Prints a status line to stderr: `hallows: <message>`.
pub fn status(message: &str) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let _ = writeln!(std::io::stderr(), "{} {message}", paint("1;32", PREFIX));
}

/// Prints a warning to stderr: `hallows: warning: <message>`.
pub fn warning(message: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "{} {} {message}",
        paint("1;32", PREFIX),
        paint("1;33", "warning:")
    );
}

/// Prints an error (with its whole cause chain) to stderr: `hallows: error: <message>`.
pub fn error(err: &anyhow::Error) {
    let mut text = format!(
        "{} {} {err}",
        paint("1;32", PREFIX),
        paint("1;31", "error:")
    );
    for cause in err.chain().skip(1) {
        text.push_str(&format!("\n  caused by: {cause}"));
    }
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Width of the bar drawn by [`Progress`], in characters.
const PROGRESS_BAR_WIDTH: usize = 24;

/// Progress through a fixed number of steps (training runs, say). On a terminal it is one bar
/// redrawn in place; elsewhere (CI logs, pipes) each step gets its own status line.
pub struct Progress {
    what: String,
    total: usize,
    started: usize,
    in_place: bool,
}

impl Progress {
    /// Progress through `total` steps of `what` (`"training"`).
    pub fn new(what: &str, total: usize) -> Progress {
        Progress {
            what: what.to_string(),
            total,
            started: 0,
            in_place: std::io::stderr().is_terminal() && !QUIET.load(Ordering::Relaxed),
        }
    }

    /// Shows that the next step, `label`, is starting.
    pub fn step(&mut self, label: &str) {
        self.started = (self.started + 1).min(self.total);
        let line = format!(
            "{} {} {}/{} {label}",
            self.what,
            bar(self.started - 1, self.total, PROGRESS_BAR_WIDTH),
            self.started,
            self.total
        );
        if self.in_place {
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[2K{} {}",
                paint("1;32", PREFIX),
                ellipsize(&line, 100)
            );
            let _ = std::io::stderr().flush();
        } else {
            status(&line);
        }
    }

    /// Clears the bar (on a terminal) so the next line starts clean.
    pub fn finish(self) {
        if self.in_place {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}

/// `[#####-----]`: `done` of `total` steps as a bar of `width` cells.
fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}

/// Formats `rows` as a left-aligned table with two spaces between columns. The last column is not
/// padded. Widths count characters, not bytes.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 == columns {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.extend(std::iter::repeat_n(
                    ' ',
                    widths[i] - cell.chars().count() + 2,
                ));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// Shortens `text` to at most `max` characters, replacing the middle with `…`.
pub fn ellipsize(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max || max < 3 {
        return text.to_string();
    }
    let keep = max - 1;
    let head = keep / 2;
    let tail = keep - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            vec!["a".into(), "long cell".into(), "x".into()],
            vec!["bbb".into(), "c".into(), "y".into()],
        ];
        let text = table(&["h1", "h2", "h3"], &rows);
        assert_eq!(
            text,
            "h1   h2         h3\na    long cell  x\nbbb  c          y\n"
        );
    }

    #[test]
    fn progress_bar_fills_with_steps() {
        assert_eq!(bar(0, 4, 8), "[--------]");
        assert_eq!(bar(1, 4, 8), "[##------]");
        assert_eq!(bar(4, 4, 8), "[########]");
        assert_eq!(bar(0, 0, 4), "[####]");
    }

    #[test]
    fn ellipsize_keeps_both_ends() {
        assert_eq!(ellipsize("abcdefghij", 5), "ab…ij");
        assert_eq!(ellipsize("abc", 5), "abc");
    }
}

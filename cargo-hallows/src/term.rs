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
    fn ellipsize_keeps_both_ends() {
        assert_eq!(ellipsize("abcdefghij", 5), "ab…ij");
        assert_eq!(ellipsize("abc", 5), "abc");
    }
}

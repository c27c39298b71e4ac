//! Report records (docs/REPORT_FORMAT.md, schema 1) and where they go.
//!
//! A pass collects the records of one module in a [`ModuleReport`] and finishes it once: the
//! records are printed on stderr when `HALLOWS_REPORT_STDERR=1`, and written as one JSON-lines
//! file `<sanitized module id>.<pass>.jsonl` when `HALLOWS_REPORT_DIR` is set. The file is written
//! whole to `.<name>.<pid>.<n>.tmp` in the same directory and renamed, so parallel codegen units
//! never interleave and readers never see half a file.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::names::{crate_of_module, demangle_symbol, sanitize_module_id};
use crate::options::{Options, MESSAGE_PREFIX};

/// Schema version of the records.
pub const SCHEMA: u64 = 1;
/// Producer name of every plugin record.
pub const PRODUCER: &str = "plugin";

/// One decision about one function (or one instruction of it).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Crate of the function.
    pub crate_name: String,
    /// Demangled function path.
    pub function: String,
    /// Mangled symbol.
    pub symbol: String,
    /// Short verb: `analyzed`, `reordered`, `skipped`, ...
    pub action: &'static str,
    /// One human sentence.
    pub reason: String,
    /// Pass-specific numbers.
    pub data: Value,
}

/// The records one pass produced for one module.
#[derive(Debug)]
pub struct ModuleReport {
    pass: &'static str,
    module: String,
    records: Vec<Record>,
}

impl ModuleReport {
    /// An empty report of `pass` (the full pipeline name, `hallows-...`) for `module`.
    pub fn new(pass: &'static str, module: impl Into<String>) -> Self {
        ModuleReport {
            pass,
            module: module.into(),
            records: Vec::new(),
        }
    }

    /// Adds a record about the function with mangled name `symbol`.
    pub fn push(
        &mut self,
        symbol: &str,
        action: &'static str,
        reason: impl Into<String>,
        data: Value,
    ) {
        let name = demangle_symbol(symbol);
        let crate_name = name
            .crate_name
            .unwrap_or_else(|| crate_of_module(&self.module));
        self.records.push(Record {
            crate_name,
            function: name.function,
            symbol: symbol.to_owned(),
            action,
            reason: reason.into(),
            data,
        });
    }

    /// The records so far.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The records so far, to amend one after a later decision changed it.
    pub fn records_mut(&mut self) -> &mut [Record] {
        &mut self.records
    }

    /// One JSON object per record, each line ending in `\n`.
    pub fn to_json_lines(&self, ts_ms: u64) -> String {
        let mut out = String::new();
        for r in &self.records {
            let object = json!({
                "schema": SCHEMA,
                "producer": PRODUCER,
                "pass": self.pass,
                "crate": r.crate_name,
                "module": self.module,
                "function": r.function,
                "symbol": r.symbol,
                "action": r.action,
                "reason": r.reason,
                "data": r.data,
                "ts_ms": ts_ms,
            });
            out.push_str(&object.to_string());
            out.push('\n');
        }
        out
    }

    /// The readable one-line form of each record.
    pub fn to_readable_lines(&self) -> Vec<String> {
        self.records
            .iter()
            .map(|r| {
                format!(
                    "{MESSAGE_PREFIX}: {}: {} `{}` ({}): {}; {}",
                    self.pass, r.action, r.function, r.crate_name, r.reason, r.data
                )
            })
            .collect()
    }

    /// The report file name for this module and pass: `<sanitized module>.<pass>.jsonl`.
    pub fn file_name(&self) -> String {
        let short = self.pass.strip_prefix("hallows-").unwrap_or(self.pass);
        format!("{}.{short}.jsonl", sanitize_module_id(&self.module))
    }

    /// Prints and writes the report as `options` say. Failures are warnings, never panics: a
    /// report must not break a build.
    pub fn finish(self, options: &Options) {
        if options.report_stderr {
            let mut err = std::io::stderr().lock();
            for line in self.to_readable_lines() {
                let _ = writeln!(err, "{line}");
            }
        }
        if let Some(dir) = &options.report_dir {
            let contents = self.to_json_lines(now_ms());
            if let Err(e) = write_atomically(dir, &self.file_name(), contents.as_bytes()) {
                eprintln!(
                    "{MESSAGE_PREFIX}: warning: could not write report {}/{}: {e}; \
                     check that HALLOWS_REPORT_DIR is a writable directory",
                    dir.display(),
                    self.file_name()
                );
            }
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Writes `contents` to `dir/name` through a temporary file in `dir` and a rename.
pub fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(dir)?;
    // Relaxed: the counter only makes temporary names unique within this process.
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_data()?;
        std::fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ModuleReport {
        let mut r = ModuleReport::new("hallows-inventory", "mycrate.abc-cgu.0");
        r.push(
            "_ZN7mycrate3foo17h0123456789abcdefE",
            "analyzed",
            "inventory",
            json!({"blocks": 3}),
        );
        r.push("memcpy", "analyzed", "inventory", json!({}));
        r
    }

    #[test]
    fn json_lines_follow_the_schema() {
        let text = sample().to_json_lines(42);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["schema"], 1);
        assert_eq!(v["producer"], "plugin");
        assert_eq!(v["pass"], "hallows-inventory");
        assert_eq!(v["crate"], "mycrate");
        assert_eq!(v["function"], "mycrate::foo");
        assert_eq!(v["module"], "mycrate.abc-cgu.0");
        assert_eq!(v["data"]["blocks"], 3);
        assert_eq!(v["ts_ms"], 42);
        let c: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(
            c["crate"], "mycrate",
            "non-Rust symbol falls back to module crate"
        );
    }

    #[test]
    fn file_is_replaced_whole_and_leaves_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("hallows-report-test-{}", std::process::id()));
        let report = sample();
        let name = report.file_name();
        assert_eq!(name, "mycrate.abc-cgu.0.inventory.jsonl");
        write_atomically(&dir, &name, b"old\n").unwrap();
        write_atomically(&dir, &name, report.to_json_lines(1).as_bytes()).unwrap();
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        assert_eq!(text.lines().count(), 2);
        let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(entries.len(), 1, "temporary file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

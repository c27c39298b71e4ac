//! Reading and rendering Hallows report records (docs/REPORT_FORMAT.md, schema 1).
//!
//! Records are JSON lines in `*.jsonl` files of a report directory. The plugin writes one file per
//! LLVM module and replaces it on re-runs, but when a codegen unit is re-split across builds an
//! older file may still hold records for a function that now lives in another module; for every
//! (crate, function, pass, symbol) only the records of the file with the newest `ts_ms` are kept.
//! Symbols are compared without their crate hashes ([`symbol_identity`]): a rebuild with other
//! flags changes cargo's `-C metadata` and so every hash, but it is still the same function.

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The report schema this version reads.
pub const SCHEMA: u64 = 1;

/// Widest function name shown in the table before it is shortened.
const FUNCTION_COLUMN_MAX: usize = 60;

/// One report record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Always [`SCHEMA`].
    pub schema: u64,
    /// `plugin`, `runtime` or `macros`.
    pub producer: String,
    /// Pass or producer part, e.g. `hallows-railway`.
    pub pass: String,
    /// Crate the function belongs to.
    #[serde(rename = "crate")]
    pub krate: String,
    /// LLVM module identifier.
    #[serde(default)]
    pub module: String,
    /// Demangled function path.
    pub function: String,
    /// Mangled symbol.
    #[serde(default)]
    pub symbol: String,
    /// What was done.
    pub action: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// Pass-specific numbers.
    #[serde(default)]
    pub data: serde_json::Value,
    /// Unix time in milliseconds when written.
    pub ts_ms: u64,
}

/// A record and the file it was read from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The record.
    pub record: Record,
    /// Index into [`Reports::files`].
    pub file: usize,
}

/// Everything read from one report directory.
#[derive(Debug, Default)]
pub struct Reports {
    /// Files read, in name order.
    pub files: Vec<PathBuf>,
    /// Records in file then line order.
    pub records: Vec<Loaded>,
    /// Problems found while reading (corrupt lines, other schemas); shown as warnings.
    pub warnings: Vec<String>,
}

impl Reports {
    /// Reads every `*.jsonl` file (not hidden temporaries) in `dir`.
    pub fn read_dir(dir: &Path) -> Result<Reports> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .with_context(|| format!("failed to read the report directory {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                !name.starts_with('.') && name.ends_with(".jsonl") && p.is_file()
            })
            .collect();
        files.sort();
        let mut reports = Reports::default();
        for path in files {
            let text =
                fs::read(&path).with_context(|| format!("failed to read {}", path.display()))?;
            let text = String::from_utf8_lossy(&text);
            let index = reports.files.len();
            reports.files.push(path);
            reports.add_text(index, &text);
        }
        Ok(reports)
    }

    /// Parses the lines of one file (already added to `files` at `file`).
    pub fn add_text(&mut self, file: usize, text: &str) {
        let name = self
            .files
            .get(file)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| format!("file {file}"));
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match parse_line(line) {
                Ok(record) if record.schema == SCHEMA => self.records.push(Loaded { record, file }),
                Ok(record) => self.warnings.push(format!(
                    "{name}:{}: skipped a schema {} record, written by a newer or older Hallows; rebuild with this version",
                    n + 1,
                    record.schema
                )),
                Err(e) => self.warnings.push(format!("{name}:{}: skipped a corrupt line: {e}", n + 1)),
            }
        }
    }

    /// Drops records superseded by a newer file (see the module docs) and returns the rest in
    /// their original order.
    pub fn deduplicated(&self) -> Vec<&Record> {
        type Key<'a> = (&'a str, &'a str, &'a str, &'a str);
        fn key(r: &Record) -> Key<'_> {
            (&r.krate, &r.function, &r.pass, symbol_identity(&r.symbol))
        }
        // For each key, the file holding its newest record.
        let mut newest: BTreeMap<Key<'_>, (u64, usize)> = BTreeMap::new();
        for loaded in &self.records {
            let entry = newest
                .entry(key(&loaded.record))
                .or_insert((loaded.record.ts_ms, loaded.file));
            if (loaded.record.ts_ms, loaded.file) > *entry {
                *entry = (loaded.record.ts_ms, loaded.file);
            }
        }
        self.records
            .iter()
            .filter(|l| newest.get(&key(&l.record)).map(|(_, file)| *file) == Some(l.file))
            .map(|l| &l.record)
            .collect()
    }
}

/// A symbol without the parts that change when only the crate's `-C metadata` changes: the
/// legacy mangling's trailing `17h<16 hex>E` hash, or, for v0 mangling, everything up to the
/// first crate root's disambiguator (`_RNvCs<base62>_`), keeping the path after it.
pub fn symbol_identity(symbol: &str) -> &str {
    if let Some(body) = symbol.strip_prefix("_ZN") {
        let bytes = body.as_bytes();
        // `...17h0123456789abcdefE`: 3 + 16 + 1 characters.
        if bytes.len() >= 20 && body.ends_with('E') && body[body.len() - 20..].starts_with("17h") {
            return &symbol[..symbol.len() - 20];
        }
        return symbol;
    }
    if symbol.starts_with("_R") {
        if let Some(pos) = symbol.find("Cs") {
            if let Some(end) = symbol[pos..].find('_') {
                return &symbol[pos + end + 1..];
            }
        }
    }
    symbol
}

fn parse_line(line: &str) -> Result<Record, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    if let Some(schema) = value.get("schema").and_then(serde_json::Value::as_u64) {
        if schema != SCHEMA {
            // Another schema may have other fields: keep only what is needed to warn.
            return Ok(Record {
                schema,
                producer: String::new(),
                pass: String::new(),
                krate: String::new(),
                module: String::new(),
                function: String::new(),
                symbol: String::new(),
                action: String::new(),
                reason: String::new(),
                data: serde_json::Value::Null,
                ts_ms: 0,
            });
        }
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// What `cargo hallows report` shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Exact crate name.
    pub krate: Option<String>,
    /// Substring of the function path.
    pub function: Option<String>,
    /// Pass name, with or without the `hallows-` prefix.
    pub pass: Option<String>,
}

impl Filter {
    /// Whether `record` passes the filter.
    pub fn matches(&self, record: &Record) -> bool {
        if self.krate.as_ref().is_some_and(|c| *c != record.krate) {
            return false;
        }
        if self
            .function
            .as_ref()
            .is_some_and(|f| !record.function.contains(f.as_str()))
        {
            return false;
        }
        if let Some(pass) = &self.pass {
            let bare = record.pass.strip_prefix("hallows-").unwrap_or(&record.pass);
            if pass != &record.pass && pass != bare {
                return false;
            }
        }
        true
    }
}

/// Sorts records for display: crate, function, pass, then time.
pub fn sort_for_display(records: &mut [&Record]) {
    records.sort_by(|a, b| {
        (&a.krate, &a.function, &a.pass, a.ts_ms).cmp(&(&b.krate, &b.function, &b.pass, b.ts_ms))
    });
}

/// Renders `data` compactly: `key=value` pairs for scalars, in key order.
pub fn data_summary(data: &serde_json::Value) -> String {
    match data {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                serde_json::Value::Number(_) | serde_json::Value::Bool(_) => format!("{k}={v}"),
                serde_json::Value::Array(a) => format!("{k}=[{} items]", a.len()),
                serde_json::Value::Object(o) => format!("{k}={{{} keys}}", o.len()),
                serde_json::Value::Null => format!("{k}=null"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders records as an aligned table.
pub fn render_table(records: &[&Record]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let numbers = data_summary(&r.data);
            let details = match (r.reason.is_empty(), numbers.is_empty()) {
                (false, false) => format!("{} [{numbers}]", r.reason),
                (false, true) => r.reason.clone(),
                (true, _) => numbers,
            };
            vec![
                r.krate.clone(),
                crate::term::ellipsize(&r.function, FUNCTION_COLUMN_MAX),
                r.pass.clone(),
                r.action.clone(),
                details,
            ]
        })
        .collect();
    crate::term::table(
        &["CRATE", "FUNCTION", "PASS", "ACTION", "WHY / NUMBERS"],
        &rows,
    )
}

/// Renders records as JSON lines.
pub fn render_json(records: &[&Record]) -> Result<String> {
    let mut out = String::new();
    for r in records {
        out.push_str(&serde_json::to_string(r)?);
        out.push('\n');
    }
    Ok(out)
}

//! Reading and rendering Hallows report records (docs/REPORT_FORMAT.md, schema 1).
//!
//! Records are JSON lines in `*.jsonl` files of a report directory. The plugin writes one file per
//! LLVM module and replaces it on re-runs, but when a codegen unit is re-split across builds an
//! older file may still hold records for a function that now lives in another module; for every
//! (crate, function, pass, symbol) only the records of the file with the newest `ts_ms` are kept.
//!
//! A rebuild of a crate with other flags (another `--mode`, `--passes` or profile) changes
//! cargo's `-C metadata`, and with it the crate hash in module names (`app.<16 hex>-cgu.3`) and
//! in every symbol, so the key above cannot match the old records. Files whose module carries
//! another hash of the same crate than the one written by the latest `cargo hallows build` (its
//! start time is kept in [`BUILD_START_FILE`]) and that are older than that build are dropped
//! whole ([`module_crate_hash`]). Two builds of one crate within the same cargo run (a crate
//! compiled for build scripts with other features) are both kept.

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The report schema this version reads.
pub const SCHEMA: u64 = 1;

/// File in a report directory holding the start time (ms) of the latest `cargo hallows build`.
pub const BUILD_START_FILE: &str = ".hallows-build-start";

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
    /// Start time of the latest `cargo hallows build` into this directory, if known.
    pub build_start_ms: Option<u64>,
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
        let mut reports = Reports {
            build_start_ms: fs::read_to_string(dir.join(BUILD_START_FILE))
                .ok()
                .and_then(|t| t.trim().parse().ok()),
            ..Reports::default()
        };
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
            (&r.krate, &r.function, &r.pass, &r.symbol)
        }
        // Per file: its newest record and the crate build its module belongs to.
        /// (crate, crate hash) of a module, see [`module_crate_hash`].
        type CrateBuild<'a> = Option<(&'a str, &'a str)>;
        let mut file_info: BTreeMap<usize, (u64, CrateBuild<'_>)> = BTreeMap::new();
        for loaded in &self.records {
            let info = file_info
                .entry(loaded.file)
                .or_insert((0, module_crate_hash(&loaded.record.module)));
            info.0 = info.0.max(loaded.record.ts_ms);
        }
        // Crate hashes written by the latest build.
        let mut current: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        if let Some(start) = self.build_start_ms {
            for (ts, id) in file_info.values() {
                if let (true, Some((krate, hash))) = (*ts >= start, id) {
                    current.entry(krate).or_default().push(hash);
                }
            }
        }
        let stale = |file: usize| {
            let Some((ts, Some((krate, hash)))) = file_info.get(&file) else {
                return false;
            };
            self.build_start_ms.is_some_and(|start| *ts < start)
                && current
                    .get(krate)
                    .is_some_and(|hashes| !hashes.contains(hash))
        };
        // For each key, the file holding its newest record.
        let mut newest: BTreeMap<Key<'_>, (u64, usize)> = BTreeMap::new();
        for loaded in self.records.iter().filter(|l| !stale(l.file)) {
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

impl Record {
    /// The crate whose codegen unit this record's function was compiled in, when the module is
    /// named like rustc's codegen units; it differs from [`Record::krate`] for generic instances
    /// and functions of other crates compiled in this one (`<alloc::vec::Vec<T>>::push` in `app`).
    pub fn compiled_in(&self) -> Option<&str> {
        module_crate_hash(&self.module).map(|(krate, _)| krate)
    }
}

/// Length of the crate hash in rustc's codegen-unit names.
const CRATE_HASH_LEN: usize = 16;

/// The (crate, crate hash) of an LLVM module named like rustc's codegen units,
/// `<crate>.<16 hex>-cgu.<n>`, also when it is embedded in a path as the linker's ThinLTO
/// modules are (`.../deps/app-1a2b.app.0123456789abcdef-cgu.0.rcgu.o`). `None` otherwise.
pub fn module_crate_hash(module: &str) -> Option<(&str, &str)> {
    let name = module.rsplit('/').next().unwrap_or(module);
    let cgu = name.rfind("-cgu.")?;
    let hash_start = cgu.checked_sub(CRATE_HASH_LEN)?;
    let hash = &name[hash_start..cgu];
    if !hash.bytes().all(|b| b.is_ascii_hexdigit()) || hash_start == 0 {
        return None;
    }
    let before = &name[..hash_start - 1];
    if name.as_bytes()[hash_start - 1] != b'.' {
        return None;
    }
    let krate = before.rsplit('.').next()?;
    (!krate.is_empty()).then_some((krate, hash))
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
    /// Exact crate name: records of this crate's functions, and records of other crates'
    /// functions (generic instances, inlined callees) compiled into this crate's modules.
    pub krate: Option<String>,
    /// Substring of the function path.
    pub function: Option<String>,
    /// Pass name, with or without the `hallows-` prefix.
    pub pass: Option<String>,
}

impl Filter {
    /// Whether `record` passes the filter.
    pub fn matches(&self, record: &Record) -> bool {
        if self
            .krate
            .as_ref()
            .is_some_and(|c| *c != record.krate && record.compiled_in() != Some(c.as_str()))
        {
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
            let krate = match r.compiled_in() {
                Some(host) if host != r.krate => format!("{} (in {host})", r.krate),
                _ => r.krate.clone(),
            };
            vec![
                krate,
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

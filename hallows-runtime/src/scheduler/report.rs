//! Writes the scheduler's counters as report records (docs/REPORT_FORMAT.md, schema 1):
//! producer `runtime`, pass `scheduler`, one record per worker plus one for the whole runtime,
//! into `$HALLOWS_REPORT_DIR/runtime-<pid>.jsonl`.
//!
//! The file is written whole to a temporary name and renamed. If the process already wrote the
//! file (an earlier runtime in the same process), its records are kept and the new ones appended,
//! so every runtime of a run is reported.

use crate::runtime::{RuntimeStats, WorkerStats};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Appends `s` as a JSON string literal.
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn counters_json(out: &mut String, w: &WorkerStats) {
    let fields: [(&str, u64); 19] = [
        ("polls", w.polls),
        ("spawns", w.spawns),
        ("steals", w.steals),
        ("stolen_tasks", w.stolen_tasks),
        ("far_steals", w.far_steals),
        ("migrations", w.migrations),
        ("wake_pulls", w.wake_pulls),
        ("kept_home", w.kept_home),
        ("injector_pulls", w.injector_pulls),
        ("parks", w.parks),
        ("unparks", w.unparks),
        ("to_hungry", w.to_hungry),
        ("to_balanced", w.to_balanced),
        ("to_saturated", w.to_saturated),
        ("yields", w.yields),
        ("demotions", w.demotions),
        ("panics", w.panics),
        ("overflows", w.overflows),
        ("idle_ns", w.idle_ns),
    ];
    for (name, v) in fields {
        let _ = write!(out, "\"{name}\":{v},");
    }
}

fn record(out: &mut String, krate: &str, function: &str, reason: &str, data: &str, ts_ms: u128) {
    out.push_str("{\"schema\":1,\"producer\":\"runtime\",\"pass\":\"scheduler\",\"crate\":");
    json_str(out, krate);
    out.push_str(",\"module\":\"\",\"function\":");
    json_str(out, function);
    out.push_str(",\"symbol\":\"\",\"action\":\"counters\",\"reason\":");
    json_str(out, reason);
    let _ = write!(out, ",\"data\":{{{data}}},\"ts_ms\":{ts_ms}}}");
    out.push('\n');
}

/// Renders the records for `stats` (one line per worker, then a `runtime` total).
pub(crate) fn render(stats: &RuntimeStats, uptime: Duration, krate: &str, ts_ms: u128) -> String {
    let mut out = String::new();
    for w in &stats.workers {
        let mut data = String::new();
        let _ = write!(
            data,
            "\"worker\":{},\"cpu\":{},\"pinned\":{},",
            w.worker, w.cpu, w.pinned
        );
        data.push_str("\"state\":");
        json_str(&mut data, w.state.map_or("unknown", |s| s.name()));
        data.push_str(",\"neighbours\":[");
        let n: Vec<String> = w.neighbours.iter().map(|n| n.to_string()).collect();
        data.push_str(&n.join(","));
        data.push_str("],");
        counters_json(&mut data, w);
        let _ = write!(data, "\"transitions\":{}", w.transitions());
        let reason = format!(
            "worker {} on cpu {}: {} polls, {} steals ({} tasks), {} migrations, {} state transitions",
            w.worker,
            w.cpu,
            w.polls,
            w.steals,
            w.stolen_tasks,
            w.migrations,
            w.transitions()
        );
        record(
            &mut out,
            krate,
            &format!("worker-{}", w.worker),
            &reason,
            &data,
            ts_ms,
        );
    }
    let total = stats.total();
    let mut data = String::new();
    let _ = write!(
        data,
        "\"workers\":{},\"uptime_ms\":{},\"external_submissions\":{},\"live_tasks\":{},",
        stats.workers.len(),
        uptime.as_millis(),
        stats.external_submissions,
        stats.live_tasks
    );
    counters_json(&mut data, &total);
    let _ = write!(data, "\"transitions\":{}", total.transitions());
    let reason = format!(
        "{} workers ran {} jobs; {} steals moved {} tasks; {} migrations",
        stats.workers.len(),
        total.polls,
        total.steals,
        total.stolen_tasks,
        total.migrations
    );
    record(&mut out, krate, "runtime", &reason, &data, ts_ms);
    out
}

/// The executable's name, standing in for the crate the workload belongs to.
fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| match s.rsplit_once('-') {
            // Cargo test and bench binaries carry a `-<hash>` suffix.
            Some((name, hash))
                if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                name.to_owned()
            }
            _ => s,
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Writes (or extends) `dir/runtime-<pid>.jsonl`.
pub(crate) fn write_report(dir: &Path, stats: &RuntimeStats, uptime: Duration) -> io::Result<()> {
    if !dir.is_absolute() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "HALLOWS_REPORT_DIR must be an absolute path, got `{}`",
                dir.display()
            ),
        ));
    }
    fs::create_dir_all(dir)?;
    let pid = std::process::id();
    let name = format!("runtime-{pid}.jsonl");
    let path = dir.join(&name);
    let ts_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut content = match fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    content.push_str(&render(stats, uptime, &program_name(), ts_ms));
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    // ORDERING: Relaxed: only makes temporary names unique within the process.
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{pid}.{n}.tmp"));
    fs::write(&tmp, content)?;
    fs::rename(&tmp, &path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::cellular::CellState;

    #[test]
    fn records_are_one_json_object_per_line_with_escaped_strings() {
        let stats = RuntimeStats {
            workers: vec![WorkerStats {
                worker: 0,
                cpu: 3,
                pinned: true,
                neighbours: vec![1],
                state: Some(CellState::Hungry),
                polls: 5,
                steals: 2,
                ..WorkerStats::default()
            }],
            external_submissions: 1,
            live_tasks: 0,
        };
        let text = render(&stats, Duration::from_millis(7), "we\"ird\n", 42);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with("{\"schema\":1,\"producer\":\"runtime\",\"pass\":\"scheduler\"")
        );
        assert!(lines[0].contains("\"crate\":\"we\\\"ird\\n\""));
        assert!(lines[0].contains("\"function\":\"worker-0\""));
        assert!(lines[0].contains("\"state\":\"hungry\",\"neighbours\":[1],\"polls\":5,"));
        assert!(lines[0].ends_with("\"ts_ms\":42}"));
        assert!(lines[1].contains("\"function\":\"runtime\""));
        assert!(lines[1].contains("\"uptime_ms\":7"));
        for l in lines {
            assert_eq!(l.matches('{').count(), l.matches('}').count());
        }
    }

    #[test]
    fn relative_report_dirs_are_rejected_with_a_hint() {
        let err = write_report(
            Path::new("rel/dir"),
            &RuntimeStats::default(),
            Duration::ZERO,
        )
        .unwrap_err();
        assert!(err.to_string().contains("absolute"));
    }
}

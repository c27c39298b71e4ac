//! `cargo hallows report`: reads the report records of a build and shows them.

use crate::cargo::Metadata;
use crate::cli::ReportArgs;
use crate::report::{self, Filter, Reports};
use crate::term;
use anyhow::{bail, Context as _, Result};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Runs `cargo hallows report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let target_dir = match &args.target_dir {
        Some(dir) => std::env::current_dir()?.join(dir),
        None => Metadata::load(args.manifest_path.as_deref())?.target_directory,
    };
    let reports_root = target_dir.join("hallows").join("reports");
    let dir = match &args.profile {
        Some(profile) => reports_root.join(profile),
        None => newest_profile_dir(&reports_root)?,
    };
    if !dir.is_dir() {
        bail!(
            "no Hallows reports in {}; run `cargo hallows build{}` first",
            dir.display(),
            if args.profile.as_deref() == Some("release") {
                " --release"
            } else {
                ""
            }
        );
    }
    let reports = Reports::read_dir(&dir)?;
    for warning in &reports.warnings {
        term::warning(warning);
    }
    if reports.records.is_empty() {
        bail!(
            "no report records in {}; run `cargo hallows build --release` first",
            dir.display()
        );
    }
    term::status(&format!("reports from {}", dir.display()));
    let filter = Filter {
        krate: args.krate.clone(),
        function: args.function.clone(),
        pass: args.pass.clone(),
    };
    let mut records: Vec<_> = reports
        .deduplicated()
        .into_iter()
        .filter(|r| filter.matches(r))
        .collect();
    report::sort_for_display(&mut records);
    let text = if args.json {
        report::render_json(&records)?
    } else {
        report::render_table(&records)
    };
    if records.is_empty() {
        term::warning("no record matches the filters");
    }
    if !records.is_empty() {
        print!("{text}");
    }
    std::io::stdout()
        .flush()
        .context("failed to write to stdout")?;
    Ok(())
}

/// The most recently modified profile directory under `<target>/hallows/reports`.
fn newest_profile_dir(root: &Path) -> Result<PathBuf> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(_) => bail!(
            "no Hallows reports in {}; run `cargo hallows build --release` first",
            root.display()
        ),
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| Some((newest_mtime(&e.path())?, e.path())))
        .max()
        .map(|(_, path)| path)
        .with_context(|| {
            format!(
                "no Hallows reports in {}; run `cargo hallows build --release` first",
                root.display()
            )
        })
}

fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()
}

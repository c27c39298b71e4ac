//! `cargo hallows run <name> [-- args]`: builds a bin of the workspace's examples package with
//! the plugin (release) and runs it with `HALLOWS_REPORT_DIR` set, so the runtime's records land
//! beside the plugin's.

use crate::cargo::Metadata;
use crate::cli::RunArgs;
use crate::commands::build::{self, ExitStatusError};
use crate::term;
use anyhow::{bail, Context as _, Result};
use std::process::Command;

/// Package names accepted as "the examples package".
pub const EXAMPLES_PACKAGES: &[&str] = &["hallows-examples", "examples"];

/// Runs `cargo hallows run`.
pub fn run(args: RunArgs) -> Result<()> {
    let metadata = Metadata::load(args.manifest_path.as_deref())?;
    let Some(package) = metadata
        .packages
        .iter()
        .find(|p| EXAMPLES_PACKAGES.contains(&p.name.as_str()))
    else {
        bail!(
            "this workspace ({}) has no examples package (named {}); run `cargo hallows run` inside the Hallows workspace, or use `cargo hallows build`",
            metadata.workspace_root.display(),
            EXAMPLES_PACKAGES.join(" or ")
        );
    };
    let find = |kind: &str| {
        package
            .targets
            .iter()
            .find(|t| t.name == args.name && t.kind.iter().any(|k| k == kind))
    };
    let kind = if find("bin").is_some() {
        "bin"
    } else if find("example").is_some() {
        "example"
    } else {
        let names: Vec<&str> = package
            .targets
            .iter()
            .filter(|t| t.kind.iter().any(|k| k == "bin" || k == "example"))
            .map(|t| t.name.as_str())
            .collect();
        bail!(
            "package `{}` has no bin named `{}`; available: {}",
            package.name,
            args.name,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let mut cargo_args = vec![
        "--release".to_string(),
        "-p".into(),
        package.name.clone(),
        format!("--{kind}"),
        args.name.clone(),
    ];
    if let Some(path) = &args.manifest_path {
        cargo_args.extend(["--manifest-path".into(), path.display().to_string()]);
    }
    if let Some(dir) = &args.target_dir {
        cargo_args.extend(["--target-dir".into(), dir.display().to_string()]);
    }
    let built = build::build(
        args.plugin.clone(),
        cargo_args,
        &build::Additions::default(),
    )?;
    let mut exe = built.target_dir.join(&built.profile_dir);
    if kind == "example" {
        exe = exe.join("examples");
    }
    let exe = exe.join(&args.name);
    term::status(&format!("running {}", exe.display()));
    let status = Command::new(&exe)
        .args(&args.args)
        .env("HALLOWS_REPORT_DIR", &built.report_dir)
        .status()
        .with_context(|| format!("failed to run {}", exe.display()))?;
    if !status.success() {
        return Err(ExitStatusError(status.code().unwrap_or(1)).into());
    }
    Ok(())
}

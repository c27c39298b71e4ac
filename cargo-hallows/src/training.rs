//! Training workloads: the runs `cargo hallows profile` collects its profiles from.
//!
//! A package declares them in its manifest, so that one `cargo hallows profile` trains on every
//! representative input at once (the profiles of all runs are merged into one):
//!
//! ```toml
//! [[package.metadata.hallows.training]]
//! bin = "interp"                 # or `example = "NAME"`
//! args = ["--seed", "1"]         # optional: the program's arguments
//! name = "interp, seed 1"        # optional: the label on the progress line
//! ```
//!
//! `--bin NAME` / `--example NAME` on the command line train on that one target with the
//! arguments after `--` instead. Every mistake in the table is an error naming the key and what
//! to write instead; nothing is guessed.

use crate::cargo::{Metadata, Package};
use anyhow::{bail, Result};
use serde_json::Value;

/// The manifest table workloads are declared in, as users write it.
const TABLE: &str = "package.metadata.hallows";

/// Keys allowed in `[package.metadata.hallows]`.
const HALLOWS_KEYS: &[&str] = &["training"];

/// Keys allowed in one `[[package.metadata.hallows.training]]` entry.
const WORKLOAD_KEYS: &[&str] = &["bin", "example", "args", "name"];

/// One training run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Package holding the target.
    pub package: String,
    /// `bin` or `example`.
    pub kind: &'static str,
    /// Target name.
    pub target: String,
    /// The program's arguments.
    pub args: Vec<String>,
    /// Label for status and progress lines.
    pub label: String,
}

impl Workload {
    /// A workload given on the command line (`--bin`/`--example` and `-- ARGS`).
    pub fn from_cli(package: &str, kind: &'static str, target: &str, args: &[String]) -> Workload {
        Workload {
            package: package.to_string(),
            kind,
            target: target.to_string(),
            args: args.to_vec(),
            label: label(target, args),
        }
    }
}

/// `target arg arg ...`.
fn label(target: &str, args: &[String]) -> String {
    std::iter::once(target)
        .chain(args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The workloads declared by the workspace members (only `package`, when given), in manifest
/// order.
pub fn declared_in(metadata: &Metadata, package: Option<&str>) -> Result<Vec<Workload>> {
    let mut all = Vec::new();
    for p in metadata
        .packages
        .iter()
        .filter(|p| package.is_none_or(|want| want == p.name))
    {
        all.extend(declared(p)?);
    }
    Ok(all)
}

/// The workloads `package` declares (none when it has no `[package.metadata.hallows]`).
pub fn declared(package: &Package) -> Result<Vec<Workload>> {
    let Some(hallows) = package.metadata.as_ref().and_then(|m| m.get("hallows")) else {
        return Ok(Vec::new());
    };
    let where_ = format!("`[{TABLE}]` of package `{}`", package.name);
    let Value::Object(table) = hallows else {
        bail!("{where_} must be a table, found {}", describe(hallows));
    };
    if let Some(key) = table.keys().find(|k| !HALLOWS_KEYS.contains(&k.as_str())) {
        bail!(
            "unknown key `{key}` in {where_}; expected {}",
            list(HALLOWS_KEYS)
        );
    }
    let Some(training) = table.get("training") else {
        return Ok(Vec::new());
    };
    let Value::Array(entries) = training else {
        bail!(
            "`{TABLE}.training` of package `{}` must be an array of tables (write `[[{TABLE}.training]]` with `bin = \"NAME\"`), found {}",
            package.name,
            describe(training)
        );
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| workload(package, i + 1, entry))
        .collect()
}

/// Validates entry number `n` (1-based, as a user counts `[[...]]` tables).
fn workload(package: &Package, n: usize, entry: &Value) -> Result<Workload> {
    let where_ = format!(
        "training workload {n} of package `{}` (`[[{TABLE}.training]]`)",
        package.name
    );
    let Value::Object(fields) = entry else {
        bail!("{where_} must be a table, found {}", describe(entry));
    };
    if let Some(key) = fields.keys().find(|k| !WORKLOAD_KEYS.contains(&k.as_str())) {
        bail!(
            "unknown key `{key}` in {where_}; expected {}",
            list(WORKLOAD_KEYS)
        );
    }
    let (kind, target) = match (fields.get("bin"), fields.get("example")) {
        (Some(_), Some(_)) => bail!("{where_} names both `bin` and `example`; keep one"),
        (None, None) => {
            bail!("{where_} names no program; add `bin = \"NAME\"` or `example = \"NAME\"`")
        }
        (Some(v), None) => ("bin", string(v, "bin", &where_)?),
        (None, Some(v)) => ("example", string(v, "example", &where_)?),
    };
    let available: Vec<&str> = package
        .targets
        .iter()
        .filter(|t| t.kind.iter().any(|k| k == kind))
        .map(|t| t.name.as_str())
        .collect();
    if !available.contains(&target.as_str()) {
        let have = if available.is_empty() {
            format!("it has no {kind} targets")
        } else {
            format!("its {kind} targets are {}", list(&available))
        };
        bail!(
            "{where_} names {kind} `{target}`, which package `{}` does not have; {have}",
            package.name
        );
    }
    let args = match fields.get("args") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => bail!(
                    "argument {} of {where_} must be a string, found {}; quote it (`\"{}\"`)",
                    i + 1,
                    describe(other),
                    other
                ),
            })
            .collect::<Result<_>>()?,
        Some(other) => bail!(
            "`args` of {where_} must be an array of strings (`args = [\"--seed\", \"1\"]`), found {}",
            describe(other)
        ),
    };
    let label = match fields.get("name") {
        None => label(&target, &args),
        Some(v) => string(v, "name", &where_)?,
    };
    Ok(Workload {
        package: package.name.clone(),
        kind,
        target,
        args,
        label,
    })
}

/// `value` as a non-empty string, or an error about `key`.
fn string(value: &Value, key: &str, where_: &str) -> Result<String> {
    match value {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::String(_) => bail!("`{key}` of {where_} is empty"),
        other => bail!(
            "`{key}` of {where_} must be a string, found {}",
            describe(other)
        ),
    }
}

/// What kind of TOML value `value` came from, for messages.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

/// "`a`, `b` or `c`".
fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cargo::Target;
    use serde_json::json;

    fn package(metadata: Value) -> Package {
        Package {
            name: "app".into(),
            targets: vec![
                Target {
                    name: "app".into(),
                    kind: vec!["bin".into()],
                },
                Target {
                    name: "tool".into(),
                    kind: vec!["bin".into()],
                },
                Target {
                    name: "demo".into(),
                    kind: vec!["example".into()],
                },
            ],
            metadata: Some(metadata),
        }
    }

    fn error(metadata: Value) -> String {
        declared(&package(metadata)).unwrap_err().to_string()
    }

    #[test]
    fn reads_workloads_in_order() {
        let got = declared(&package(json!({"hallows": {"training": [
            {"bin": "app", "args": ["--seed", "1"]},
            {"example": "demo", "name": "the demo"},
        ]}})))
        .unwrap();
        assert_eq!(
            got,
            vec![
                Workload {
                    package: "app".into(),
                    kind: "bin",
                    target: "app".into(),
                    args: vec!["--seed".into(), "1".into()],
                    label: "app --seed 1".into(),
                },
                Workload {
                    package: "app".into(),
                    kind: "example",
                    target: "demo".into(),
                    args: vec![],
                    label: "the demo".into(),
                },
            ]
        );
    }

    #[test]
    fn no_table_means_no_workloads() {
        let mut p = package(json!(null));
        p.metadata = None;
        assert!(declared(&p).unwrap().is_empty());
        assert!(declared(&package(json!({"other-tool": {"x": 1}})))
            .unwrap()
            .is_empty());
        assert!(declared(&package(json!({"hallows": {}})))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn rejects_malformed_tables_with_what_to_write() {
        assert!(error(json!({"hallows": 3})).contains("must be a table, found a number"));
        let e = error(json!({"hallows": {"trainig": []}}));
        assert!(
            e.contains("unknown key `trainig`") && e.contains("expected `training`"),
            "{e}"
        );
        let e = error(json!({"hallows": {"training": {"bin": "app"}}}));
        assert!(
            e.contains("must be an array of tables")
                && e.contains("[[package.metadata.hallows.training]]"),
            "{e}"
        );
        let e = error(json!({"hallows": {"training": ["app"]}}));
        assert!(
            e.contains("workload 1") && e.contains("must be a table"),
            "{e}"
        );
        let e =
            error(json!({"hallows": {"training": [{"bin": "app"}, {"bin": "app", "arg": []}]}}));
        assert!(
            e.contains("workload 2") && e.contains("unknown key `arg`"),
            "{e}"
        );
        let e = error(json!({"hallows": {"training": [{"bin": "app", "example": "demo"}]}}));
        assert!(e.contains("both `bin` and `example`"), "{e}");
        let e = error(json!({"hallows": {"training": [{"args": []}]}}));
        assert!(
            e.contains("names no program") && e.contains("bin = \"NAME\""),
            "{e}"
        );
        let e = error(json!({"hallows": {"training": [{"bin": 7}]}}));
        assert!(
            e.contains("`bin`") && e.contains("must be a string, found a number"),
            "{e}"
        );
        let e = error(json!({"hallows": {"training": [{"bin": ""}]}}));
        assert!(e.contains("`bin`") && e.contains("is empty"), "{e}");
        let e = error(json!({"hallows": {"training": [{"bin": "app", "args": "--fast"}]}}));
        assert!(
            e.contains("`args`") && e.contains("array of strings") && e.contains("found a string"),
            "{e}"
        );
        let e = error(json!({"hallows": {"training": [{"bin": "app", "args": ["-n", 5]}]}}));
        assert!(
            e.contains("argument 2") && e.contains("found a number") && e.contains("\"5\""),
            "{e}"
        );
    }

    #[test]
    fn rejects_targets_the_package_does_not_have() {
        let e = error(json!({"hallows": {"training": [{"bin": "demo"}]}}));
        assert!(
            e.contains("names bin `demo`") && e.contains("its bin targets are `app` or `tool`"),
            "{e}"
        );
        let mut p = package(json!({"hallows": {"training": [{"example": "x"}]}}));
        p.targets.retain(|t| t.kind[0] == "bin");
        let e = declared(&p).unwrap_err().to_string();
        assert!(e.contains("it has no example targets"), "{e}");
    }

    #[test]
    fn filters_by_package() {
        let metadata = Metadata {
            target_directory: "t".into(),
            workspace_root: "w".into(),
            packages: vec![package(json!({"hallows": {"training": [{"bin": "app"}]}}))],
        };
        assert_eq!(declared_in(&metadata, None).unwrap().len(), 1);
        assert_eq!(declared_in(&metadata, Some("app")).unwrap().len(), 1);
        assert!(declared_in(&metadata, Some("other")).unwrap().is_empty());
    }
}

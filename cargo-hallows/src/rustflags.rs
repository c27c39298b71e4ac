//! The user's own rustflags, computed the way cargo computes them, so cargo-hallows can add its
//! flags without clobbering the user's.
//!
//! Cargo takes rustflags from the first of these sources that is set (they are not combined):
//! 1. `CARGO_ENCODED_RUSTFLAGS` (flags separated by `\x1f`),
//! 2. `RUSTFLAGS` (separated by whitespace),
//! 3. every matching `[target.<triple>] rustflags` and `[target.'cfg(..)'] rustflags`, joined,
//! 4. `[build] rustflags`.
//!
//! Config values come from `.cargo/config.toml` (or `.cargo/config`) in the current directory and
//! each of its parents, then `$CARGO_HOME/config.toml`; deeper files take precedence, arrays are
//! joined with higher-precedence items last, other values are replaced (see "Hierarchical
//! structure" in the Cargo book's configuration chapter). Environment variables
//! `CARGO_BUILD_RUSTFLAGS` and `CARGO_TARGET_<TRIPLE>_RUSTFLAGS` add to the matching keys.
//! cargo-hallows passes the merged result plus its own flags as `CARGO_ENCODED_RUSTFLAGS`.

use anyhow::{bail, Context as _, Result};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use toml::Value;

/// A snapshot of the environment variables that matter, so tests can supply their own.
pub type Env = BTreeMap<String, String>;

/// Reads the current process environment into an [`Env`].
pub fn current_env() -> Env {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Cargo configuration merged from every config file that applies to a directory.
#[derive(Debug, Clone, Default)]
pub struct CargoConfig {
    /// The merged table.
    pub table: toml::Table,
    /// Files read, lowest precedence first.
    pub files: Vec<PathBuf>,
}

impl CargoConfig {
    /// Loads and merges the config files that cargo reads when started in `cwd`.
    pub fn load(cwd: &Path, cargo_home: Option<&Path>) -> Result<CargoConfig> {
        // Highest precedence first, as cargo discovers them.
        let mut found: Vec<PathBuf> = Vec::new();
        for dir in cwd.ancestors() {
            if let Some(file) = config_file_in(&dir.join(".cargo")) {
                found.push(file);
            }
        }
        if let Some(home) = cargo_home {
            if let Some(file) = config_file_in(home) {
                let canonical = file.canonicalize().unwrap_or_else(|_| file.clone());
                let already = found
                    .iter()
                    .any(|f| f.canonicalize().map(|c| c == canonical).unwrap_or(false));
                if !already {
                    found.push(file);
                }
            }
        }
        let mut config = CargoConfig::default();
        for file in found.into_iter().rev() {
            config.merge_file(file)?;
        }
        Ok(config)
    }

    /// Reads the config file `file` and merges it with higher precedence than what is merged so far.
    fn merge_file(&mut self, file: PathBuf) -> Result<()> {
        let text = fs::read_to_string(&file)
            .with_context(|| format!("failed to read {}", file.display()))?;
        let table: toml::Table = text.parse().with_context(|| {
            format!(
                "failed to parse {} as TOML; fix it so cargo can read it too",
                file.display()
            )
        })?;
        self.merge(table);
        self.files.push(file);
        Ok(())
    }

    /// Merges cargo's `--config` arguments, which take precedence over every config file: each is
    /// either `KEY=VALUE` in TOML (`build.rustflags=["-Ctarget-cpu=native"]`) or the path of an
    /// extra config file, relative to `cwd`. Later arguments take precedence over earlier ones,
    /// as in cargo.
    pub fn merge_cli_args(&mut self, args: &[String], cwd: &Path) -> Result<()> {
        for arg in args {
            let path = cwd.join(arg);
            if path.is_file() || arg.ends_with(".toml") {
                self.merge_file(path)
                    .with_context(|| format!("in the config file given with `--config {arg}`"))?;
                continue;
            }
            let table: toml::Table = arg.parse().map_err(|err: toml::de::Error| {
                anyhow::anyhow!(
                    "`--config {arg}` is neither a config file nor a TOML `KEY=VALUE` \
                     (e.g. `--config 'build.rustflags=[\"-Ctarget-cpu=native\"]'`): {}",
                    err.to_string().trim()
                )
            })?;
            if table.len() != 1 {
                bail!("`--config {arg}` must set exactly one key (`KEY=VALUE`), as cargo requires");
            }
            self.merge(table);
        }
        Ok(())
    }

    /// Merges `higher` (a higher-precedence file) into this config.
    pub fn merge(&mut self, higher: toml::Table) {
        merge_tables(&mut self.table, higher);
    }

    /// Looks up a dotted key path, e.g. `["build", "rustflags"]`.
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        let (last, parents) = path.split_last()?;
        let mut table = &self.table;
        for key in parents {
            table = table.get(*key)?.as_table()?;
        }
        table.get(*last)
    }

    /// The `build.target` triple, if configured as a single string.
    pub fn build_target(&self) -> Option<String> {
        match self.get(&["build", "target"])? {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) if a.len() == 1 => a[0].as_str().map(str::to_string),
            _ => None,
        }
    }
}

fn config_file_in(dir: &Path) -> Option<PathBuf> {
    // Cargo prefers the extension-less legacy name when both exist.
    ["config", "config.toml"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

fn merge_tables(lower: &mut toml::Table, higher: toml::Table) {
    for (key, value) in higher {
        match (lower.get_mut(&key), value) {
            (Some(Value::Table(old)), Value::Table(new)) => merge_tables(old, new),
            (Some(Value::Array(old)), Value::Array(new)) => old.extend(new),
            (_, new) => {
                lower.insert(key, new);
            }
        }
    }
}

/// Where the user's effective rustflags came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagSource {
    /// `CARGO_ENCODED_RUSTFLAGS`.
    EncodedEnv,
    /// `RUSTFLAGS`.
    Env,
    /// `[target.<triple>]` / `[target.'cfg(..)']` rustflags.
    Target,
    /// `[build] rustflags` (or `CARGO_BUILD_RUSTFLAGS`).
    Build,
    /// No rustflags anywhere.
    None,
}

/// The user's rustflags and their source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFlags {
    /// Where they came from.
    pub source: FlagSource,
    /// The flags, one argument each.
    pub flags: Vec<String>,
}

/// One `--print cfg` entry of the target: `unix` is `("unix", None)`, `target_os="linux"` is
/// `("target_os", Some("linux"))`.
pub type CfgEntry = (String, Option<String>);

/// Computes the user's rustflags for compiling for `target` from `env` and `config`.
/// `target_cfg` is called only when a `[target.'cfg(..)']` table has rustflags.
pub fn user_rustflags(
    env: &Env,
    config: &CargoConfig,
    target: &str,
    target_cfg: &mut dyn FnMut() -> Result<Vec<CfgEntry>>,
) -> Result<UserFlags> {
    if let Some(encoded) = env.get("CARGO_ENCODED_RUSTFLAGS") {
        let flags = if encoded.is_empty() {
            Vec::new()
        } else {
            encoded.split('\x1f').map(str::to_string).collect()
        };
        return Ok(UserFlags {
            source: FlagSource::EncodedEnv,
            flags,
        });
    }
    if let Some(plain) = env.get("RUSTFLAGS") {
        let flags = plain.split_whitespace().map(str::to_string).collect();
        return Ok(UserFlags {
            source: FlagSource::Env,
            flags,
        });
    }

    let mut target_flags: Option<Vec<String>> = None;
    if let Some(Value::Table(targets)) = config.get(&["target"]) {
        if let Some(value) = targets.get(target).and_then(|t| t.get("rustflags")) {
            target_flags
                .get_or_insert_with(Vec::new)
                .extend(flag_list(value, &format!("target.{target}.rustflags"))?);
        }
        let mut cfgs: Option<Vec<CfgEntry>> = None;
        for (key, table) in targets {
            let Some(expr) = key.strip_prefix("cfg(").and_then(|k| k.strip_suffix(')')) else {
                continue;
            };
            let Some(value) = table.get("rustflags") else {
                continue;
            };
            if cfgs.is_none() {
                cfgs = Some(target_cfg()?);
            }
            let parsed = CfgExpr::parse(expr).with_context(|| {
                format!("failed to parse `[target.'{key}']` in the cargo config")
            })?;
            if parsed.matches(cfgs.as_deref().unwrap_or_default()) {
                target_flags
                    .get_or_insert_with(Vec::new)
                    .extend(flag_list(value, &format!("target.'{key}'.rustflags"))?);
            }
        }
    }
    let env_key = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        target.to_uppercase().replace(['-', '.'], "_")
    );
    if let Some(extra) = env.get(&env_key) {
        target_flags
            .get_or_insert_with(Vec::new)
            .extend(extra.split_whitespace().map(str::to_string));
    }
    if let Some(flags) = target_flags {
        return Ok(UserFlags {
            source: FlagSource::Target,
            flags,
        });
    }

    let mut build_flags: Option<Vec<String>> = None;
    if let Some(value) = config.get(&["build", "rustflags"]) {
        build_flags = Some(flag_list(value, "build.rustflags")?);
    }
    if let Some(extra) = env.get("CARGO_BUILD_RUSTFLAGS") {
        build_flags
            .get_or_insert_with(Vec::new)
            .extend(extra.split_whitespace().map(str::to_string));
    }
    match build_flags {
        Some(flags) => Ok(UserFlags {
            source: FlagSource::Build,
            flags,
        }),
        None => Ok(UserFlags {
            source: FlagSource::None,
            flags: Vec::new(),
        }),
    }
}

/// Reads a rustflags value: a whitespace-separated string or an array of strings.
fn flag_list(value: &Value, key: &str) -> Result<Vec<String>> {
    match value {
        Value::String(s) => Ok(s.split_whitespace().map(str::to_string).collect()),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => bail!("`{key}` in the cargo config must hold strings, found `{other}`"),
            })
            .collect(),
        other => bail!(
            "`{key}` in the cargo config must be a string or an array of strings, found `{other}`"
        ),
    }
}

/// Joins flags the way `CARGO_ENCODED_RUSTFLAGS` expects.
pub fn encode(flags: &[String]) -> String {
    flags.join("\x1f")
}

/// The user's `rustc-wrapper`: `RUSTC_WRAPPER` if set (empty disables it), else `build.rustc-wrapper`.
pub fn user_rustc_wrapper(env: &Env, config: &CargoConfig) -> Option<String> {
    if let Some(w) = env.get("RUSTC_WRAPPER") {
        return (!w.is_empty()).then(|| w.clone());
    }
    if let Some(w) = env.get("CARGO_BUILD_RUSTC_WRAPPER") {
        return (!w.is_empty()).then(|| w.clone());
    }
    config
        .get(&["build", "rustc-wrapper"])
        .and_then(Value::as_str)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
}

/// A parsed `cfg(..)` predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CfgExpr {
    /// `name` or `name = "value"`.
    Is(String, Option<String>),
    /// `all(..)`.
    All(Vec<CfgExpr>),
    /// `any(..)`.
    Any(Vec<CfgExpr>),
    /// `not(..)`.
    Not(Box<CfgExpr>),
}

impl CfgExpr {
    /// Parses the inside of `cfg(...)`.
    pub fn parse(text: &str) -> Result<CfgExpr> {
        let tokens = tokenize(text)?;
        let mut pos = 0;
        let expr = parse_expr(&tokens, &mut pos)?;
        if pos != tokens.len() {
            bail!("unexpected `{}` in `cfg({text})`", tokens[pos]);
        }
        Ok(expr)
    }

    /// Evaluates against the target's `--print cfg` entries.
    pub fn matches(&self, cfgs: &[CfgEntry]) -> bool {
        match self {
            CfgExpr::Is(name, value) => cfgs.iter().any(|(n, v)| n == name && v == value),
            CfgExpr::All(items) => items.iter().all(|e| e.matches(cfgs)),
            CfgExpr::Any(items) => items.iter().any(|e| e.matches(cfgs)),
            CfgExpr::Not(inner) => !inner.matches(cfgs),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<String>> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if matches!(c, '(' | ')' | ',' | '=') {
            tokens.push(c.to_string());
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::from("\"");
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(ch) => s.push(ch),
                    None => bail!("unterminated string in `cfg({text})`"),
                }
            }
            tokens.push(s);
        } else if c.is_alphanumeric() || c == '_' {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_alphanumeric() || ch == '_' {
                    s.push(ch);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(s);
        } else {
            bail!("unexpected character `{c}` in `cfg({text})`");
        }
    }
    Ok(tokens)
}

fn parse_expr(tokens: &[String], pos: &mut usize) -> Result<CfgExpr> {
    let Some(name) = tokens.get(*pos) else {
        bail!("expected a cfg predicate, found the end")
    };
    if name.starts_with('"') || matches!(name.as_str(), "(" | ")" | "," | "=") {
        bail!("expected a cfg name, found `{name}`");
    }
    *pos += 1;
    match tokens.get(*pos).map(String::as_str) {
        Some("(") => {
            *pos += 1;
            let mut items = Vec::new();
            while tokens.get(*pos).map(String::as_str) != Some(")") {
                items.push(parse_expr(tokens, pos)?);
                match tokens.get(*pos).map(String::as_str) {
                    Some(",") => *pos += 1,
                    Some(")") => {}
                    other => bail!(
                        "expected `,` or `)`, found `{}`",
                        other.unwrap_or("the end")
                    ),
                }
            }
            *pos += 1;
            match name.as_str() {
                "all" => Ok(CfgExpr::All(items)),
                "any" => Ok(CfgExpr::Any(items)),
                "not" if items.len() == 1 => Ok(CfgExpr::Not(Box::new(items.remove(0)))),
                "not" => bail!("`not` takes exactly one predicate"),
                other => bail!("expected `all`, `any` or `not`, found `{other}`"),
            }
        }
        Some("=") => {
            *pos += 1;
            match tokens.get(*pos) {
                Some(v) if v.starts_with('"') => {
                    *pos += 1;
                    Ok(CfgExpr::Is(name.clone(), Some(v[1..].to_string())))
                }
                other => bail!(
                    "expected a string after `{name} =`, found `{}`",
                    other.map_or("the end", |s| s.as_str())
                ),
            }
        }
        _ => Ok(CfgExpr::Is(name.clone(), None)),
    }
}

/// Parses `rustc --print cfg` output.
pub fn parse_print_cfg(text: &str) -> Vec<CfgEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| match line.split_once('=') {
            Some((k, v)) => (
                k.trim().to_string(),
                Some(v.trim().trim_matches('"').to_string()),
            ),
            None => (line.trim().to_string(), None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfg_expressions_evaluate() {
        let cfgs = parse_print_cfg("unix\ntarget_os=\"linux\"\ntarget_arch=\"x86_64\"\n");
        assert!(CfgExpr::parse("unix").unwrap().matches(&cfgs));
        assert!(CfgExpr::parse("all(unix, target_arch = \"x86_64\")")
            .unwrap()
            .matches(&cfgs));
        assert!(!CfgExpr::parse("any(windows, target_os = \"macos\")")
            .unwrap()
            .matches(&cfgs));
        assert!(CfgExpr::parse("not(windows)").unwrap().matches(&cfgs));
        assert!(CfgExpr::parse("all(unix,").is_err());
        assert!(CfgExpr::parse("foo(unix)").is_err());
    }

    #[test]
    fn cli_config_args_merge_last() {
        let dir = std::env::temp_dir().join(format!("hallows-cfgargs-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("extra.toml"),
            "[build]\nrustflags = [\"-Cfile\"]\n",
        )
        .unwrap();
        let mut config = CargoConfig::default();
        config.merge("[build]\nrustflags = [\"-Chome\"]".parse().unwrap());
        let args = [
            "extra.toml".to_string(),
            "build.rustflags=[\"-Ccli\"]".to_string(),
            "build.target=\"t\"".to_string(),
        ];
        config.merge_cli_args(&args, &dir).unwrap();
        let flags: Vec<&str> = config
            .get(&["build", "rustflags"])
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(flags, ["-Chome", "-Cfile", "-Ccli"]);
        assert_eq!(config.build_target().as_deref(), Some("t"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_cli_config_args_are_errors() {
        let cwd = std::env::temp_dir();
        let mut config = CargoConfig::default();
        let err = config
            .merge_cli_args(&["build.rustflags=[".to_string()], &cwd)
            .unwrap_err();
        assert!(
            err.to_string().contains("neither a config file nor"),
            "{err}"
        );
        let err = config
            .merge_cli_args(&["no-such-file.toml".to_string()], &cwd)
            .unwrap_err();
        assert!(format!("{err:#}").contains("no-such-file.toml"), "{err:#}");
    }

    #[test]
    fn arrays_join_and_strings_replace() {
        let mut config = CargoConfig::default();
        config.merge(
            "[build]\nrustflags = [\"-a\"]\ntarget = \"x\""
                .parse()
                .unwrap(),
        );
        config.merge(
            "[build]\nrustflags = [\"-b\"]\ntarget = \"y\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            config
                .get(&["build", "rustflags"])
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(config.build_target().as_deref(), Some("y"));
    }
}

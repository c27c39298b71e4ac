//! The user's rustflags are computed the way cargo computes them (so cargo-hallows can append
//! its own without clobbering them): environment first, then `[target]` tables, then `[build]`,
//! with config files merged along the directory hierarchy.

use cargo_hallows::rustflags::{self, CargoConfig, Env, FlagSource, UserFlags};
use std::fs;
use std::path::PathBuf;

const HOST: &str = "x86_64-unknown-linux-gnu";

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn config(toml: &str) -> CargoConfig {
    let mut config = CargoConfig::default();
    config.merge(toml.parse().expect("test config parses"));
    config
}

fn linux_cfg() -> anyhow::Result<Vec<rustflags::CfgEntry>> {
    Ok(rustflags::parse_print_cfg(
        "debug_assertions\npanic=\"unwind\"\ntarget_arch=\"x86_64\"\ntarget_os=\"linux\"\nunix\n",
    ))
}

fn flags(env: &Env, config: &CargoConfig) -> UserFlags {
    rustflags::user_rustflags(env, config, HOST, &mut linux_cfg).expect("flags resolve")
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn encoded_env_wins_over_everything() {
    let config = config("[build]\nrustflags = [\"-Cbuild\"]\n[target.x86_64-unknown-linux-gnu]\nrustflags = [\"-Ctarget\"]");
    let env = env(&[
        ("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1fa b"),
        ("RUSTFLAGS", "-Cplain"),
    ]);
    let got = flags(&env, &config);
    assert_eq!(got.source, FlagSource::EncodedEnv);
    assert_eq!(got.flags, strings(&["--cfg", "a b"]));
}

#[test]
fn empty_encoded_env_means_no_flags() {
    let got = flags(
        &env(&[("CARGO_ENCODED_RUSTFLAGS", "")]),
        &config("[build]\nrustflags = [\"-Cx\"]"),
    );
    assert_eq!(
        got,
        UserFlags {
            source: FlagSource::EncodedEnv,
            flags: vec![]
        }
    );
}

#[test]
fn rustflags_env_is_split_on_whitespace_and_beats_config() {
    let config = config("[build]\nrustflags = [\"-Cbuild\"]");
    let got = flags(
        &env(&[("RUSTFLAGS", "  -C  target-cpu=native --cfg x ")]),
        &config,
    );
    assert_eq!(got.source, FlagSource::Env);
    assert_eq!(
        got.flags,
        strings(&["-C", "target-cpu=native", "--cfg", "x"])
    );
}

#[test]
fn target_tables_beat_build_and_are_joined() {
    let config = config(
        "[build]\nrustflags = [\"-Cbuild\"]\n\
         [target.x86_64-unknown-linux-gnu]\nrustflags = [\"--cfg\", \"triple\"]\n\
         [target.'cfg(unix)']\nrustflags = \"--cfg unix_flag\"\n\
         [target.'cfg(windows)']\nrustflags = [\"--cfg\", \"windows_flag\"]\n\
         [target.'cfg(all(target_os = \"linux\", not(target_arch = \"arm\")))']\nrustflags = [\"--cfg\", \"linux_flag\"]",
    );
    let got = flags(&env(&[]), &config);
    assert_eq!(got.source, FlagSource::Target);
    assert_eq!(got.flags[..2], strings(&["--cfg", "triple"]));
    assert!(
        got.flags.contains(&"unix_flag".to_string()),
        "{:?}",
        got.flags
    );
    assert!(
        got.flags.contains(&"linux_flag".to_string()),
        "{:?}",
        got.flags
    );
    assert!(
        !got.flags.contains(&"windows_flag".to_string()),
        "{:?}",
        got.flags
    );
    assert!(
        !got.flags.contains(&"-Cbuild".to_string()),
        "{:?}",
        got.flags
    );
}

#[test]
fn target_table_of_another_triple_does_not_apply() {
    let config = config("[build]\nrustflags = \"-Cbuild\"\n[target.aarch64-unknown-linux-gnu]\nrustflags = [\"-Carm\"]");
    let got = flags(&env(&[]), &config);
    assert_eq!(
        got,
        UserFlags {
            source: FlagSource::Build,
            flags: strings(&["-Cbuild"])
        }
    );
}

#[test]
fn target_env_variable_adds_to_target_flags() {
    let got = flags(
        &env(&[(
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
            "--cfg from_env",
        )]),
        &config(""),
    );
    assert_eq!(
        got,
        UserFlags {
            source: FlagSource::Target,
            flags: strings(&["--cfg", "from_env"])
        }
    );
}

#[test]
fn build_env_variable_adds_to_build_flags() {
    let got = flags(
        &env(&[("CARGO_BUILD_RUSTFLAGS", "-Cenv")]),
        &config("[build]\nrustflags = [\"-Cfile\"]"),
    );
    assert_eq!(
        got,
        UserFlags {
            source: FlagSource::Build,
            flags: strings(&["-Cfile", "-Cenv"])
        }
    );
}

#[test]
fn no_flags_anywhere() {
    assert_eq!(
        flags(&env(&[]), &config("")),
        UserFlags {
            source: FlagSource::None,
            flags: vec![]
        }
    );
}

#[test]
fn malformed_rustflags_are_an_error() {
    let err = rustflags::user_rustflags(
        &env(&[]),
        &config("[build]\nrustflags = 3"),
        HOST,
        &mut linux_cfg,
    )
    .unwrap_err();
    assert!(err.to_string().contains("build.rustflags"), "{err}");
}

#[test]
fn cfg_table_asks_for_target_cfg_only_when_needed() {
    let mut asked = 0;
    let mut cfg = || {
        asked += 1;
        linux_cfg()
    };
    rustflags::user_rustflags(
        &env(&[]),
        &config("[build]\nrustflags = [\"-Cx\"]"),
        HOST,
        &mut cfg,
    )
    .unwrap();
    assert_eq!(asked, 0);
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("rustflags-merging")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn config_files_merge_along_the_directory_hierarchy() {
    let root = scratch("hierarchy");
    let inner = root.join("project").join("crate");
    fs::create_dir_all(inner.join(".cargo")).unwrap();
    fs::create_dir_all(root.join(".cargo")).unwrap();
    let home = root.join("cargo-home");
    fs::create_dir_all(&home).unwrap();
    fs::write(
        root.join(".cargo/config.toml"),
        "[build]\nrustflags = [\"--cfg\", \"outer\"]\ntarget-dir = \"outer\"\n",
    )
    .unwrap();
    fs::write(
        inner.join(".cargo/config.toml"),
        "[build]\nrustflags = [\"--cfg\", \"inner\"]\ntarget-dir = \"inner\"\n",
    )
    .unwrap();
    fs::write(
        home.join("config.toml"),
        "[build]\nrustflags = [\"--cfg\", \"home\"]\n",
    )
    .unwrap();

    let config = CargoConfig::load(&inner, Some(&home)).unwrap();
    let got = flags(&env(&[]), &config);
    let position = |flag: &str| {
        got.flags
            .iter()
            .position(|f| f == flag)
            .unwrap_or_else(|| panic!("{flag} missing: {:?}", got.flags))
    };
    // Arrays join with higher-precedence (deeper) files last; plain values are replaced.
    assert!(
        position("home") < position("outer") && position("outer") < position("inner"),
        "{:?}",
        got.flags
    );
    assert_eq!(
        config
            .get(&["build", "target-dir"])
            .and_then(|v| v.as_str()),
        Some("inner")
    );
    assert_eq!(
        config.files.last().unwrap(),
        &inner.join(".cargo/config.toml")
    );
}

#[test]
fn broken_config_file_names_the_file() {
    let root = scratch("broken");
    fs::create_dir_all(root.join(".cargo")).unwrap();
    fs::write(root.join(".cargo/config.toml"), "[build\nrustflags = ").unwrap();
    let err = CargoConfig::load(&root, None).unwrap_err();
    assert!(format!("{err:#}").contains(".cargo/config.toml"), "{err:#}");
}

#[test]
fn user_wrapper_comes_from_env_then_config() {
    let config = config("[build]\nrustc-wrapper = \"sccache\"");
    assert_eq!(
        rustflags::user_rustc_wrapper(&env(&[]), &config).as_deref(),
        Some("sccache")
    );
    assert_eq!(
        rustflags::user_rustc_wrapper(&env(&[("RUSTC_WRAPPER", "/bin/w")]), &config).as_deref(),
        Some("/bin/w")
    );
    assert_eq!(
        rustflags::user_rustc_wrapper(&env(&[("RUSTC_WRAPPER", "")]), &config),
        None
    );
}

#[test]
fn encoding_uses_the_unit_separator() {
    assert_eq!(
        rustflags::encode(&strings(&["--cfg", "a b", "-Cx"])),
        "--cfg\x1fa b\x1f-Cx"
    );
}

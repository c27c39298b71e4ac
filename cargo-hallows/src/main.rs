//! Entry point of `cargo-hallows`: the `cargo hallows` subcommand, or cargo's rustc wrapper when
//! `cargo hallows build` started cargo with it.
#![deny(unsafe_op_in_unsafe_fn)]

use cargo_hallows::cli::{Cli, Command};
use cargo_hallows::commands::{self, build::ExitStatusError};
use cargo_hallows::{term, wrapper};
use clap::Parser as _;
use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if wrapper::is_wrapper_invocation(&args) {
        let Err(err) = wrapper::run(args);
        term::error(&err);
        return ExitCode::from(1);
    }
    // `cargo hallows x` runs `cargo-hallows hallows x`.
    if args.get(1).is_some_and(|a| a == "hallows") {
        args.remove(1);
    }
    let cli = Cli::parse_from(args);
    let result = match cli.command {
        Command::Build(a) => commands::build::run(a.plugin, a.cargo_args),
        Command::Report(a) => commands::report::run(a),
        Command::Doctor(a) => commands::doctor::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::Profile(a) => commands::profile::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(ExitStatusError(code)) = err.downcast_ref::<ExitStatusError>() {
                return ExitCode::from(u8::try_from(*code).unwrap_or(1));
            }
            term::error(&err);
            ExitCode::from(1)
        }
    }
}

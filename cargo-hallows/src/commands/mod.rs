//! One module per subcommand.

pub mod build;
pub mod doctor;
pub mod profile;
pub mod report;
pub mod run;

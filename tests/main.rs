//! The one integration-test binary (each extra binary would link DataFusion again).

mod change;
mod cli;
mod commands;
mod common;
mod data_checks;
mod diagnostics;
mod differential;
mod docs;
mod example;
mod files;
mod fmt;
mod hardening;
mod hostile_data;
mod ingest;
mod keywords;
mod papercuts;
mod parse;
mod per;
mod real_data;
mod real_files;
mod report_output;
mod row_functions;
mod spc;
mod trust;
mod values;
mod workflow;

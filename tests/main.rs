//! The one integration-test binary (each extra binary would link DataFusion again).

mod change;
mod cli;
mod common;
mod diagnostics;
mod differential;
mod docs;
mod example;
mod files;
mod hardening;
mod hostile_data;
mod ingest;
mod papercuts;
mod parse;
mod per;
mod real_data;
mod real_files;
mod report_output;
mod row_functions;
mod trust;
mod values;
mod workflow;

//! The one integration-test binary (each extra binary would link DataFusion again).

mod browser;
mod cache;
mod change;
mod cli;
#[cfg(feature = "cluster")]
mod cluster;
mod commands;
mod common;
mod data_checks;
mod diagnostics;
mod differential;
mod docs;
mod example;
mod files;
mod fmt;
mod glance;
mod hardening;
mod hostile_data;
mod ingest;
mod keywords;
mod kpi_checks;
mod papercuts;
mod parse;
mod per;
mod privacy;
mod real_data;
mod real_files;
mod report_output;
mod report_pages;
mod row_functions;
mod spc;
mod streaming;
mod trust;
mod values;
mod warehouse;
mod workflow;

//! The one integration-test binary (each extra binary would link DataFusion again).

mod cli;
mod common;
mod diagnostics;
mod docs;
mod example;
mod hardening;
mod ingest;
mod parse;
mod real_data;
mod values;

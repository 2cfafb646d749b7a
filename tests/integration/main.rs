//! The integration tests, as one test binary: each module drives the real router and the
//! built-in identity provider over real HTTP. One binary instead of one per file keeps the
//! link step (the slowest part of a test build on two cores) and the disk use small.
//!
//! `tests/logging.rs` stays a binary of its own because it installs a process-wide log
//! subscriber.

#[path = "../common/mod.rs"]
mod common;

mod auth_flow;
mod conformance;
mod cross_site;
mod dev_loop;
mod hostile_input;
mod instances;
mod islands;
mod logout_and_errors;
mod production;
mod provider_faults;
mod recipes;
mod redirects;
mod resilience;
mod shared_store;
mod sso;
mod token_kinds;
mod webhooks;

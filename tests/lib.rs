//! Integration tests: the real `mpm` binary in temp directories. One test binary
//! (faster to link); one module per area.

mod harness;
/// The HTTP server of `fetch`'s unit tests, for tests of registries: std only.
#[path = "../src/fetch/test_server.rs"]
mod server;

mod apply;
mod budget;
mod cache;
pub mod claude_mpm;
mod completions;
mod config;
mod crash;
mod damaged;
mod diff;
mod doctor;
mod errors;
mod examples;
mod faults;
mod init;
mod input;
mod links;
mod lock;
mod memo;
mod plan;
mod readonly;
mod real_client;
mod registry;
pub mod registry_git;
mod registry_http;
mod review;
mod rollback;
mod saved;
mod schema;
mod settings;
mod tokens;
mod usage;
mod version;
mod watch;

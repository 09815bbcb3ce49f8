//! Integration tests: the real `mpm` binary in temp directories. One test binary
//! (faster to link); one module per area.

mod harness;

mod apply;
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
pub mod registry_git;
mod review;
mod rollback;
mod saved;
mod schema;
mod settings;
mod watch;

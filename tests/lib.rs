//! Integration tests: the real `mpm` binary in temp directories. One test binary
//! (faster to link); one module per area.

mod harness;

mod apply;
pub mod claude_mpm;
mod crash;
mod diff;
mod errors;
mod examples;
mod init;
mod lock;
mod plan;
mod real_client;
mod rollback;
mod schema;

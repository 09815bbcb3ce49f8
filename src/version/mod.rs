//! Versions from history: commits read as Conventional Commits, the next version they call for, and the changelog they make.

pub mod changelog;
pub mod conventional;
pub mod edit;
pub mod rules;

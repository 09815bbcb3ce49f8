//! Versions from history: commits read as Conventional Commits, the next version
//! they call for, the files that carry it, and the changelogs they make.

pub mod bump;
pub mod changelog;
pub mod conventional;
pub mod edit;
pub mod rules;
pub mod subjects;
pub mod write;

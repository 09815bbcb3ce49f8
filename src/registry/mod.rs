//! Registries: shared sources of agents. `index` is the static JSON index format;
//! `build` makes one from a folder of templates and agent files.

pub mod build;
pub mod index;

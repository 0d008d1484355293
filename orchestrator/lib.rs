//! wharf: a declarative container orchestrator for compose projects.
//!
//! The crate follows the data flow in `docs/architecture.md`: `spec` loads compose files into a
//! typed `Model`, `graph` orders its services, and later stages converge a Docker Engine on it.

pub mod backend;
pub mod cli;
pub mod converge;
pub mod desired;
pub mod dns;
pub mod engine;
pub mod execute;
pub mod graph;
pub mod observe;
pub mod outcome;
pub mod plan;
pub mod restart;
pub mod spec;
pub mod supervisor;
pub mod watch;

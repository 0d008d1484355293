//! Loading compose files into the canonical `Model`.

pub mod compose_json;
pub mod de;
pub mod diagnostic;
pub mod discover;
pub mod docker_config;
pub mod dotenv;
pub mod extends;
pub mod file_digests;
pub mod go_text;
pub mod include;
pub mod interpolate;
pub mod legacy;
pub mod load;
pub mod merge;
pub mod model;
pub mod name;
pub mod normalize;
pub mod paths;
pub mod profiles;
pub mod removed;
pub mod shellwords;
pub mod short;
pub mod suggest;
pub mod unapplied;
pub mod validate;
pub mod yaml;

pub use diagnostic::Diagnostic;
pub use load::{LoadOptions, Project, given_name, load};
pub use model::Model;

//! Loading compose files into the canonical `Model`.

pub mod dotenv;
pub mod interpolate;

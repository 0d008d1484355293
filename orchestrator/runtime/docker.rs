//! The real runtime: the Docker Engine through bollard.

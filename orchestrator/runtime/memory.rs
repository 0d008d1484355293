//! An in-memory engine for the reconciler's unit tests.

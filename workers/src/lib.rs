//! Background jobs: the inline runner (tests, tiny sites) and the durable apalis runtime on the
//! application's own database (SQLite or Postgres). Handlers call one domain function each and
//! hold no rules.

pub mod deadlines;
pub mod jobs;
pub mod runtime;
pub mod supervise;

//! stoa-workers

//! Background jobs (apalis): file scans, recurring payments, AI moderation. Handlers call one domain
//! function each, as a system actor, and hold no rules. The job runtime arrives with the files issue
//! (#4); until then this crate only fixes the layer.

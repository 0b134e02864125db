//! Helpdesk tickets (#21, in progress): so far the one transition table and the function that
//! applies it. Nothing outside this module calls it yet; the store, the API and the jobs come next.

pub mod transitions;

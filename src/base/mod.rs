//! The foundation every layer reads: the operator's settings, the time of day, the kinds
//! of journal events, the pair of hashes, and the rule for errors. Nothing here knows a camera, a store or a
//! command.

pub mod clock;
pub mod config;
pub mod digest;
pub mod error;
pub mod events;
pub mod units;

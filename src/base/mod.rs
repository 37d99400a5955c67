//! The foundation every layer reads: the operator's settings, the time of day, the kinds
//! of journal events, and the pair of hashes. Nothing here knows a camera, a store or a
//! command.

pub mod clock;
pub mod config;
pub mod digest;
pub mod events;
pub mod units;

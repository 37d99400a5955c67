//! Custody: what the service keeps and answers for. The store (files proven on disk), the
//! register (the one SQL door: recordings, custody, perception, audit), their one opener,
//! and the scrub that checks both against each other. Uses `camera` and `base`.

pub mod opener;
pub mod register;
pub mod scrub;
pub mod store;

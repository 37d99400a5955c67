//! The daemon's answers to register commands, typed: `commands` builds them, the control
//! socket carries them as a reply's `data`, and `sentinel-dockctl` and the console read
//! them back with [`decode`] instead of picking a JSON value apart.
//!
//! Each struct serialises to exactly the JSON that `sentinel-dockctl --json` prints, so
//! scripts see no change; a command's additions go into its struct here.

mod perception;
mod recordings;
mod register;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use perception::{Issued, Returned};

pub(crate) use perception::{AgentAdded, Attributed, CameraEnrolled, RegisterPrinted};
pub use recordings::Found;
pub(crate) use recordings::{CustodyEntry, FoundRecording, RecordingFacts, Shown, TrackPoint};
pub use register::{Activity, Consulted, Extracted, Held, Released};
pub(crate) use register::{
    AuditVerified, ByPurpose, Daily, Forecast, HeldFor, KeptAfterCollection, Needed, PurgePlanned,
    Scrubbed,
};

/// A reply's data as JSON, for the wire (a typed reply always encodes: its fields are
/// strings, numbers and lists).
pub fn encode(reply: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(reply).unwrap_or_else(|e| {
        tracing::error!("a typed reply did not encode as JSON: {e}");
        serde_json::Value::Null
    })
}

/// A reply's data read back as the type its command answers.
pub fn decode<T: DeserializeOwned>(data: &serde_json::Value) -> Result<T, DecodeError> {
    T::deserialize(data).map_err(|e| DecodeError {
        what: std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("reply")
            .to_string(),
        detail: e.to_string(),
    })
}

/// A reply that is not what its command answers (a daemon of another version?).
#[derive(Debug, thiserror::Error)]
#[error(
    "sentinel-dockd's answer is not a `{what}` reply (are sentinel-dockd and this client the same version?): {detail}"
)]
pub struct DecodeError {
    /// The reply type expected.
    pub what: String,
    /// What did not match.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_travels_and_comes_back_typed() {
        let held = Held {
            procedure: "PV 12".into(),
            held: vec!["SNTL-1_20260101_000000_0001".into()],
        };
        let wire = encode(&held);
        assert_eq!(
            wire,
            serde_json::json!({"procedure": "PV 12", "held": ["SNTL-1_20260101_000000_0001"]})
        );
        assert_eq!(decode::<Held>(&wire).unwrap(), held);
    }

    #[test]
    fn a_reply_of_the_wrong_shape_is_named() {
        let err = decode::<Consulted>(&serde_json::json!({"procedure": "x"})).unwrap_err();
        assert_eq!(err.what, "Consulted");
        assert!(err.to_string().contains("missing field"), "{err}");
    }
}

//! Replies of the perception register's commands.

use serde::{Deserialize, Serialize};

use crate::app::api::request::View;
use crate::custody::register::perception::{Agent, Attribution};

/// `agent add`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AgentAdded {
    /// The agent as recorded.
    pub agent: Agent,
}

/// `camera enroll`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CameraEnrolled {
    /// The camera's serial.
    pub serial: String,
    /// Its model, when given.
    pub model: Option<String>,
}

/// `issue`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issued {
    /// The issue's register id.
    pub issue: i64,
    /// The camera.
    pub camera: String,
    /// The agent's matricule.
    pub agent: String,
    /// When it was issued (RFC 3339, UTC).
    pub at: String,
}

/// `return`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Returned {
    /// The issue that ended.
    pub issue: i64,
    /// The camera.
    pub camera: String,
    /// The agent who held it.
    pub agent: String,
    /// When it was returned (RFC 3339, UTC).
    pub returned_at: String,
}

/// `attribute`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Attributed {
    /// The recording.
    pub recording: String,
    /// The attribution recorded.
    pub attribution: Attribution,
}

/// `register print`: one view's rows, each a column name → value map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RegisterPrinted {
    /// Which view.
    pub view: View,
    /// The camera asked for, if any.
    pub camera: Option<String>,
    /// The agent asked for, if any.
    pub agent: Option<String>,
    /// Start of the period (RFC 3339, UTC).
    pub from: String,
    /// End of the period (RFC 3339, UTC).
    pub to: String,
    /// The rows, in the view's order.
    pub rows: Vec<std::collections::BTreeMap<String, String>>,
}

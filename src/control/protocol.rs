//! What `sentinel-dockctl` and the daemon say to each other: JSON lines over the control
//! socket, one request object a line, one response object a line.
//!
//! To add a command: a variant in [`Request`] (its fields are its arguments), a variant in
//! [`Response`] for its answer, and an arm in `dispatch`. A response may carry an open file
//! descriptor beside its line (SCM_RIGHTS), e.g. a read-only recording for a consultation.

use serde::{Deserialize, Serialize};

use crate::status::StatusReport;

/// The longest request line the daemon reads.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The longest response line a client reads.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// One request: `{"command": "status"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// The dock's status: cameras, store, RAID. (A struct variant, even without fields,
    /// so that an unknown argument is refused rather than ignored.)
    Status {},
}

/// One response: `{"status": {...}}` or `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Response {
    /// The answer to [`Request::Status`].
    Status(Box<StatusReport>),
    /// The request was not served.
    Error(ErrorReply),
}

/// Why a request was not served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What kind of failure, for scripts.
    pub code: ErrorCode,
    /// What happened and what to do, for people.
    pub message: String,
}

/// Kinds of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The line is not a request this daemon knows.
    BadRequest,
    /// The caller may not do this.
    Refused,
    /// The service cannot answer now (it is stopping).
    Unavailable,
    /// Something failed inside the daemon; its log says what.
    Internal,
}

impl Response {
    /// An error response.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Response {
        Response::Error(ErrorReply {
            code,
            message: message.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_by_command_and_strict() {
        let r: Request = serde_json::from_str(r#"{"command":"status"}"#).unwrap();
        assert_eq!(r, Request::Status {});
        assert_eq!(
            serde_json::to_string(&Request::Status {}).unwrap(),
            r#"{"command":"status"}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"command":"wipe-all"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"command":"status","x":1}"#).is_err());
    }

    #[test]
    fn errors_carry_a_code_and_a_message() {
        let json = serde_json::to_string(&Response::error(ErrorCode::BadRequest, "no")).unwrap();
        assert_eq!(json, r#"{"error":{"code":"bad-request","message":"no"}}"#);
    }
}

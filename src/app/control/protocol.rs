//! What `sentinel-dockctl` and the daemon say to each other: JSON lines over the control
//! socket, one request object a line, one response object a line.
//!
//! A request is `{"command":"status"}`, or a register command exactly as
//! [`commands::Command`](crate::app::api::request::Command) serialises it, e.g.
//! `{"command":"consult","args":{"recording":"SNTL-00042_20180312_143015_0001",
//! "purpose":"judicial","reason":"PV 12"}}`: the arguments typed on the command line and the
//! ones sent have one definition (`commands/cli.rs`). A response may carry an open file
//! descriptor beside its line (SCM_RIGHTS): the recording of a consultation.

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::app::api::request::Command;
use crate::app::status::StatusReport;

/// The longest request line the daemon reads.
pub(crate) const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The longest response line a client reads.
pub(crate) const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// One request.
// A request is made once per connection and moved, never stored by the thousand: the
// few bytes a command's arguments (search's filters) weigh are not worth a box that every
// caller would have to build.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// The dock's status: cameras, store, RAID (`{"command":"status"}`).
    Status,
    /// A register command, run for the caller if its role allows it.
    Command(Command),
}

impl Serialize for Request {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Request::Status => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("command", "status")?;
                map.end()
            }
            Request::Command(command) => command.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Request, D::Error> {
        // Decided by the `command` key, so that a bad register command is refused with
        // the register command's own message (an untagged enum would only say "no match").
        let value = serde_json::Value::deserialize(deserializer)?;
        let is_status = value.get("command").and_then(|c| c.as_str()) == Some("status");
        if is_status {
            return match value.as_object().map(|o| o.len()) {
                Some(1) => Ok(Request::Status),
                _ => Err(D::Error::custom("`status` takes no arguments")),
            };
        }
        Command::deserialize(value)
            .map(Request::Command)
            .map_err(D::Error::custom)
    }
}

/// One response: `{"status": {...}}`, `{"reply": {...}}` or
/// `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Response {
    /// The answer to [`Request::Status`].
    Status(Box<StatusReport>),
    /// The answer to a register command.
    Reply(CommandReply),
    /// The request was not served.
    Error(ErrorReply),
}

/// What a register command answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandReply {
    /// For people: what `sentinel-dockctl` prints (in the `--format` asked for, if any).
    pub message: String,
    /// The same facts for programs (`sentinel-dockctl --json`).
    pub data: serde_json::Value,
    /// False when the command ran but found something wrong (`audit verify` on a broken
    /// chain, a purge waiting for confirmation).
    pub success: bool,
    /// True when a file descriptor comes with this line (a consultation's recording).
    pub file: bool,
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
    /// The caller may not do this; the refusal is in the audit register.
    Refused,
    /// The command was understood but cannot be carried out as given (unknown recording,
    /// missing requisition, `--to` outside `extract.root`...).
    Invalid,
    /// The command failed on a file or the register; nothing unproven was handed out.
    Failed,
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
    use crate::app::api::request::{AuditCommand, AuditVerifyArgs, PurgeArgs};

    #[test]
    fn requests_are_tagged_by_command_and_strict() {
        let r: Request = serde_json::from_str(r#"{"command":"status"}"#).unwrap();
        assert_eq!(r, Request::Status);
        assert_eq!(
            serde_json::to_string(&Request::Status).unwrap(),
            r#"{"command":"status"}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"command":"wipe-all"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"command":"status","x":1}"#).is_err());
    }

    #[test]
    fn a_register_command_travels_in_its_own_shape() {
        let purge = Request::Command(Command::Purge(PurgeArgs {
            dry_run: true,
            confirm: None,
        }));
        let text = serde_json::to_string(&purge).unwrap();
        assert_eq!(
            text,
            r#"{"command":"purge","args":{"dry_run":true,"confirm":null}}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), purge);
        let verify = Request::Command(Command::Audit(AuditCommand::Verify(AuditVerifyArgs {
            head: None,
        })));
        let text = serde_json::to_string(&verify).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), verify);
    }

    #[test]
    fn a_misspelt_argument_is_refused_not_defaulted() {
        // `dryrun` silently ignored would turn a dry run into a purge.
        let err = serde_json::from_str::<Request>(
            r#"{"command":"purge","args":{"dryrun":true,"dry_run":false,"confirm":null}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("dryrun"), "{err}");
        let err =
            serde_json::from_str::<Request>(r#"{"command":"consult","args":{}}"#).unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err}");
    }

    #[test]
    fn errors_carry_a_code_and_a_message() {
        let json = serde_json::to_string(&Response::error(ErrorCode::BadRequest, "no")).unwrap();
        assert_eq!(json, r#"{"error":{"code":"bad-request","message":"no"}}"#);
    }
}

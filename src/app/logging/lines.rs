//! Readable lines on standard error, for a terminal, a test or a pipe.
//!
//! The same events as in the journal, but a person reads these: the 32-digit
//! `message_id` is shown as the event's short name (`event=camera-docked`).

use std::fmt;
use std::io::IsTerminal;

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::registry::LookupSpan;

use crate::base::events;

/// A layer writing one line per event on standard error.
pub fn layer<S>() -> impl tracing_subscriber::Layer<S> + Send + Sync
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let fields = tracing_subscriber::fmt::format::debug_fn(write_field).delimited(" ");
    tracing_subscriber::fmt::layer()
        .fmt_fields(fields)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
}

/// Writes one field: the message as is, `message_id` as the event's name, others as `k=v`.
fn write_field(w: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug) -> fmt::Result {
    match field.name() {
        "message" => write!(w, "{value:?}"),
        "message_id" => {
            // A `&str` field reaches us through Debug, quoted: the id itself is plain hex.
            let id = format!("{value:?}");
            let id = id.trim_matches('"');
            match event_name(id) {
                Some(name) => write!(w, "event={name}"),
                None => write!(w, "message_id={id}"),
            }
        }
        name => write!(w, "{name}={value:?}"),
    }
}

/// The short name of the event kind with this journal id.
pub(crate) fn event_name(id: &str) -> Option<&'static str> {
    events::ALL.iter().find(|k| k.id == id).map(|k| k.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_have_their_names_and_unknown_ones_none() {
        assert_eq!(event_name(events::CAMERA_DOCKED.id), Some("camera-docked"));
        assert_eq!(event_name("00000000000000000000000000000000"), None);
    }
}

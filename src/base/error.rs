//! The crate's one rule for errors, and the one way to show an error to a person.
//!
//! # The rule
//!
//! - Every error is typed (`thiserror`), in the module whose work failed. Its message says
//!   what failed, naming the thing (the file, the camera, the recording, the key), and what
//!   a person can do about it.
//! - **A message never repeats its source.** When an error has a cause (a field named
//!   `source`, or marked `#[source]` or `#[from]`), its message does not interpolate it:
//!   the cause is reached through [`std::error::Error::source`], and says itself once.
//!   `#[error(transparent)]` is the one way to show a cause's words as one's own (the
//!   error then has the cause's source, not the cause).
//! - A foreign error whose message already repeats its own source (the SQLite binding's
//!   failure without a message shows the engine's code, then gives it as its source) is
//!   not made a source: the message that wraps it carries its words, and the chain ends
//!   there. So is an error that travels inside an `io::Error`, which readers print whole.
//! - Nothing removes repeated text afterwards: no dedupe. A chain that says a cause twice
//!   is a bug in the error that repeats it (the test `tests::no_message_repeats_its_source`
//!   and the integration test `errors::` catch it).
//!
//! # Where an error becomes text
//!
//! Whoever shows an error to a person shows the whole chain, each cause once, with
//! [`Chain`] (`"outer: cause: cause"`); `anyhow`'s `{:#}` prints the same line in the two
//! binaries. An error's own `Display` (`{e}`, `e.to_string()`) is its first link only, and
//! is right only where the causes are shown beside it or do not matter to the reader
//! (matching on a variant, a test asserting on the top message). The places that turn an
//! error into text, and all use the chain:
//!
//! - the binaries' last words on standard error (`sentinel-dockd`, `sentinel-dockctl`);
//! - replies to a control-socket client (`app::control`, `app::commands`), which the
//!   console shows as they come;
//! - the session outcome written in the register (`finish_session`), the reasons a
//!   recording is retried or left on the camera, and the warnings of an ingest's summary;
//! - journal fields and messages (`tracing`), and the service's status document.

use std::error::Error;
use std::fmt;

/// An error and every cause under it, on one line: `"outer: cause: cause"`.
///
/// Each link is written once, as its own `Display` says it; nothing is removed, so an
/// error that repeats its source shows the repetition (see the module's rule).
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn Error + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The whole chain of `error` as a `String`, for a reply, a register row or a status.
pub fn chain(error: &(dyn Error + '_)) -> String {
    Chain(error).to_string()
}

/// The first link of `error`'s chain whose message contains its own source's message, if
/// any: the break of the rule that tests look for.
pub fn repeated_source<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a (dyn Error + 'static)> {
    let mut link = Some(error);
    while let Some(e) = link {
        let source = e.source()?;
        let cause = source.to_string();
        if !cause.is_empty() && e.to_string().contains(&cause) {
            return Some(e);
        }
        link = Some(source);
    }
    None
}

#[cfg(test)]
mod tests;

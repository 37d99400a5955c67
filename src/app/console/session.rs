//! The one-time token, the sessions it opens (an HttpOnly, SameSite=Strict cookie), each
//! session's CSRF token, language and the recordings it has opened for viewing.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::base::config::Language;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "sentinel_session";

/// A recording opened for this session by a traced consultation.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The descriptor the daemon passed.
    pub file: Arc<File>,
    /// Its size, as the register says.
    pub size: u64,
}

/// One browser's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token every form carries.
    pub csrf: String,
    /// The language chosen (the configured one until switched).
    pub language: Option<Language>,
    /// Recordings opened by a consultation, by stem.
    pub opened: HashMap<String, Opened>,
}

#[derive(Debug, Default)]
struct Inner {
    token: Option<String>,
    sessions: HashMap<String, Session>,
}

/// The token not yet used, and the sessions.
#[derive(Debug)]
pub struct Sessions {
    first: String,
    inner: Mutex<Inner>,
}

impl Sessions {
    /// A fresh one-time token.
    pub fn new() -> std::io::Result<Sessions> {
        let token = random_hex()?;
        Ok(Sessions {
            first: token.clone(),
            inner: Mutex::new(Inner {
                token: Some(token),
                sessions: HashMap::new(),
            }),
        })
    }

    /// The one-time token printed in the first URL.
    pub fn token(&self) -> &str {
        &self.first
    }

    /// A new one-time token in place of any unused one (SIGUSR1: a way back in without a
    /// restart); the sessions already open go on.
    pub(crate) fn renew(&self) -> std::io::Result<String> {
        let token = random_hex()?;
        self.lock().token = Some(token.clone());
        Ok(token)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A handler that panicked left the map whole: each change is one insert or remove.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Exchanges the one-time token for a new session id; `None` when the token is wrong
    /// or was already used.
    pub(crate) fn exchange(&self, token: &str) -> Option<String> {
        let mut inner = self.lock();
        let expected = inner.token.as_deref()?;
        if !constant_time_eq(expected.as_bytes(), token.as_bytes()) {
            return None;
        }
        inner.token = None;
        let id = random_hex().ok()?;
        let csrf = random_hex().ok()?;
        inner.sessions.insert(
            id.clone(),
            Session {
                csrf,
                language: None,
                opened: HashMap::new(),
            },
        );
        Some(id)
    }

    /// The session with this id.
    pub fn get(&self, id: &str) -> Option<Session> {
        self.lock().sessions.get(id).cloned()
    }

    /// Changes a session.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut Session)) {
        if let Some(s) = self.lock().sessions.get_mut(id) {
            change(s);
        }
    }
}

/// The session id in a `Cookie` header.
pub(crate) fn from_cookie(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, v)| v)
}

/// Whether two secrets are equal, in a time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// 32 random bytes from the kernel, as hex.
fn random_hex() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_opens_one_session_only() {
        let s = Sessions::new().unwrap();
        let token = s.token().to_string();
        assert!(s.exchange("wrong").is_none());
        let id = s.exchange(&token).unwrap();
        assert!(s.get(&id).is_some());
        assert!(s.exchange(&token).is_none(), "a token is used once");
        let renewed = s.renew().unwrap();
        assert!(s.exchange(&token).is_none(), "the old token stays spent");
        let second = s.exchange(&renewed).unwrap();
        assert!(s.get(&id).is_some() && s.get(&second).is_some());
        assert!(
            s.exchange(&renewed).is_none(),
            "a renewed token is used once too"
        );
        assert_eq!(
            from_cookie(&format!("a=b; {COOKIE}={id}")),
            Some(id.as_str())
        );
    }
}

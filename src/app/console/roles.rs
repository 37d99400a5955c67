//! The console shaped by the operator's role: the menu lists only the pages the role may
//! use, a technician lands on the dock, and a page his role may not use is answered here
//! without asking the daemon, so that merely opening the console writes no refusal into
//! the audit register. The daemon stays the judge: every action (a form sent) still goes
//! to it, and a refused action is still traced there.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::Console;
use super::i18n::t;
use crate::app::commands::access::{REGISTER_ROLES, Role, role_of};
use crate::base::config::AccessConfig;

/// The role `[access]` gives the Unix user running the console, if any.
pub(crate) fn of_this_user(access: &AccessConfig) -> Option<Role> {
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()?;
    role_of(access, &user.name)
}

/// Whether the console's user may see recordings and registers (the daemon's own rule).
pub(crate) fn may_use_registers(console: &Console) -> bool {
    !console.kiosk && console.role.is_some_and(|r| REGISTER_ROLES.contains(&r))
}

/// Where `/` leads: the search for those who may search, the dock for everyone else.
pub fn home(console: &Console) -> &'static str {
    if may_use_registers(console) {
        "/recordings"
    } else {
        "/dock"
    }
}

/// In front of the register pages: a page (GET, HEAD) the role may not use is answered 403
/// here, in the session's language, without a request to the daemon; forms (POST) go on
/// to the daemon, which refuses them and traces the refusal.
pub async fn guard(State(console): State<Arc<Console>>, request: Request, next: Next) -> Response {
    let reading = request.method() == Method::GET || request.method() == Method::HEAD;
    if !reading || may_use_registers(&console) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Some(a) = super::http::authed(&parts, &console) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let page = html! {
        p.error #not-for-role data-refused="true" { (t(a.lang, "error.role")) }
        p { a href="/dock" { (t(a.lang, "error.role.back")) } }
    };
    (
        StatusCode::FORBIDDEN,
        super::pages::layout(&console, &a, t(a.lang, "error.title"), page),
    )
        .into_response()
}

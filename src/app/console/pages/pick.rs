//! Choosing instead of typing: tick-boxes on search results that feed the extraction and
//! hold forms, the same two acts on a recording's page, and the agents' suggestions.

use maud::{Markup, html};

use super::recording::plain_stem;
use crate::app::api::replies::RegisterPrinted;
use crate::app::console::i18n::t;
use crate::base::config::Language;

/// The recordings a form was opened with (`?recording=A&recording=B`), each once, names
/// that cannot be a recording's left out.
pub(crate) fn stems_in(pairs: &[(String, String)]) -> Vec<String> {
    let mut stems: Vec<String> = Vec::new();
    for (k, v) in pairs {
        let v = v.trim();
        if k == "recording" && plain_stem(v) && !stems.iter().any(|s| s == v) {
            stems.push(v.to_string());
        }
    }
    stems
}

/// The form the result tick-boxes belong to (`form="pick"`), with its two acts.
pub(crate) fn picker(lang: Language) -> Markup {
    html! {
        form #pick .acts method="get" action="/extract" {
            span { (t(lang, "pick.hint")) }
            button.primary type="submit" formaction="/extract" { (t(lang, "pick.extract")) }
            button.primary type="submit" formaction="/hold" { (t(lang, "pick.hold")) }
        }
    }
}

/// A result row's tick-box: its value is the recording's stem.
pub(crate) fn tick(lang: Language, stem: &str) -> Markup {
    html! {
        td.tick {
            input type="checkbox" name="recording" value=(stem) form="pick"
                aria-label={ (t(lang, "pick.one")) " " (stem) };
        }
    }
}

/// Extract and hold one recording, from its own page.
pub fn acts(lang: Language, stem: &str) -> Markup {
    html! {
        div.acts #acts {
            a.button href={ "/extract?recording=" (stem) } { (t(lang, "pick.extract.one")) }
            a.button href={ "/hold?recording=" (stem) } { (t(lang, "pick.hold.one")) }
        }
    }
}

/// The recordings chosen, each a link to its page; a hint when none was.
pub fn chosen(lang: Language, stems: &[String]) -> Markup {
    html! {
        @if stems.is_empty() {
            p.notice #chosen-none { (t(lang, "pick.none")) " " a href="/recordings" { (t(lang, "pick.search")) } }
        } @else {
            div #chosen {
                (t(lang, "pick.chosen")) " (" (stems.len()) ")"
                ul { @for s in stems { li data-recording=(s) { a href={ "/recordings/" (s) } { (s) } } } }
            }
        }
    }
}

/// The agents' suggestions for the search, asked of the daemon (none when it cannot say).
pub(crate) async fn known_agents(console: &crate::app::console::Console) -> Markup {
    use crate::app::api::request::{Command, Format, RegisterCommand, RegisterPrintArgs, View};
    let print = Command::Register(RegisterCommand::Print(RegisterPrintArgs {
        camera: None,
        agent: None,
        from: None,
        to: None,
        view: View::Issues,
        format: Format::Json,
    }));
    let issues =
        crate::app::console::daemon::ask::<RegisterPrinted>(console.socket.clone(), print).await;
    agents(issues.as_ref().ok())
}

/// The agents the perception register knows (from its issues), as suggestions for a
/// field of `list="agents"`: each matricule with the agent's name and brigade.
pub fn agents(issues: Option<&RegisterPrinted>) -> Markup {
    let mut seen: Vec<(String, String)> = Vec::new();
    for row in issues.map(|p| p.rows.as_slice()).unwrap_or_default() {
        let get = |c: &str| row.get(c).cloned().unwrap_or_default();
        let (matricule, name, brigade) = (get("agent"), get("name"), get("brigade"));
        if matricule.is_empty() || seen.iter().any(|(m, _)| *m == matricule) {
            continue;
        }
        let label = if brigade.is_empty() {
            name
        } else {
            format!("{name} ({brigade})")
        };
        seen.push((matricule, label));
    }
    seen.sort();
    html! {
        datalist #agents {
            @for (m, label) in &seen { option value=(m) label=(label) { (label) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recordings_chosen_are_plain_stems_each_once() {
        let pairs = vec![
            ("recording".to_string(), "A_1".to_string()),
            ("csrf".to_string(), "x".to_string()),
            ("recording".to_string(), "A_1".to_string()),
            ("recording".to_string(), "../etc".to_string()),
            ("recording".to_string(), " B_2 ".to_string()),
        ];
        assert_eq!(stems_in(&pairs), ["A_1", "B_2"]);
    }
}

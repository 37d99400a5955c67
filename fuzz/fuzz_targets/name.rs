//! File and day-folder names: no panic, accepted names round-trip, errors are escaped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentinel_dock::base::config::Profile;
use sentinel_dock::camera::evidence::{RecordingName, escape_name, parse_day_dir};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let profile = Profile::default();
    match RecordingName::parse(&profile, text) {
        // Only a name exactly of the profile's form is accepted, so rebuilding it from
        // the parsed fields gives the same name back.
        Ok((name, kind)) => assert_eq!(name.file_name(&profile, kind), text),
        Err(err) => {
            let message = err.to_string();
            assert!(!message.chars().any(char::is_control), "{message:?}");
        }
    }
    if let Some(day) = parse_day_dir(text) {
        assert_eq!(day.format("%Y%m%d").to_string(), text);
    }
    assert!(
        escape_name(text)
            .chars()
            .all(|c| c.is_ascii() && !c.is_control())
    );
});

//! The console's search pages for `scripts/bench --force`: each page's query
//! (`custody::register::search`, in a read transaction, as `sentinel-dockctl search` and
//! the console run it) timed on one register, PostgreSQL or SQLite, `--runs` times.
//!
//! Usage: force_search (--url URI | --sqlite FILE) --last-day YYYY-MM-DD [--runs N]
//!        [--camera S] [--agent M]
//! Prints one JSON line: each page's name, seconds of each run, rows and whether more.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, Days, NaiveDate, Utc};
use clap::Parser;
use sentinel_dock::base::config::RegisterConfig;
use sentinel_dock::custody::register::Register;
use sentinel_dock::custody::register::search::{self, SearchQuery};

/// Times the console's search pages (see the file's header).
#[derive(Parser, Debug)]
struct Args {
    /// A PostgreSQL register (libpq's URI).
    #[arg(long, conflicts_with = "sqlite", required_unless_present = "sqlite")]
    url: Option<String>,
    /// An SQLite register.
    #[arg(long)]
    sqlite: Option<PathBuf>,
    /// The register's last day of recordings (the month searched ends 90 days before).
    #[arg(long)]
    last_day: NaiveDate,
    /// Runs of each page.
    #[arg(long, default_value_t = 5)]
    runs: u32,
    /// The camera searched.
    #[arg(long, default_value = "SNTL-00003")]
    camera: String,
    /// The agent searched.
    #[arg(long, default_value = "PM-0105")]
    agent: String,
}

/// The console's page: 50 rows, one more to know whether a next page exists.
const PER_PAGE: u32 = 50;

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("force_search: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn day(d: NaiveDate) -> Option<DateTime<Utc>> {
    d.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
}

fn pages(args: &Args) -> Vec<(&'static str, SearchQuery)> {
    let page = |n: u64| SearchQuery {
        limit: PER_PAGE + 1,
        offset: (n - 1) * u64::from(PER_PAGE),
        ..Default::default()
    };
    let month = (
        day(args.last_day - Days::new(120)),
        day(args.last_day - Days::new(90)),
    );
    let camera = Some(args.camera.clone());
    let agent = Some(args.agent.clone());
    // Around 200 m of the town's centre, as `--near 45.0433,5.0512 --radius 200` asks.
    let (dlat, dlon) = (
        200.0 / 111_320.0,
        200.0 / (111_320.0 * 45.0433_f64.to_radians().cos()),
    );
    vec![
        ("first page", page(1)),
        ("page 20", page(20)),
        ("page 200", page(200)),
        (
            "a month",
            SearchQuery {
                start: month.0,
                end: month.1,
                ..page(1)
            },
        ),
        (
            "a camera",
            SearchQuery {
                camera: camera.clone(),
                ..page(1)
            },
        ),
        (
            "a camera, page 20",
            SearchQuery {
                camera: camera.clone(),
                ..page(20)
            },
        ),
        (
            "a camera + a month",
            SearchQuery {
                camera,
                start: month.0,
                end: month.1,
                ..page(1)
            },
        ),
        (
            "an agent",
            SearchQuery {
                agent: agent.clone(),
                ..page(1)
            },
        ),
        (
            "an agent, page 20",
            SearchQuery {
                agent: agent.clone(),
                ..page(20)
            },
        ),
        (
            "an agent + a month",
            SearchQuery {
                agent,
                start: month.0,
                end: month.1,
                ..page(1)
            },
        ),
        (
            "brigade VTT",
            SearchQuery {
                brigade: Some("VTT".into()),
                ..page(1)
            },
        ),
        (
            "state quarantined",
            SearchQuery {
                state: Some("quarantined".into()),
                ..page(1)
            },
        ),
        (
            "flag clock-drift",
            SearchQuery {
                flag: Some("clock-drift".into()),
                ..page(1)
            },
        ),
        (
            "held",
            SearchQuery {
                held: Some(true),
                ..page(1)
            },
        ),
        (
            "place 200 m",
            SearchQuery {
                area: Some((45.0433 - dlat, 45.0433 + dlat, 5.0512 - dlon, 5.0512 + dlon)),
                ..page(1)
            },
        ),
    ]
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = RegisterConfig {
        path: args.sqlite.clone().unwrap_or_default(),
        url: args.url.clone(),
        password_file: None,
    };
    let mut register = Register::open_config(&config, "").context("opening the register")?;
    let mut out = Vec::new();
    for (name, q) in pages(&args) {
        let mut seconds = Vec::new();
        let mut found = Vec::new();
        for _ in 0..args.runs {
            let t0 = Instant::now();
            found = register
                .read()
                .and_then(|tx| search::search(&tx, &q))
                .with_context(|| format!("page {name}"))?;
            seconds.push(t0.elapsed().as_secs_f64());
        }
        let more = found.len() > PER_PAGE as usize;
        out.push(serde_json::json!({
            "page": name, "seconds": seconds, "rows": found.len().min(PER_PAGE as usize),
            "more": more,
        }));
    }
    println!("{}", serde_json::Value::Array(out));
    Ok(())
}

//! The arguments of `sentinel-dockctl`'s register commands, defined once for clap and for
//! the JSON request sent over the daemon's socket (serde), so each has one name everywhere.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

/// A register command, as typed on the command line and as sent to the daemon.
#[derive(Debug, Clone, PartialEq, Subcommand, Serialize, Deserialize)]
#[serde(
    tag = "command",
    content = "args",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
pub enum Command {
    /// Agents of the perception register.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Cameras of the service.
    #[command(subcommand)]
    Camera(CameraCommand),
    /// Issue a camera to an agent (the start of a shift).
    Issue(IssueArgs),
    /// Record a camera's return by hand (a docking counts as a return by itself).
    Return(ReturnArgs),
    /// Attribute a recording that needs attention to an agent, with a reason.
    Attribute(AttributeArgs),
    /// Open a recording read-only for viewing, stating a purpose (traced first).
    Consult(ConsultArgs),
    /// Extract recordings to a BagIt bag for a procedure (traced first; places a hold).
    Extract(ExtractArgs),
    /// Keep recordings past their retention for a procedure.
    Hold(HoldArgs),
    /// Release a procedure's hold.
    Release(ReleaseArgs),
    /// Delete recordings whose retention is over (see first with --dry-run).
    Purge(PurgeArgs),
    /// The audit register.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The activity report for a period (days of use, storage, consultations, extractions).
    Report(ReportArgs),
    /// Storage needed under 30-day and 180-day retention at the observed rate.
    Forecast(ForecastArgs),
    /// The perception register.
    #[command(subcommand)]
    Register(RegisterCommand),
    /// Read every stored file back from disk and compare it with the register; exit status
    /// 1 when anything is changed, missing, unexpected or unreadable (traced, and shown in
    /// the status until a scrub finds nothing wrong).
    Scrub(ScrubArgs),
    /// Find recordings by period, camera, agent, brigade, state, flag, hold, place or site.
    Search(SearchArgs),
    /// One recording's facts, GPS track and custody timeline (no footage is read).
    Show(ShowArgs),
    /// Make an anonymised derivative for training (faces blurred, voice masked) into DIR;
    /// `--accept STEM` records the reviewer's decision; `--cancel` stops the one running.
    Anonymise(AnonymiseArgs),
}

impl Command {
    /// The command's name as typed, e.g. `agent add`, for messages and the audit register.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Agent(AgentCommand::Add(_)) => "agent add",
            Command::Camera(CameraCommand::Enroll(_)) => "camera enroll",
            Command::Issue(_) => "issue",
            Command::Return(_) => "return",
            Command::Attribute(_) => "attribute",
            Command::Consult(_) => "consult",
            Command::Extract(_) => "extract",
            Command::Hold(_) => "hold",
            Command::Release(_) => "release",
            Command::Purge(_) => "purge",
            Command::Audit(AuditCommand::Verify(_)) => "audit verify",
            Command::Report(_) => "report",
            Command::Forecast(_) => "forecast",
            Command::Register(RegisterCommand::Print(_)) => "register print",
            Command::Scrub(_) => "scrub",
            Command::Search(_) => "search",
            Command::Show(_) => "show",
            Command::Anonymise(_) => "anonymise",
        }
    }

    /// The recordings the command names, for the trace of a refusal.
    pub fn recordings(&self) -> Vec<String> {
        match self {
            Command::Attribute(a) => vec![a.recording.clone()],
            Command::Consult(a) => vec![a.recording.clone()],
            Command::Extract(a) => a.recordings.clone(),
            Command::Hold(a) => a.recordings.clone(),
            Command::Release(a) => a.recordings.clone(),
            Command::Show(a) => vec![a.recording.clone()],
            Command::Anonymise(a) => a.recording.iter().chain(&a.accept).cloned().collect(),
            _ => Vec::new(),
        }
    }
}

/// `agent ...`
#[derive(Debug, Clone, PartialEq, Subcommand, Serialize, Deserialize)]
#[serde(
    tag = "command",
    content = "args",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
pub enum AgentCommand {
    /// Add an agent who may be issued cameras.
    Add(AgentAddArgs),
}

/// `agent add MATRICULE --name NAME --brigade B [--unix-user USER]`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentAddArgs {
    /// The agent's service number.
    pub matricule: String,
    /// Full name.
    #[arg(long)]
    pub name: String,
    /// Brigade or unit.
    #[arg(long)]
    pub brigade: String,
    /// The agent's Unix user, when the agent also uses sentinel-dockctl.
    #[arg(long)]
    pub unix_user: Option<String>,
}

/// `camera ...`
#[derive(Debug, Clone, PartialEq, Subcommand, Serialize, Deserialize)]
#[serde(
    tag = "command",
    content = "args",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
pub enum CameraCommand {
    /// Enrol a camera: only enrolled cameras are ingested.
    Enroll(CameraEnrollArgs),
}

/// `camera enroll SERIAL [--model M]`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraEnrollArgs {
    /// The camera's serial, as its USB descriptor and DEVICE.INI give it.
    pub serial: String,
    /// Its model.
    #[arg(long)]
    pub model: Option<String>,
}

/// `issue CAMERA AGENT [--at TIME]`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueArgs {
    /// The camera's serial.
    pub camera: String,
    /// The agent's matricule.
    pub agent: String,
    /// When (RFC 3339, e.g. 2026-11-26T06:00:00Z); now when omitted.
    #[arg(long, value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
}

/// `return CAMERA [--at TIME]`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnArgs {
    /// The camera's serial.
    pub camera: String,
    /// When (RFC 3339); now when omitted.
    #[arg(long, value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
}

/// `attribute RECORDING AGENT --reason TEXT`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeArgs {
    /// The recording's stem (`STEM@ID` when a stem names several register rows).
    pub recording: String,
    /// The agent's matricule.
    pub agent: String,
    /// Why this agent: kept with the attribution and its author.
    #[arg(long)]
    pub reason: String,
}

/// Why a recording is seen or extracted (R241-12, R241-14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// An administrative procedure.
    Administrative,
    /// A judicial procedure, on an OPJ's requisition.
    Judicial,
    /// A disciplinary procedure.
    Disciplinary,
    /// Training of agents: the footage must be anonymised before it is shown.
    Training,
}

impl Purpose {
    /// The name recorded in the audit register.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Administrative => "administrative",
            Purpose::Judicial => "judicial",
            Purpose::Disciplinary => "disciplinary",
            Purpose::Training => "training",
        }
    }

    /// Every purpose, in the report's order.
    pub const ALL: [Purpose; 4] = [
        Purpose::Administrative,
        Purpose::Judicial,
        Purpose::Disciplinary,
        Purpose::Training,
    ];
}

/// `consult --purpose P --reason TEXT RECORDING`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsultArgs {
    /// The recording's stem.
    pub recording: String,
    /// Why it is seen.
    #[arg(long, value_enum)]
    pub purpose: Purpose,
    /// The reason, in the caller's words.
    #[arg(long)]
    pub reason: String,
    /// Where sentinel-dockctl writes the recording: a new file readable by the caller
    /// alone (0600); `-` for standard output, the default when it is not a terminal.
    /// Read by sentinel-dockctl only: never sent to the daemon.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub out: Option<PathBuf>,
}

/// `extract --purpose P (--requisition REF --opj "NAME, SERVICE" --requisition-date D | --reference REF --recipient R) --to DIR RECORDING...`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractArgs {
    /// The recordings' stems.
    #[arg(required = true)]
    pub recordings: Vec<String>,
    /// Why they are extracted.
    #[arg(long, value_enum)]
    pub purpose: Purpose,
    /// Judicial: the requisition's reference.
    #[arg(long)]
    pub requisition: Option<String>,
    /// Judicial: the requiring OPJ, as "NAME, SERVICE".
    #[arg(long)]
    pub opj: Option<String>,
    /// Judicial, required: the date written on the requisition (YYYY-MM-DD), recorded in
    /// `bag-info.txt` as `Requisition-Date` and in the procès-verbal.
    #[arg(long)]
    pub requisition_date: Option<NaiveDate>,
    /// Other purposes: the procedure's own reference.
    #[arg(long)]
    pub reference: Option<String>,
    /// Other purposes: to whom the bag goes.
    #[arg(long)]
    pub recipient: Option<String>,
    /// A free-text reason, kept in the bag and the audit register.
    #[arg(long)]
    pub reason: Option<String>,
    /// The folder the bag is written in: an existing folder inside `extract.root`
    /// (sentinel-dockctl sends it as an absolute path).
    #[arg(long)]
    pub to: PathBuf,
}

/// `hold --procedure REF --reason TEXT RECORDING...`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldArgs {
    /// The recordings' stems.
    #[arg(required = true)]
    pub recordings: Vec<String>,
    /// The procedure's reference.
    #[arg(long)]
    pub procedure: String,
    /// Why.
    #[arg(long)]
    pub reason: String,
}

/// `release --procedure REF --reason TEXT RECORDING...`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseArgs {
    /// The recordings' stems.
    #[arg(required = true)]
    pub recordings: Vec<String>,
    /// The procedure whose hold ends.
    #[arg(long)]
    pub procedure: String,
    /// Why (e.g. the procedure closed).
    #[arg(long)]
    pub reason: String,
}

/// `purge [--dry-run] [--confirm COUNT]`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeArgs {
    /// Show what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Head of service only: confirm a purge larger than retention.max_purge_share by
    /// giving the number of recordings the dry run showed.
    #[arg(long)]
    pub confirm: Option<usize>,
}

/// `audit ...`
#[derive(Debug, Clone, PartialEq, Subcommand, Serialize, Deserialize)]
#[serde(
    tag = "command",
    content = "args",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
pub enum AuditCommand {
    /// Check the chain; exit status non-zero when it does not hold.
    Verify(AuditVerifyArgs),
}

/// `audit verify [--head SEQ:HASH]`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditVerifyArgs {
    /// A head logged to the journal (`journalctl MESSAGE_ID=ce4d363b5d354e99ac8d0c81566a55fd`),
    /// as SEQ:HASH: the chain must still hold it.
    #[arg(long)]
    pub head: Option<String>,
}

/// How a table is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Aligned columns for a terminal or a printout.
    #[default]
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A JSON document.
    Json,
}

/// `report --from DATE --to DATE [--format F]`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportArgs {
    /// First day (YYYY-MM-DD, UTC), included.
    #[arg(long)]
    pub from: NaiveDate,
    /// Last day (YYYY-MM-DD, UTC), included.
    #[arg(long)]
    pub to: NaiveDate,
    /// Only the site of this name (`[site] name` of the daemon that collected them).
    #[arg(long)]
    #[serde(default)]
    pub site: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `forecast [--from DATE --to DATE] [--format F]`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastArgs {
    /// First day of the observed period; 30 days before --to when omitted.
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day of the observed period; yesterday when omitted.
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `register ...`
#[derive(Debug, Clone, PartialEq, Subcommand, Serialize, Deserialize)]
#[serde(
    tag = "command",
    content = "args",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
pub enum RegisterCommand {
    /// Print the perception register for an inspection.
    Print(RegisterPrintArgs),
}

/// What `register print` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    /// Each issue of a camera: agent, times, how it ended.
    #[default]
    Issues,
    /// Each recording with the agent it is attributed to.
    Recordings,
    /// Recordings with no holder, or made while docked: to attribute by hand.
    Attention,
}

/// `register print [--camera S | --agent M] [--from DATE] [--to DATE] [--view V] [--format F]`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterPrintArgs {
    /// Only this camera.
    #[arg(long, conflicts_with = "agent")]
    pub camera: Option<String>,
    /// Only this agent (matricule).
    #[arg(long)]
    pub agent: Option<String>,
    /// First day (YYYY-MM-DD, UTC), included.
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD, UTC), included.
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// What to print.
    #[arg(long, value_enum, default_value_t)]
    pub view: View,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `scrub [--read-data]` (`--json` prints the report for programs).
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrubArgs {
    /// With a replica: read every object back and hash it, not only HEAD its checksum.
    #[arg(long)]
    #[serde(default)]
    pub read_data: bool,
}

/// Parses an RFC 3339 time, e.g. `2026-11-26T06:00:00Z` or `2026-11-26T07:00:00+01:00`.
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2026-11-26T06:00:00Z ({e})"))
}

#[cfg(test)]
mod tests;

/// `search [filters] [--page N] [--per-page N]`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// First day (YYYY-MM-DD), included: a local date in `[console] timezone`
    /// (Europe/Paris by default), from its midnight.
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD), included: a local date in `[console] timezone`, to the next
    /// midnight (a day the clocks change lasts 23 or 25 hours).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// The camera's serial.
    #[arg(long)]
    pub camera: Option<String>,
    /// The agent (the recording's attribution): a whole matricule finds that agent only;
    /// other text, any part of a matricule or a name, in any case.
    #[arg(long)]
    pub agent: Option<String>,
    /// The agent's brigade.
    #[arg(long)]
    pub brigade: Option<String>,
    /// The register state (confirmed, quarantined, wiped, purged, discovered).
    #[arg(long)]
    pub state: Option<String>,
    /// A reported flag.
    #[arg(long)]
    pub flag: Option<String>,
    /// Held for a procedure (true) or not (false).
    #[arg(long)]
    pub held: Option<bool>,
    /// A place: "LAT,LON" or "LAT LON" in decimal degrees (a decimal comma is fine:
    /// "45,0433 5,0514"), or a name from `[console.places]`: recordings whose GPS box comes
    /// within --radius.
    #[arg(long, allow_hyphen_values = true)]
    pub near: Option<String>,
    /// The radius around --near, in metres (200 when not given).
    #[arg(long)]
    pub radius: Option<f64>,
    /// The site the recordings were collected at (`[site] name` of its daemon).
    #[arg(long)]
    #[serde(default)]
    pub site: Option<String>,
    /// The page, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: u32,
    /// Rows a page (at most 200).
    #[arg(long, default_value_t = 50)]
    pub per_page: u32,
}

/// `show RECORDING`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowArgs {
    /// The recording's stem (STEM@ID when a conflict kept two rows).
    pub recording: String,
}

/// `anonymise STEM --reason TEXT --to DIR [--voice mask|mute|keep]`,
/// `anonymise --accept STEM --reason TEXT`, `anonymise --cancel --reason TEXT`
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymiseArgs {
    /// The recording to make a derivative of.
    #[arg(required_unless_present_any = ["accept", "cancel"], conflicts_with_all = ["accept", "cancel"])]
    pub recording: Option<String>,
    /// Accept the recording's latest derivative after review: training may then see it.
    #[arg(long, value_name = "STEM", conflicts_with = "cancel")]
    pub accept: Option<String>,
    /// Stop the anonymisation running now (nothing of it is kept).
    #[arg(long)]
    pub cancel: bool,
    /// Why, in the caller's words (kept in the audit register).
    #[arg(long)]
    pub reason: String,
    /// The folder the derivative, its review sheet and its manifest are written to (inside
    /// `[extract] root`).
    #[arg(long, value_name = "DIR", required_unless_present_any = ["accept", "cancel"])]
    pub to: Option<PathBuf>,
    /// What is done with the sound: masked (pitch and formants moved), muted, or kept.
    #[arg(long, value_enum, default_value_t = crate::anonymise::VoiceMode::Mask)]
    pub voice: crate::anonymise::VoiceMode,
}

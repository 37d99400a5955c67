//! Walking the audit chain and naming every place where it does not hold.

use crate::custody::register::Conn;

use super::{AuditEntry, GENESIS, Head, anchor, each_entry};
use crate::custody::register::RegisterError;

/// One place where the chain does not hold, named by sequence number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    /// The entry's fields do not give its stored hash: it was changed (or written by hand).
    Changed {
        /// The entry.
        seq: i64,
    },
    /// The entry sits between two entries that link to each other: it was inserted.
    Inserted {
        /// The entry.
        seq: i64,
    },
    /// Entries are missing between two others.
    Removed {
        /// The last entry before the gap that still links.
        after: i64,
        /// The first entry after the gap.
        before: i64,
    },
    /// The entry does not link to the one before it, with no number missing between them.
    Unlinked {
        /// The entry.
        seq: i64,
        /// The entry before it.
        after: i64,
    },
    /// The entry links correctly but carries another number than its place calls for.
    Renumbered {
        /// The number it carries.
        seq: i64,
        /// The number its place calls for.
        expected: i64,
    },
    /// The expiry anchor and the checkpoint entries disagree.
    Anchor {
        /// How.
        message: String,
    },
    /// The head logged to the journal is not in the chain as it is now.
    HeadMismatch {
        /// The logged entry.
        seq: i64,
        /// The hash logged.
        logged: String,
        /// The hash found, if the entry is there.
        found: Option<String>,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Changed { seq } => write!(
                f,
                "entry #{seq} was changed: its fields no longer give its stored hash"
            ),
            Problem::Inserted { seq } => write!(
                f,
                "entry #{seq} was inserted: the entries around it link to each other, not to it"
            ),
            Problem::Removed { after, before } if before - after == 2 => write!(
                f,
                "entry #{} was removed: entry #{before} follows entry #{after}",
                after + 1
            ),
            Problem::Removed { after, before } => write!(
                f,
                "entries #{} to #{} were removed: entry #{before} follows entry #{after}",
                after + 1,
                before - 1
            ),
            Problem::Unlinked { seq, after } => write!(
                f,
                "entry #{seq} does not follow entry #{after}: entries between them were removed and the rest renumbered, or #{after} was rewritten with a new hash"
            ),
            Problem::Renumbered { seq, expected } => write!(
                f,
                "entry #{seq} links correctly but should be numbered #{expected}: entries were renumbered"
            ),
            Problem::Anchor { message } => write!(f, "expiry anchor: {message}"),
            Problem::HeadMismatch {
                seq,
                logged,
                found: Some(found),
            } => write!(
                f,
                "entry #{seq} has hash {found}, but the journal logged {logged}: the chain was rewritten"
            ),
            Problem::HeadMismatch { seq, logged, .. } => write!(
                f,
                "entry #{seq} (logged to the journal with hash {logged}) is no longer in the chain: entries were removed from its end"
            ),
        }
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Verification {
    /// Entries read.
    pub entries: usize,
    /// Where the chain starts (the anchor of the last expiry, or 0).
    pub starts_after: i64,
    /// The last entry.
    pub head: Head,
    /// Every place the chain does not hold; empty when intact.
    pub problems: Vec<Problem>,
}

impl Verification {
    /// Whether the chain holds from its anchor to its head.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems, one sentence each, separated by "; ".
    pub fn describe(&self) -> String {
        let lines: Vec<String> = self.problems.iter().map(|p| p.to_string()).collect();
        lines.join("; ")
    }
}

/// Checks every entry's hash and link from the anchor to the head, the anchor against the
/// checkpoint entries, and, when given, a head logged to the journal. The entries are read
/// one at a time (with the next one in hand), never all held in memory.
pub fn verify(conn: &Conn, logged: Option<&Head>) -> Result<Verification, RegisterError> {
    let start = anchor(conn)?.unwrap_or(Head {
        seq: 0,
        hash: GENESIS.to_string(),
    });
    let mut walk = Walk::new(&start, logged.map(|h| h.seq));
    let mut held: Option<AuditEntry> = None;
    each_entry(conn, 0, |next| {
        if let Some(row) = held.take() {
            walk.step(row, Some(&next));
        }
        held = Some(next);
        true
    })?;
    if let Some(row) = held {
        walk.step(row, None);
    }
    let mut problems = walk.problems;
    problems.extend(check_anchor(&start, walk.last_expiry.as_ref()));
    if let Some(logged) = logged {
        problems.extend(check_logged(logged, &start, walk.logged_hash));
    }
    Ok(Verification {
        entries: walk.entries,
        starts_after: start.seq,
        head: walk.last.unwrap_or_else(|| start.clone()),
        problems,
    })
}

/// Follows the links entry by entry; an entry that the next one skips over is an insertion.
struct Walk {
    prev: Head,
    after_insertion: bool,
    problems: Vec<Problem>,
    entries: usize,
    last: Option<Head>,
    last_expiry: Option<AuditEntry>,
    logged_seq: Option<i64>,
    logged_hash: Option<String>,
}

impl Walk {
    fn new(start: &Head, logged_seq: Option<i64>) -> Walk {
        Walk {
            prev: start.clone(),
            after_insertion: false,
            problems: Vec::new(),
            entries: 0,
            last: None,
            last_expiry: None,
            logged_seq,
            logged_hash: None,
        }
    }

    fn step(&mut self, row: AuditEntry, next: Option<&AuditEntry>) {
        self.entries += 1;
        self.last = Some(Head {
            seq: row.seq,
            hash: row.hash.clone(),
        });
        if self.logged_seq == Some(row.seq) && self.logged_hash.is_none() {
            self.logged_hash = Some(row.hash.clone());
        }
        if row.action == "expiry" {
            self.last_expiry = Some(row.clone());
        }
        let prev = &self.prev;
        let content_ok = row.computed_hash() == row.hash;
        let skipped_over =
            next.is_some_and(|next| next.prev_hash == prev.hash && next.prev_hash != row.hash);
        if skipped_over {
            self.problems.push(Problem::Inserted { seq: row.seq });
            self.after_insertion = true;
            return;
        }
        if row.prev_hash == prev.hash {
            if row.seq != prev.seq + 1 && !self.after_insertion {
                self.problems.push(Problem::Renumbered {
                    seq: row.seq,
                    expected: prev.seq + 1,
                });
            }
            if !content_ok {
                self.problems.push(Problem::Changed { seq: row.seq });
            }
        } else if !content_ok {
            // Its prev_hash was edited, or the whole row: either way, this row changed.
            self.problems.push(Problem::Changed { seq: row.seq });
        } else if row.seq > prev.seq + 1 {
            self.problems.push(Problem::Removed {
                after: prev.seq,
                before: row.seq,
            });
        } else {
            self.problems.push(Problem::Unlinked {
                seq: row.seq,
                after: prev.seq,
            });
        }
        self.after_insertion = false;
        self.prev = Head {
            seq: row.seq,
            hash: row.hash,
        };
    }
}

/// The anchor must be what the last expiry entry says it dropped, and exist only then.
fn check_anchor(start: &Head, last_expiry: Option<&AuditEntry>) -> Option<Problem> {
    let Some(expiry) = last_expiry else {
        return (start.seq != 0).then(|| Problem::Anchor {
            message: format!(
                "the chain starts after entry #{}, but no expiry entry records dropping it",
                start.seq
            ),
        });
    };
    let details: serde_json::Value = serde_json::from_str(&expiry.details).unwrap_or_default();
    let seq = details["dropped_last_seq"].as_i64();
    let hash = details["anchor_hash"].as_str();
    if seq == Some(start.seq) && hash == Some(start.hash.as_str()) {
        None
    } else {
        Some(Problem::Anchor {
            message: format!(
                "expiry entry #{} says the chain starts after entry #{} with hash {}, but the anchor holds #{} with hash {}",
                expiry.seq,
                seq.unwrap_or(-1),
                hash.unwrap_or("?"),
                start.seq,
                start.hash
            ),
        })
    }
}

/// A head logged to the journal must still be in the chain with the same hash (`in_chain`:
/// the hash of the entry with the logged number, if there is one).
fn check_logged(logged: &Head, start: &Head, in_chain: Option<String>) -> Option<Problem> {
    let found = if logged.seq == start.seq {
        Some(start.hash.clone())
    } else if logged.seq < start.seq {
        return None; // expired since: nothing left to compare with
    } else {
        in_chain
    };
    if found.as_deref() == Some(logged.hash.as_str()) {
        return None;
    }
    Some(Problem::HeadMismatch {
        seq: logged.seq,
        logged: logged.hash.clone(),
        found,
    })
}

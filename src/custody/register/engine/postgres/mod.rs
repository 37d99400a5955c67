//! PostgreSQL behind the register's connection: connecting (libpq URIs, a password file,
//! TLS when the URI asks for it: `tls`), the `?1` placeholders turned into `$1`, SQLite's
//! values converted to and from the column types (`values`), and a lost server told apart
//! from a refused query.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::path::PathBuf;
use std::time::Duration;

use postgres::{Client, Statement};
use rusqlite::ToSql;
use rusqlite::types::Value;

use crate::base::config::RegisterConfig;
use crate::custody::register::RegisterError;

mod tls;
mod values;

use tls::{split_root_cert, tls};
use values::{PgParam, bound, params, row_values};

/// The advisory lock every write transaction takes first: writers to the register are
/// serialized as SQLite serializes them, so that the audit chain has one head.
const WRITE_LOCK: i64 = 0x5345_4e54_494e_0001;

/// Where a PostgreSQL register is: `[register] url` and `password_file`.
#[derive(Clone)]
pub(crate) struct PgTarget {
    /// libpq's URI (`postgresql://...` or `postgres://...`).
    pub url: String,
    /// A file holding the password, when the URI does not authenticate by itself.
    pub password_file: Option<PathBuf>,
    /// The site this daemon writes as (`site()` in the register's SQL).
    pub site: String,
}

impl PgTarget {
    /// The PostgreSQL register `[register]` names, written to as `site`; `None` for the
    /// SQLite file.
    pub(crate) fn of(config: &RegisterConfig, site: &str) -> Option<PgTarget> {
        config.url.as_ref().map(|url| PgTarget {
            url: url.clone(),
            password_file: config.password_file.clone(),
            site: site.to_string(),
        })
    }

    /// The URI as the client library takes it, and the CA file its `sslrootcert` names.
    /// rustls checks the certificate's chain and name whenever TLS is used, so libpq's
    /// stricter modes are `require` here (which the client library spells alone).
    fn client_url(&self) -> (String, Option<PathBuf>) {
        let (url, root_cert) = split_root_cert(&self.url);
        let url = url
            .replace("sslmode=verify-full", "sslmode=require")
            .replace("sslmode=verify-ca", "sslmode=require");
        (url, root_cert)
    }

    /// The server and database, without a password: what messages name.
    pub(crate) fn describe(&self) -> String {
        match self.client_url().0.parse::<postgres::Config>() {
            Ok(config) => {
                let hosts: Vec<String> = config
                    .get_hosts()
                    .iter()
                    .map(|h| match h {
                        postgres::config::Host::Tcp(name) => name.clone(),
                        postgres::config::Host::Unix(path) => path.display().to_string(),
                    })
                    .collect();
                format!(
                    "PostgreSQL database {} on {} as {}",
                    config.get_dbname().unwrap_or("(the user's)"),
                    if hosts.is_empty() {
                        "the default socket".to_string()
                    } else {
                        hosts.join(",")
                    },
                    config.get_user().unwrap_or("(the system user)")
                )
            }
            Err(_) => "PostgreSQL (register.url does not parse)".to_string(),
        }
    }
}

/// One connection to the server, with its prepared statements.
pub(crate) struct Pg {
    /// Always there but while the connection is dropped (see `Drop`).
    client: Option<Client>,
    target: PgTarget,
    prepared: HashMap<String, Statement>,
    in_transaction: bool,
}

impl Pg {
    /// Connects, with the site set for this session.
    pub(crate) fn connect(target: &PgTarget) -> Result<Pg, RegisterError> {
        outside_runtime(|| Pg::connect_now(target))
    }

    fn connect_now(target: &PgTarget) -> Result<Pg, RegisterError> {
        let (url, root_cert) = target.client_url();
        let mut config: postgres::Config =
            url
                .parse()
                .map_err(|e: postgres::Error| RegisterError::Config {
                    what: "register.url".into(),
                    why: format!(
                        "{e}: write a libpq URI such as postgresql:///sentinel?host=/run/postgresql&user=sentinel-dock"
                    ),
                })?;
        if let Some(file) = &target.password_file {
            let password = std::fs::read_to_string(file).map_err(|e| RegisterError::Config {
                what: "register.password_file".into(),
                why: format!(
                    "cannot read {}: {e}; make it readable by the service user only",
                    file.display()
                ),
            })?;
            config.password(password.trim_end_matches(['\r', '\n']));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("sentinel-dock");
        let client = config
            .connect(tls(root_cert.as_deref())?)
            .map_err(|source| unreachable_or(target, source))?;
        let mut pg = Pg {
            client: Some(client),
            target: target.clone(),
            prepared: HashMap::new(),
            in_transaction: false,
        };
        let site = target.site.clone();
        pg.set_site(&site)?;
        Ok(pg)
    }

    /// Sets the site this session writes as (`site()`), kept for reconnections.
    pub(crate) fn set_site(&mut self, site: &str) -> Result<(), RegisterError> {
        self.target.site = site.to_string();
        outside_runtime(|| {
            let result = self
                .client()?
                .execute("SELECT set_config('sentinel.site', $1, false)", &[&site]);
            result.map(drop).map_err(|e| self.error(e))
        })
    }

    /// Reconnects when the server closed this connection (restarted, or the network was
    /// cut) and no transaction was open on it: a transaction lost with its connection
    /// fails as a whole, and the next one starts on a new connection.
    fn ready(&mut self) -> Result<(), RegisterError> {
        if self.client()?.is_closed() && !self.in_transaction {
            *self = Pg::connect(&self.target)?;
        }
        Ok(())
    }

    /// The connection; absent only while it is being dropped.
    fn client(&mut self) -> Result<&mut Client, RegisterError> {
        self.client.as_mut().ok_or_else(|| RegisterError::Config {
            what: "register.url".into(),
            why: "the connection to PostgreSQL was already closed (a defect: report it)".into(),
        })
    }

    /// Runs a statement that changes rows.
    pub(crate) fn execute(
        &mut self,
        sql: &str,
        args: &[&dyn ToSql],
        cached: bool,
    ) -> Result<usize, RegisterError> {
        outside_runtime(|| self.execute_now(sql, args, cached))
    }

    /// Runs a query; every row's values as SQLite's types.
    pub(crate) fn query(
        &mut self,
        sql: &str,
        args: &[&dyn ToSql],
        cached: bool,
    ) -> Result<Vec<Vec<Value>>, RegisterError> {
        outside_runtime(|| self.query_now(sql, args, cached))
    }

    /// Streams a query's rows to `each` until it returns false.
    pub(crate) fn stream(
        &mut self,
        sql: &str,
        args: &[&dyn ToSql],
        each: &mut dyn FnMut(&[Value]) -> rusqlite::Result<bool>,
    ) -> Result<(), RegisterError> {
        outside_runtime(|| self.stream_now(sql, args, each))
    }

    /// Runs statements with no parameters; tracks the transaction they open or close.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), RegisterError> {
        outside_runtime(|| self.batch_now(sql))
    }

    /// Starts a transaction; a write one takes the register's write lock first.
    pub(crate) fn begin(&mut self, write: bool) -> Result<(), RegisterError> {
        outside_runtime(|| self.begin_now(write))
    }

    fn error(&self, source: postgres::Error) -> RegisterError {
        unreachable_or(&self.target, source)
    }

    fn statement(&mut self, sql: &str, cached: bool) -> Result<Statement, RegisterError> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let translated = placeholders(sql);
        let statement = self
            .client()?
            .prepare(&translated)
            .map_err(|e| self.error(e))?;
        if cached {
            self.prepared.insert(sql.to_string(), statement.clone());
        }
        Ok(statement)
    }

    /// The statement for `sql`, prepared (on a connection made again if it was lost), and
    /// its parameters as PostgreSQL's side sends them.
    fn prepared(
        &mut self,
        sql: &str,
        args: &[&dyn ToSql],
        cached: bool,
    ) -> Result<(Statement, Vec<PgParam>), RegisterError> {
        self.ready()?;
        let statement = self.statement(sql, cached)?;
        Ok((statement, params(args)?))
    }

    /// Runs a statement that changes rows.
    fn execute_now(
        &mut self,
        sql: &str,
        args: &[&dyn ToSql],
        cached: bool,
    ) -> Result<usize, RegisterError> {
        let (statement, params) = self.prepared(sql, args, cached)?;
        let refs = bound(&params);
        let changed = self
            .client()?
            .execute(&statement, &refs)
            .map_err(|e| self.error(e))?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    /// Runs a query; every row's values as SQLite's types.
    fn query_now(
        &mut self,
        sql: &str,
        args: &[&dyn ToSql],
        cached: bool,
    ) -> Result<Vec<Vec<Value>>, RegisterError> {
        let (statement, params) = self.prepared(sql, args, cached)?;
        let refs = bound(&params);
        let rows = self
            .client()?
            .query(&statement, &refs)
            .map_err(|e| self.error(e))?;
        rows.iter()
            .map(|row| row_values(row).map_err(|e| self.error(e)))
            .collect()
    }

    /// Streams a query's rows to `each` until it returns false.
    fn stream_now(
        &mut self,
        sql: &str,
        args: &[&dyn ToSql],
        each: &mut dyn FnMut(&[Value]) -> rusqlite::Result<bool>,
    ) -> Result<(), RegisterError> {
        use postgres::fallible_iterator::FallibleIterator;
        let (statement, params) = self.prepared(sql, args, true)?;
        let refs = bound(&params);
        let target = self.target.clone();
        let mut rows = self
            .client()?
            .query_raw(&statement, refs)
            .map_err(|e| unreachable_or(&target, e))?;
        while let Some(row) = rows.next().map_err(|e| unreachable_or(&target, e))? {
            let values = row_values(&row).map_err(|e| unreachable_or(&target, e))?;
            if !each(&values)? {
                break;
            }
        }
        Ok(())
    }

    /// Runs statements with no parameters; tracks the transaction they open or close.
    fn batch_now(&mut self, sql: &str) -> Result<(), RegisterError> {
        let word = sql.trim_start().to_ascii_uppercase();
        let ends = word.starts_with("COMMIT")
            || (word.starts_with("ROLLBACK") && !word.starts_with("ROLLBACK TO"));
        if !ends {
            self.ready()?;
        }
        let target = self.target.clone();
        let result = self
            .client()
            .and_then(|c| c.batch_execute(sql).map_err(|e| unreachable_or(&target, e)));
        if ends {
            self.in_transaction = false;
        }
        result
    }

    /// Starts a transaction; a write one takes the register's write lock first.
    fn begin_now(&mut self, write: bool) -> Result<(), RegisterError> {
        self.ready()?;
        let sql = if write {
            format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        } else {
            "BEGIN ISOLATION LEVEL REPEATABLE READ".to_string()
        };
        self.client()?
            .batch_execute(&sql)
            .map_err(|e| unreachable_or(&self.target, e))?;
        self.in_transaction = true;
        Ok(())
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Closing talks to the server through the client's own runtime, as every call does.
        if let Some(client) = self.client.take() {
            outside_runtime(move || drop(client));
        }
    }
}

/// Runs `f`, which blocks on the `postgres` client's own runtime, where that is allowed:
/// called from the service's async threads (the supervisor's loop owns a connection), it
/// runs as `block_in_place`, since a runtime cannot be started from within another.
fn outside_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A failure that means the server cannot be reached (down, restarting, the network cut,
/// the connection lost) becomes [`RegisterError::Unreachable`]; anything else is the
/// server's answer to the query.
fn unreachable_or(target: &PgTarget, source: postgres::Error) -> RegisterError {
    let lost = source.is_closed()
        || source.code().is_some_and(|code| {
            let class = &code.code()[..2];
            // 08: connection exception; 57P01..03: the server shutting down or starting.
            class == "08" || matches!(code.code(), "57P01" | "57P02" | "57P03")
        })
        || (source.as_db_error().is_none()
            && source
                .source()
                .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()));
    if lost {
        RegisterError::Unreachable {
            server: target.describe(),
            source,
        }
    } else {
        RegisterError::Postgres(source)
    }
}

/// `?1` → `$1`, `?` → the next `$n`, outside quoted strings, identifiers and comments.
pub(crate) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut next = 1;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                out.push('$');
                if digits.is_empty() {
                    out.push_str(&next.to_string());
                    next += 1;
                } else {
                    out.push_str(&digits);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_strings_and_comments() {
        assert_eq!(
            placeholders("SELECT ?1, '?', \"a?\", ? -- why?\nFROM t WHERE x = ?12"),
            "SELECT $1, '?', \"a?\", $1 -- why?\nFROM t WHERE x = $12"
        );
        assert_eq!(placeholders("VALUES (?, ?)"), "VALUES ($1, $2)");
    }

    #[test]
    fn a_server_that_does_not_answer_is_unreachable_not_a_failed_query() {
        let dir = tempfile::tempdir().unwrap();
        let target = PgTarget {
            url: format!(
                "postgresql:///sentinel?host={}&user=sentinel-dock&connect_timeout=2",
                dir.path().display()
            ),
            password_file: None,
            site: String::new(),
        };
        let err = Pg::connect(&target).err().expect("no server there");
        assert!(err.is_unreachable(), "{err:?}");
        let words = crate::base::error::chain(&err);
        assert!(words.contains(&dir.path().display().to_string()), "{words}");
        assert!(!words.contains("password"), "{words}");
    }

    #[test]
    fn a_tls_uri_is_named_by_its_server_like_any_other() {
        let target = PgTarget {
            url:
                "postgresql://dock@db.example/sentinel?sslmode=verify-full&sslrootcert=/etc/ca.pem"
                    .into(),
            password_file: None,
            site: String::new(),
        };
        assert_eq!(
            target.describe(),
            "PostgreSQL database sentinel on db.example as dock"
        );
    }

    #[test]
    fn a_url_that_does_not_parse_names_the_key_and_a_form_that_works() {
        let target = PgTarget {
            url: "postgresql:///x?frobnicate=1".into(),
            password_file: None,
            site: String::new(),
        };
        let err = Pg::connect(&target).err().expect("refused");
        let words = crate::base::error::chain(&err);
        assert!(words.contains("register.url"), "{words}");
        assert!(words.contains("postgresql:///"), "{words}");
    }
}

//! PostgreSQL behind the register's connection: connecting (libpq URIs, a password file,
//! TLS when the URI asks for it), the `?1` placeholders turned into `$1`, SQLite's values
//! converted to and from the column types, and a lost server told apart from a refused
//! query.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use postgres::types::{IsNull, Kind, Type, to_sql_checked};
use postgres::{Client, Statement};
use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, Value};

use crate::custody::register::RegisterError;

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
    /// The server and database, without a password: what messages name.
    pub(crate) fn describe(&self) -> String {
        match self.url.parse::<postgres::Config>() {
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
        // rustls checks the certificate's chain and name whenever TLS is used, so libpq's
        // stricter modes are `require` here (which the client library spells alone).
        let (url, root_cert) = split_root_cert(&target.url);
        let url = url
            .replace("sslmode=verify-full", "sslmode=require")
            .replace("sslmode=verify-ca", "sslmode=require");
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

    /// Runs a statement that changes rows.
    fn execute_now(
        &mut self,
        sql: &str,
        args: &[&dyn ToSql],
        cached: bool,
    ) -> Result<usize, RegisterError> {
        self.ready()?;
        let statement = self.statement(sql, cached)?;
        let params = params(args)?;
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
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
        self.ready()?;
        let statement = self.statement(sql, cached)?;
        let params = params(args)?;
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let rows = self
            .client()?
            .query(&statement, &refs)
            .map_err(|e| self.error(e))?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.try_get::<_, PgValue>(i)
                            .map(|v| v.0)
                            .map_err(|e| self.error(e))
                    })
                    .collect()
            })
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
        self.ready()?;
        let statement = self.statement(sql, true)?;
        let params = params(args)?;
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let target = self.target.clone();
        let mut rows = self
            .client()?
            .query_raw(&statement, refs)
            .map_err(|e| unreachable_or(&target, e))?;
        while let Some(row) = rows.next().map_err(|e| unreachable_or(&target, e))? {
            let values = (0..row.len())
                .map(|i| row.try_get::<_, PgValue>(i).map(|v| v.0))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| unreachable_or(&target, e))?;
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

/// libpq's `sslrootcert=FILE`, which the client library does not take: taken out of the
/// URI, percent-decoded.
fn split_root_cert(url: &str) -> (String, Option<PathBuf>) {
    let Some((head, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut root = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("sslrootcert=") {
            Some(value) => {
                root = Some(PathBuf::from(percent_decode(value)));
                false
            }
            None => true,
        })
        .collect();
    let url = if kept.is_empty() {
        head.to_string()
    } else {
        format!("{head}?{}", kept.join("&"))
    };
    (url, root)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

/// The TLS PostgreSQL's connections use when their URI asks for it (`sslmode=require`):
/// rustls (already in the tree for S3) with the system's trusted roots, or the CA in
/// `sslrootcert` alone when the URI names one (a force's own CA).
fn tls(
    root_cert: Option<&std::path::Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, RegisterError> {
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(file) => {
            let unreadable = |why: String| RegisterError::Config {
                what: "register.url's sslrootcert".into(),
                why: format!(
                    "{}: {why}; name a PEM file of the CA that signed the server's certificate",
                    file.display()
                ),
            };
            let pem = std::fs::read(file).map_err(|e| unreadable(e.to_string()))?;
            let certs = rustls_pemfile_certs(&pem).map_err(unreadable)?;
            for cert in certs {
                roots.add(cert).map_err(|e| unreadable(e.to_string()))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A certificate the system lists but rustls cannot read is not a root to trust.
                let _ = roots.add(cert);
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| RegisterError::Config {
        what: "register.url".into(),
        why: format!("TLS cannot be set up: {e}"),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The certificates of a PEM file (rustls' own PEM reader, already in the tree).
fn rustls_pemfile_certs(
    pem: &[u8],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file ({e})"))?;
    if certs.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(certs)
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

fn params(args: &[&dyn ToSql]) -> Result<Vec<PgParam>, RegisterError> {
    args.iter()
        .map(|a| {
            Ok(PgParam(match a.to_sql()? {
                ToSqlOutput::Borrowed(v) => owned(v),
                ToSqlOutput::Owned(v) => v,
                _ => {
                    return Err(RegisterError::Sql(rusqlite::Error::ToSqlConversionFailure(
                        "a value of a kind the register does not store".into(),
                    )));
                }
            }))
        })
        .collect()
}

type BoxError = Box<dyn StdError + Sync + Send>;

fn owned(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// A domain's base type: the conversions are those of the type it constrains.
fn base(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base(inner),
        _ => ty,
    }
}

fn is_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    )
}

/// Sends a value as the type PostgreSQL asked for.
fn put<T: postgres::types::ToSql>(v: T, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    v.to_sql(ty, out)
}

/// A value bound to a placeholder, sent as the type PostgreSQL inferred for it.
#[derive(Debug)]
struct PgParam(Value);

impl postgres::types::ToSql for PgParam {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let ty = base(ty);
        match &self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => put(*i, ty, out),
                Type::INT4 => put(i32::try_from(*i)?, ty, out),
                Type::INT2 => put(i16::try_from(*i)?, ty, out),
                Type::FLOAT8 => put(*i as f64, ty, out),
                Type::FLOAT4 => put(*i as f32, ty, out),
                Type::BOOL => put(*i != 0, ty, out),
                _ if is_text(ty) => put(i.to_string().as_str(), ty, out),
                _ => Err(format!("an integer cannot be sent as {ty}").into()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => put(*f, ty, out),
                Type::FLOAT4 => put(*f as f32, ty, out),
                Type::INT8 if f.fract() == 0.0 => put(*f as i64, ty, out),
                _ if is_text(ty) => put(f.to_string().as_str(), ty, out),
                _ => Err(format!("a real number cannot be sent as {ty}").into()),
            },
            Value::Text(s) => match *ty {
                Type::INT8 => put(s.parse::<i64>()?, ty, out),
                Type::INT4 => put(s.parse::<i32>()?, ty, out),
                Type::FLOAT8 => put(s.parse::<f64>()?, ty, out),
                Type::BYTEA => put(s.as_bytes(), ty, out),
                Type::JSON => put(s.as_str(), &Type::TEXT, out),
                _ if is_text(ty) => put(s.as_str(), ty, out),
                _ => Err(format!("text cannot be sent as {ty}").into()),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => put(b.as_slice(), ty, out),
                _ => Err(format!("bytes cannot be sent as {ty}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column's value read as SQLite's types.
struct PgValue(Value);

impl<'a> postgres::types::FromSql<'a> for PgValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<PgValue, BoxError> {
        let ty = base(ty);
        Ok(PgValue(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::OID => Value::Integer(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => Value::Blob(raw.to_vec()),
            Type::JSON => Value::Text(String::from_utf8(raw.to_vec())?),
            _ if is_text(ty) => Value::Text(String::from_sql(ty, raw)?),
            _ => return Err(format!("the register reads no column of type {ty}").into()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<PgValue, BoxError> {
        Ok(PgValue(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// PostgreSQL's binary NUMERIC (what `sum` and `avg` return): base-10000 digits with a
/// weight; an integer when it has no fractional digits and fits, else a real.
fn numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        raw.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a truncated NUMERIC".into())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(2)? as i16);
    let sign = word(4)?;
    let scale = word(6)?;
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let mut whole: Option<i128> = Some(0);
    let mut real = 0f64;
    for i in 0..ndigits {
        let digit = word(8 + 2 * i)?;
        let power = weight - i as i32;
        real += f64::from(digit) * 10000f64.powi(power);
        whole = match (whole, u32::try_from(power)) {
            (Some(w), Ok(p)) => 10000i128
                .checked_pow(p)
                .and_then(|m| m.checked_mul(i128::from(digit)))
                .and_then(|d| w.checked_add(d)),
            (w, Err(_)) => w.filter(|_| digit == 0),
            (None, _) => None,
        };
    }
    let negative = sign == 0x4000;
    Ok(match whole.and_then(|w| i64::try_from(w).ok()) {
        Some(w) if scale == 0 => Value::Integer(if negative { -w } else { w }),
        _ => Value::Real(if negative { -real } else { real }),
    })
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

    #[test]
    fn sslrootcert_is_taken_out_of_the_uri_decoded() {
        let (url, root) = split_root_cert(
            "postgresql://a@db/s?sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem&application_name=z",
        );
        assert_eq!(
            url,
            "postgresql://a@db/s?sslmode=verify-full&application_name=z"
        );
        assert_eq!(root, Some(PathBuf::from("/etc/ca x.pem")));
        assert_eq!(split_root_cert("postgresql:///s").0, "postgresql:///s");
    }

    #[test]
    fn numeric_sums_read_as_integers_or_reals() {
        // 123456789: digits 1, 2345, 6789 with weight 2.
        let n = |digits: &[u16], weight: i16, sign: u16, scale: u16| {
            let mut raw = Vec::new();
            for w in [digits.len() as u16, weight as u16, sign, scale] {
                raw.extend_from_slice(&w.to_be_bytes());
            }
            for d in digits {
                raw.extend_from_slice(&d.to_be_bytes());
            }
            numeric(&raw).unwrap()
        };
        assert_eq!(n(&[1, 2345, 6789], 2, 0, 0), Value::Integer(123_456_789));
        assert_eq!(n(&[42], 0, 0x4000, 0), Value::Integer(-42));
        assert_eq!(n(&[], 0, 0, 0), Value::Integer(0));
        assert_eq!(n(&[2, 5000], 0, 0, 1), Value::Real(2.5));
    }
}

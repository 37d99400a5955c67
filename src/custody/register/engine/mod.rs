//! The two SQL engines behind one connection: SQLite (the embedded default, one dock) and
//! PostgreSQL (a force's register, shared by every dock and the head office).
//!
//! The register's queries are written once, in the SQL both engines speak (`?1`
//! placeholders, `ON CONFLICT DO NOTHING`, `RETURNING`, standard functions); the few
//! SQLite functions they use (`hex`, `instr`, `json_each`) exist on PostgreSQL as
//! functions of the register's schema (`postgres/schema.sql`). Values cross as SQLite's
//! value types (`rusqlite::types::Value`), which PostgreSQL's side converts to and from
//! the column types, so that every query function reads rows the same way on both.
//!
//! Transactions keep SQLite's meaning on both engines: a write transaction excludes every
//! other writer (SQLite's `BEGIN IMMEDIATE`; on PostgreSQL, a transaction-scoped advisory
//! lock taken first), so that an audit entry read at the chain's head is appended after
//! it whatever the number of daemons, and a read transaction sees one snapshot.

mod postgres;

use std::cell::RefCell;

use rusqlite::ToSql;
use rusqlite::types::{FromSql, Value};

use super::RegisterError;

pub(crate) use postgres::PgTarget;

/// An open connection to the register's engine.
pub struct Conn {
    engine: Engine,
}

enum Engine {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<postgres::Pg>>),
}

/// Which engine a connection speaks, for the few statements that differ (the schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// SQLite, one file.
    Sqlite,
    /// PostgreSQL, a server.
    Postgres,
}

/// The values bound to a statement's placeholders: `params![..]`, an array, a slice of
/// values, or `()` for none.
pub trait Args {
    /// Each value, in placeholder order.
    fn each(&self) -> Vec<&dyn ToSql>;
}

impl Args for () {
    fn each(&self) -> Vec<&dyn ToSql> {
        Vec::new()
    }
}

impl<V: ToSql> Args for &[V] {
    fn each(&self) -> Vec<&dyn ToSql> {
        self.iter().map(|v| v as &dyn ToSql).collect()
    }
}

impl<V: ToSql, const N: usize> Args for [V; N] {
    fn each(&self) -> Vec<&dyn ToSql> {
        self.iter().map(|v| v as &dyn ToSql).collect()
    }
}

impl<V: ToSql, const N: usize> Args for &[V; N] {
    fn each(&self) -> Vec<&dyn ToSql> {
        self.iter().map(|v| v as &dyn ToSql).collect()
    }
}

impl<V: ToSql> Args for &Vec<V> {
    fn each(&self) -> Vec<&dyn ToSql> {
        self.iter().map(|v| v as &dyn ToSql).collect()
    }
}

/// One row of a result, read by column index as SQLite's types.
pub struct Row<'a> {
    inner: RowInner<'a>,
}

enum RowInner<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Values(&'a [Value]),
}

/// A column's place in a row: its index from 0.
pub trait ColumnIndex {
    /// The index.
    fn index(self) -> usize;
}

impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

impl Row<'_> {
    /// The value of column `idx` (from 0), converted as rusqlite converts it.
    pub fn get<I: ColumnIndex, T: FromSql>(&self, idx: I) -> rusqlite::Result<T> {
        let idx = idx.index();
        match &self.inner {
            RowInner::Sqlite(row) => row.get(idx),
            RowInner::Values(values) => {
                let value = values
                    .get(idx)
                    .ok_or(rusqlite::Error::InvalidColumnIndex(idx))?;
                T::column_result(rusqlite::types::ValueRef::from(value)).map_err(|e| match e {
                    rusqlite::types::FromSqlError::InvalidType => {
                        rusqlite::Error::InvalidColumnType(
                            idx,
                            format!("column {idx}"),
                            value.data_type(),
                        )
                    }
                    other => rusqlite::Error::FromSqlConversionFailure(
                        idx,
                        value.data_type(),
                        Box::new(other),
                    ),
                })
            }
        }
    }
}

/// `Result::optional`: a query that found no row is `None`, not an error.
pub trait OptionalExtension<T> {
    /// `Ok(None)` when the query returned no row.
    fn optional(self) -> Result<Option<T>, RegisterError>;
}

impl<T> OptionalExtension<T> for Result<T, RegisterError> {
    fn optional(self) -> Result<Option<T>, RegisterError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(RegisterError::Sql(rusqlite::Error::QueryReturnedNoRows)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A statement ready to run: the SQL and the connection, prepared (and cached) by the
/// engine when it runs.
pub struct Stmt<'c> {
    conn: &'c Conn,
    sql: String,
    cached: bool,
}

impl Stmt<'_> {
    /// Runs the query and maps every row; the rows are read whole before the mapping, so
    /// that `map` may itself query the connection.
    pub fn query_map<T, F>(
        &mut self,
        args: impl Args,
        map: F,
    ) -> Result<std::vec::IntoIter<rusqlite::Result<T>>, RegisterError>
    where
        F: FnMut(&Row<'_>) -> rusqlite::Result<T>,
    {
        Ok(self
            .conn
            .rows(&self.sql, &args.each(), self.cached, map)?
            .into_iter())
    }

    /// Runs the query and maps its first row (`QueryReturnedNoRows` when there is none).
    pub fn query_row<T, F>(&mut self, args: impl Args, map: F) -> Result<T, RegisterError>
    where
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        self.conn
            .first_row(&self.sql, &args.each(), self.cached, map)
    }

    /// Runs a statement that changes rows; returns how many.
    pub fn execute(&mut self, args: impl Args) -> Result<usize, RegisterError> {
        self.conn.run(&self.sql, &args.each(), self.cached)
    }

    /// Whether the query returns at least one row.
    pub fn exists(&mut self, args: impl Args) -> Result<bool, RegisterError> {
        self.conn
            .first_row(&self.sql, &args.each(), self.cached, |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
    }
}

impl Conn {
    /// A connection on an SQLite database already opened and set up by the register.
    pub(crate) fn sqlite(conn: rusqlite::Connection) -> Conn {
        Conn::wrap_sqlite(conn)
    }

    /// The register's queries on an SQLite file a tool opened itself (tests, the bench's
    /// generator), without the register's setup or migrations; it writes as the unnamed
    /// site (`site()` is '').
    pub fn from_sqlite(conn: rusqlite::Connection) -> Conn {
        let conn = Conn::wrap_sqlite(conn);
        // Defining a function on an open connection fails only without memory.
        let _ = conn.set_site("");
        conn
    }

    fn wrap_sqlite(conn: rusqlite::Connection) -> Conn {
        Conn {
            engine: Engine::Sqlite(conn),
        }
    }

    /// Connects to a PostgreSQL register (the schema is checked by the register).
    pub(crate) fn postgres(target: &PgTarget) -> Result<Conn, RegisterError> {
        Ok(Conn {
            engine: Engine::Postgres(Box::new(RefCell::new(postgres::Pg::connect(target)?))),
        })
    }

    /// Sets the site this connection writes as: the SQL function `site()` returns it
    /// (on PostgreSQL it was set when connecting, from the same name).
    pub(crate) fn set_site(&self, site: &str) -> Result<(), RegisterError> {
        if let Engine::Postgres(pg) = &self.engine {
            return self.pg(pg)?.set_site(site);
        }
        if let Engine::Sqlite(c) = &self.engine {
            // Statements prepared with the previous definition must not be kept.
            c.flush_prepared_statement_cache();
            let site = site.to_string();
            c.create_scalar_function(
                "site",
                0,
                rusqlite::functions::FunctionFlags::SQLITE_UTF8
                    | rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
                move |_| Ok(site.clone()),
            )?;
        }
        Ok(())
    }

    /// Which engine this is.
    pub fn kind(&self) -> EngineKind {
        match self.engine {
            Engine::Sqlite(_) => EngineKind::Sqlite,
            Engine::Postgres(_) => EngineKind::Postgres,
        }
    }

    /// How many parameters a statement takes (SQLite only: the tests that bind nulls to
    /// read a query plan).
    #[cfg(test)]
    pub(crate) fn parameter_count(&self, sql: &str) -> usize {
        match &self.engine {
            Engine::Sqlite(c) => c
                .prepare(sql)
                .expect("the query compiles")
                .parameter_count(),
            Engine::Postgres(_) => panic!("parameter counts are read on SQLite"),
        }
    }

    /// A statement to run once.
    pub fn prepare(&self, sql: &str) -> Result<Stmt<'_>, RegisterError> {
        Ok(Stmt {
            conn: self,
            sql: sql.to_string(),
            cached: false,
        })
    }

    /// A statement run often: the engine keeps it prepared.
    pub fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>, RegisterError> {
        Ok(Stmt {
            conn: self,
            sql: sql.to_string(),
            cached: true,
        })
    }

    /// Runs a statement that changes rows; returns how many.
    pub fn execute(&self, sql: &str, args: impl Args) -> Result<usize, RegisterError> {
        self.run(sql, &args.each(), false)
    }

    /// Runs, inside a transaction, a statement the register's rules may refuse (a
    /// trigger, a constraint), leaving the transaction usable after a refusal so that the
    /// refusal can be explained: PostgreSQL aborts a transaction at its first error unless
    /// the statement ran under a savepoint; SQLite undoes the statement alone.
    pub fn execute_refusable(&self, sql: &str, args: impl Args) -> Result<usize, RegisterError> {
        if self.kind() == EngineKind::Sqlite {
            return self.execute(sql, args);
        }
        self.execute_batch("SAVEPOINT refusable")?;
        match self.execute(sql, args) {
            Ok(changed) => {
                self.execute_batch("RELEASE SAVEPOINT refusable")?;
                Ok(changed)
            }
            Err(e) => {
                self.execute_batch("ROLLBACK TO SAVEPOINT refusable")?;
                Err(e)
            }
        }
    }

    /// Runs a query and maps its first row (`QueryReturnedNoRows` when there is none).
    pub fn query_row<T, F>(&self, sql: &str, args: impl Args, map: F) -> Result<T, RegisterError>
    where
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        self.first_row(sql, &args.each(), false, map)
    }

    /// Calls `each` with every row in order, one at a time, until it returns false: a
    /// long result (the whole audit chain) is never held in memory. `each` must not use
    /// the connection itself.
    pub fn for_each<F>(&self, sql: &str, args: impl Args, mut each: F) -> Result<(), RegisterError>
    where
        F: FnMut(&Row<'_>) -> rusqlite::Result<bool>,
    {
        match &self.engine {
            Engine::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(&args.each()[..])?;
                while let Some(row) = rows.next()? {
                    if !each(&Row {
                        inner: RowInner::Sqlite(row),
                    })? {
                        break;
                    }
                }
                Ok(())
            }
            Engine::Postgres(pg) => {
                let mut pg = pg.try_borrow_mut().map_err(|_| RegisterError::Reentrant)?;
                pg.stream(sql, &args.each(), &mut |values| {
                    each(&Row {
                        inner: RowInner::Values(values),
                    })
                })
            }
        }
    }

    /// Runs several statements with no parameters (schema, transaction control).
    pub fn execute_batch(&self, sql: &str) -> Result<(), RegisterError> {
        match &self.engine {
            Engine::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Engine::Postgres(pg) => self.pg(pg)?.batch(sql),
        }
    }

    /// The id of the row the last INSERT made on this connection.
    pub fn last_insert_rowid(&self) -> Result<i64, RegisterError> {
        match &self.engine {
            Engine::Sqlite(c) => Ok(c.last_insert_rowid()),
            // Every table with a generated id draws it from its own sequence, and no
            // trigger draws from another, so the session's last value is the row's id.
            Engine::Postgres(_) => self.query_row("SELECT lastval()", (), |r| r.get(0)),
        }
    }

    /// Starts a transaction: a write one excludes every other writer until it ends.
    pub(crate) fn begin(&self, write: bool) -> Result<(), RegisterError> {
        match &self.engine {
            Engine::Sqlite(c) => Ok(c.execute_batch(if write {
                "BEGIN IMMEDIATE"
            } else {
                "BEGIN DEFERRED"
            })?),
            Engine::Postgres(pg) => self.pg(pg)?.begin(write),
        }
    }

    /// Ends the transaction begun by [`Conn::begin`], keeping its changes.
    pub(crate) fn commit(&self) -> Result<(), RegisterError> {
        self.execute_batch("COMMIT")
    }

    /// Ends the transaction begun by [`Conn::begin`], undoing its changes.
    pub(crate) fn rollback(&self) -> Result<(), RegisterError> {
        self.execute_batch("ROLLBACK")
    }

    /// The PostgreSQL connection, unless a row callback of [`Conn::for_each`] is using it.
    fn pg<'p>(
        &self,
        pg: &'p RefCell<postgres::Pg>,
    ) -> Result<std::cell::RefMut<'p, postgres::Pg>, RegisterError> {
        pg.try_borrow_mut().map_err(|_| RegisterError::Reentrant)
    }

    fn run(&self, sql: &str, args: &[&dyn ToSql], cached: bool) -> Result<usize, RegisterError> {
        match &self.engine {
            Engine::Sqlite(c) => {
                let changed = if cached {
                    c.prepare_cached(sql)?.execute(args)?
                } else {
                    c.execute(sql, args)?
                };
                Ok(changed)
            }
            Engine::Postgres(pg) => self.pg(pg)?.execute(sql, args, cached),
        }
    }

    fn rows<T, F>(
        &self,
        sql: &str,
        args: &[&dyn ToSql],
        cached: bool,
        mut map: F,
    ) -> Result<Vec<rusqlite::Result<T>>, RegisterError>
    where
        F: FnMut(&Row<'_>) -> rusqlite::Result<T>,
    {
        match &self.engine {
            Engine::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(args)?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(map(&Row {
                        inner: RowInner::Sqlite(row),
                    }));
                }
                Ok(out)
            }
            Engine::Postgres(pg) => {
                let table = self.pg(pg)?.query(sql, args, cached)?;
                Ok(table
                    .iter()
                    .map(|values| {
                        map(&Row {
                            inner: RowInner::Values(values),
                        })
                    })
                    .collect())
            }
        }
    }

    fn first_row<T, F>(
        &self,
        sql: &str,
        args: &[&dyn ToSql],
        cached: bool,
        map: F,
    ) -> Result<T, RegisterError>
    where
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        match &self.engine {
            Engine::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let out = stmt.query_row(args, |row| {
                    map(&Row {
                        inner: RowInner::Sqlite(row),
                    })
                })?;
                Ok(out)
            }
            Engine::Postgres(pg) => {
                let table = self.pg(pg)?.query(sql, args, cached)?;
                let first = table
                    .first()
                    .ok_or(RegisterError::Sql(rusqlite::Error::QueryReturnedNoRows))?;
                Ok(map(&Row {
                    inner: RowInner::Values(first),
                })?)
            }
        }
    }
}

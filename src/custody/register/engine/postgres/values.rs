//! Values between the register's SQLite types and PostgreSQL's: each parameter sent as the
//! type PostgreSQL inferred for it, each column read back as SQLite's type.

use std::error::Error as StdError;

use bytes::BytesMut;
use postgres::types::{IsNull, Kind, Type, to_sql_checked};
use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, Value};

use crate::custody::register::RegisterError;

/// Each bound value as SQLite's owned type, ready to send.
pub(super) fn params(args: &[&dyn ToSql]) -> Result<Vec<PgParam>, RegisterError> {
    args.iter()
        .map(|a| {
            Ok(PgParam(match a.to_sql()? {
                ToSqlOutput::Borrowed(v) => Value::try_from(v).map_err(|e| {
                    RegisterError::Sql(rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
                })?,
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

/// The parameters as the client takes them.
pub(super) fn bound(params: &[PgParam]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

/// A row's values, each as SQLite's type.
pub(super) fn row_values(row: &postgres::Row) -> Result<Vec<Value>, postgres::Error> {
    (0..row.len())
        .map(|i| row.try_get::<_, PgValue>(i).map(|v| v.0))
        .collect()
}

type BoxError = Box<dyn StdError + Sync + Send>;

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
pub(super) struct PgParam(Value);

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

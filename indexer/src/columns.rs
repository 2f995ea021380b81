//! How Rust values are stored in columns that SQLite and PostgreSQL both hold the same way.
//!
//! Only two SQL types are used through sqlx's `Any` driver: `BIGINT` for integers and booleans and
//! `TEXT` for everything else. Token amounts are decimal text (a `uint256` fits no SQL integer);
//! addresses and hashes are lower-case `0x` hex. Amounts that are sorted or filtered on are also kept
//! as [`sort_key`] text, zero-padded so that text order is numeric order.

use alloy::primitives::{Address, B256, U256};
use sqlx::{Row, any::AnyRow};

/// A value bound to a query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A `BIGINT`.
    Int(i64),
    /// A `TEXT`.
    Text(String),
    /// A `NULL` in a `BIGINT` column (PostgreSQL types every parameter, so nulls carry a type too).
    NullInt,
    /// A `NULL` in a `TEXT` column.
    NullText,
}

/// A Rust type stored in one column.
pub trait Column: Sized {
    /// The value to bind.
    fn to_value(&self) -> Value;
    /// Reads the column `name` of `row`.
    fn read(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error>;
}

macro_rules! int_column {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
            fn read(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
                let value: i64 = row.try_get(name)?;
                <$t>::try_from(value).map_err(|e| sqlx::Error::ColumnDecode {
                    index: name.to_owned(),
                    source: Box::new(e),
                })
            }
        }
    )*};
}
int_column!(i64, u64, u32, u16, u8);

impl Column for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
    fn read(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
        let value: i64 = row.try_get(name)?;
        Ok(value != 0)
    }
}

impl Column for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn read(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
        row.try_get(name)
    }
}

fn parse_error(name: &str, error: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: name.to_owned(),
        source: Box::new(error),
    }
}

impl Column for U256 {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
    fn read(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
        let text: String = row.try_get(name)?;
        text.parse().map_err(|e| parse_error(name, e))
    }
}

impl Column for Address {
    fn to_value(&self) -> Value {
        Value::Text(hex_address(self))
    }
    fn read(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
        let text: String = row.try_get(name)?;
        text.parse().map_err(|e| parse_error(name, e))
    }
}

impl Column for B256 {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
    fn read(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
        let text: String = row.try_get(name)?;
        text.parse().map_err(|e| parse_error(name, e))
    }
}

/// An address as stored: lower-case hex, so equality in SQL is text equality.
pub fn hex_address(address: &Address) -> String {
    format!("{address:#x}")
}

/// Width of [`sort_key`]: a `uint256` has at most 78 decimal digits.
const SORT_KEY_WIDTH: usize = 78;

/// An amount as zero-padded decimal text, so that comparing the text compares the amounts.
pub fn sort_key(amount: U256) -> String {
    format!("{:0>width$}", amount.to_string(), width = SORT_KEY_WIDTH)
}

/// Binds `values` in order to a query.
pub fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    values: Vec<Value>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for value in values {
        query = match value {
            Value::Int(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::NullInt => query.bind(None::<i64>),
            Value::NullText => query.bind(None::<String>),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_like_the_amounts() {
        let amounts = [U256::ZERO, U256::from(9), U256::from(10), U256::MAX];
        for pair in amounts.windows(2) {
            assert!(sort_key(pair[0]) < sort_key(pair[1]), "{pair:?}");
        }
        assert_eq!(sort_key(U256::MAX).len(), SORT_KEY_WIDTH);
    }
}

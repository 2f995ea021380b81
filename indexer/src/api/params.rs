//! Checking query and path parameters, one at a time, so each error names its field.

use super::error::ApiError;
use alloy::primitives::{U256, hex};

/// Page size when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: i64 = 50;
/// Largest page.
pub(crate) const MAX_LIMIT: i64 = 500;

/// A whole number in `0..=i64::MAX` (what a `BIGINT` column compares with).
pub(crate) fn number(field: &'static str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad(
            field,
            "invalid_number",
            format!("{field} must be a whole number of decimal digits, got {value:?}"),
        ));
    }
    value.parse().map(Some).map_err(|_| {
        ApiError::bad(
            field,
            "invalid_number",
            format!("{field} must be at most {}", i64::MAX),
        )
    })
}

/// A whole number in `0..=max`.
pub(crate) fn bounded(
    field: &'static str,
    value: Option<&str>,
    max: i64,
) -> Result<Option<i64>, ApiError> {
    match number(field, value)? {
        Some(n) if n > max => Err(ApiError::bad(
            field,
            "invalid_number",
            format!("{field} must be at most {max}, got {n}"),
        )),
        other => Ok(other),
    }
}

/// A token amount in wei: decimal digits, at most `2**256 - 1`.
pub(crate) fn amount(field: &'static str, value: Option<&str>) -> Result<Option<U256>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad(
            field,
            "invalid_amount",
            format!("{field} must be an amount in wei as decimal digits, got {value:?}"),
        ));
    }
    U256::from_str_radix(value, 10).map(Some).map_err(|_| {
        ApiError::bad(
            field,
            "invalid_amount",
            format!("{field} does not fit in 256 bits"),
        )
    })
}

/// An address, `0x` and 40 hex digits in any case, as stored: lower case.
pub(crate) fn address(field: &'static str, value: &str) -> Result<String, ApiError> {
    let digits = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"));
    match digits {
        Some(d) if d.len() == 40 && d.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(format!("0x{}", d.to_ascii_lowercase()))
        }
        _ => Err(ApiError::bad(
            field,
            "invalid_address",
            format!("{field} must be an address: 0x and 40 hex digits, got {value:?}"),
        )),
    }
}

/// An optional address.
pub(crate) fn opt_address(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<String>, ApiError> {
    value.map(|v| address(field, v)).transpose()
}

/// A page size: `1..=500`, 50 when absent.
pub(crate) fn limit(value: Option<&str>) -> Result<i64, ApiError> {
    let out_of_range = || {
        ApiError::bad(
            "limit",
            "limit_out_of_range",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )
    };
    match value {
        None => Ok(DEFAULT_LIMIT),
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => match v.parse() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(out_of_range()),
        },
        Some(v) => Err(ApiError::bad(
            "limit",
            "invalid_number",
            format!("limit must be a whole number, got {v:?}"),
        )),
    }
}

/// A cursor as handed out: opaque hex of `text`.
pub(crate) fn encode_cursor(text: &str) -> String {
    hex::encode(text.as_bytes())
}

/// The text inside a cursor.
pub(crate) fn decode_cursor(value: &str) -> Result<String, ApiError> {
    hex::decode(value)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| bad_cursor("the cursor is not one this API handed out"))
}

/// A 400 for a cursor.
pub(crate) fn bad_cursor(message: &str) -> ApiError {
    ApiError::bad("cursor", "invalid_cursor", message)
}

/// One of `choices`, by name.
pub(crate) fn choice<T: Copy>(
    field: &'static str,
    code: &'static str,
    value: &str,
    choices: &[(&str, T)],
) -> Result<T, ApiError> {
    choices
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            ApiError::bad(
                field,
                code,
                format!("{field} must be one of {}, got {value:?}", names.join(", ")),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lowered_and_checked() {
        let upper = "0xABCDEF0123456789abcdef0123456789ABCDEF01";
        assert_eq!(
            address("a", upper).unwrap(),
            "0xabcdef0123456789abcdef0123456789abcdef01"
        );
        assert!(address("a", "0x1234").is_err());
        assert!(address("a", "abcdef0123456789abcdef0123456789abcdef0101").is_err());
    }

    #[test]
    fn numbers_reject_signs_and_overflow() {
        assert_eq!(number("n", Some("42")).unwrap(), Some(42));
        assert!(number("n", Some("-1")).is_err());
        assert!(number("n", Some("+1")).is_err());
        assert!(number("n", Some("9223372036854775808")).is_err());
        assert!(limit(Some("0")).is_err());
        assert!(limit(Some("501")).is_err());
        assert_eq!(limit(None).unwrap(), 50);
    }

    #[test]
    fn cursors_round_trip() {
        let text = "price:asc:42:7";
        assert_eq!(decode_cursor(&encode_cursor(text)).unwrap(), text);
        assert!(decode_cursor("zz").is_err());
    }
}

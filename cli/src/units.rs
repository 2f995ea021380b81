//! Amounts and durations as people type and read them: `10`, `0.5` or `1500wei` tokens; `90s`,
//! `10m`, `2h`, `1d`; `12.5 UTR`; local times with how far away they are.

use alloy::primitives::U256;
use std::fmt;

/// Why a typed amount or duration was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnitError {
    /// Not a number of tokens.
    #[error(
        "{0:?} is not an amount: write tokens as a decimal number (10, 0.5) or wei with the suffix wei (1500wei)"
    )]
    BadAmount(String),
    /// More decimals than the token has.
    #[error("{0:?} has more than {1} decimals, the token's precision: round it")]
    TooPrecise(String, u8),
    /// Does not fit in 256 bits.
    #[error("{0:?} is too large")]
    TooLarge(String),
    /// A price with an unknown time unit.
    #[error("the price unit /{0} is unknown: write /h (per hour, the default) or /s (per second)")]
    BadPriceUnit(String),
    /// Not a duration.
    #[error(
        "{0:?} is not a duration: write a whole number with s, m, h or d (90s, 10m, 2h, 1d), or several (1h30m)"
    )]
    BadDuration(String),
}

/// The token's display unit: its symbol and decimals, as the contract reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// E.g. `UTR`.
    pub symbol: String,
    /// E.g. 18.
    pub decimals: u8,
}

impl Token {
    /// One whole token in wei.
    pub fn one(&self) -> U256 {
        U256::from(10).pow(U256::from(self.decimals))
    }

    /// Parses `10`, `0.5` or `1500wei` into wei.
    pub fn parse(&self, text: &str) -> Result<U256, UnitError> {
        let trimmed = text.trim();
        let lowered = trimmed.to_ascii_lowercase();
        let bad = || UnitError::BadAmount(text.to_owned());
        if let Some(digits) = lowered.strip_suffix("wei") {
            let digits = digits.trim();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            return U256::from_str_radix(digits, 10).map_err(|_| UnitError::TooLarge(text.into()));
        }
        let number = lowered
            .strip_suffix(&self.symbol.to_ascii_lowercase())
            .unwrap_or(&lowered)
            .trim();
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
            return Err(bad());
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > usize::from(self.decimals) {
            return Err(UnitError::TooPrecise(text.into(), self.decimals));
        }
        let too_large = || UnitError::TooLarge(text.into());
        let whole = if whole.is_empty() {
            U256::ZERO
        } else {
            U256::from_str_radix(whole, 10).map_err(|_| too_large())?
        };
        let scale = U256::from(10).pow(U256::from(usize::from(self.decimals) - fraction.len()));
        let fraction = if fraction.is_empty() {
            U256::ZERO
        } else {
            U256::from_str_radix(fraction, 10).map_err(|_| too_large())? * scale
        };
        whole
            .checked_mul(self.one())
            .and_then(|w| w.checked_add(fraction))
            .ok_or_else(too_large)
    }

    /// `wei` as `12.5 UTR`: every significant decimal, no trailing zeros.
    pub fn format(&self, wei: U256) -> String {
        format!("{} {}", self.number(wei), self.symbol)
    }

    /// `wei` as a decimal number of tokens, without the symbol.
    pub fn number(&self, wei: U256) -> String {
        let one = self.one();
        let whole = wei / one;
        let fraction = wei % one;
        if fraction.is_zero() {
            return whole.to_string();
        }
        let digits = format!("{fraction:0>width$}", width = usize::from(self.decimals));
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }

    /// A price as typed, tokens per hour (`0.36`, `0.36/h`) or per second (`1000wei/s`), as wei per
    /// second; a price per hour is rounded `up` or down so that a limit holds exactly (down for a
    /// maximum, up for a minimum).
    pub fn parse_price(&self, text: &str, up: bool) -> Result<U256, UnitError> {
        let (amount, per_second) = match text.rsplit_once('/') {
            Some((amount, "s")) => (amount, true),
            Some((amount, "h")) => (amount, false),
            Some((_, unit)) => return Err(UnitError::BadPriceUnit(unit.to_owned())),
            None => (text, false),
        };
        let wei = self.parse(amount)?;
        let hour = U256::from(3600);
        Ok(match (per_second, up) {
            (true, _) => wei,
            (false, false) => wei / hour,
            (false, true) => wei.div_ceil(hour),
        })
    }

    /// A price per second as a price per hour, which people compare more easily.
    pub fn per_hour(&self, wei_per_second: U256) -> String {
        format!("{}/h", self.format(wei_per_second * U256::from(3600)))
    }
}

/// `wei` as a `uint96`, the width the contracts store amounts in; `None` when it does not fit.
pub fn u96(wei: U256) -> Option<alloy::primitives::aliases::U96> {
    u128::try_from(wei)
        .ok()
        .and_then(|v| alloy::primitives::aliases::U96::try_from(v).ok())
}

/// Parses `90s`, `10m`, `2h`, `1d`, `1h30m` or plain seconds into seconds.
pub fn parse_duration(text: &str) -> Result<u64, UnitError> {
    let bad = || UnitError::BadDuration(text.to_owned());
    let text_trimmed = text.trim();
    if text_trimmed.is_empty() {
        return Err(bad());
    }
    if text_trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return text_trimmed.parse().map_err(|_| bad());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text_trimmed.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(total)
}

/// Seconds as `2d 3h`, `1h 30m`, `45s`: the two largest units.
pub fn format_duration(seconds: u64) -> String {
    let parts = [
        (seconds / 86_400, "d"),
        (seconds % 86_400 / 3600, "h"),
        (seconds % 3600 / 60, "m"),
        (seconds % 60, "s"),
    ];
    let shown: Vec<String> = parts
        .iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if shown.is_empty() {
        "0s".into()
    } else {
        shown.join(" ")
    }
}

/// A unix time in the local time zone, with how far it is from `now` (the chain's time).
#[derive(Clone, Copy, Debug)]
pub struct When {
    /// The moment, unix seconds.
    pub at: u64,
    /// The chain's time now, unix seconds.
    pub now: u64,
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = i64::try_from(self.at)
            .ok()
            .and_then(|at| chrono::DateTime::from_timestamp(at, 0))
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string()
            })
            .unwrap_or_else(|| self.at.to_string());
        if self.at >= self.now {
            write!(f, "{local} (in {})", format_duration(self.at - self.now))
        } else {
            write!(f, "{local} ({} ago)", format_duration(self.now - self.at))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utr() -> Token {
        Token {
            symbol: "UTR".into(),
            decimals: 18,
        }
    }

    #[test]
    fn amounts_parse_from_tokens_and_wei() {
        let t = utr();
        assert_eq!(t.parse("10").unwrap(), U256::from(10) * t.one());
        assert_eq!(t.parse("0.5").unwrap(), t.one() / U256::from(2));
        assert_eq!(t.parse(".25").unwrap(), t.one() / U256::from(4));
        assert_eq!(t.parse("1500wei").unwrap(), U256::from(1500));
        assert_eq!(t.parse("2 UTR").unwrap(), U256::from(2) * t.one());
        assert_eq!(
            t.parse("1.000000000000000001").unwrap(),
            t.one() + U256::from(1)
        );
    }

    #[test]
    fn bad_amounts_are_refused_with_the_reason() {
        let t = utr();
        assert!(matches!(t.parse("ten"), Err(UnitError::BadAmount(_))));
        assert!(matches!(t.parse("-1"), Err(UnitError::BadAmount(_))));
        assert!(matches!(t.parse("1.2.3"), Err(UnitError::BadAmount(_))));
        assert!(matches!(t.parse("."), Err(UnitError::BadAmount(_))));
        assert!(matches!(
            t.parse("0.0000000000000000001"),
            Err(UnitError::TooPrecise(_, 18))
        ));
        assert!(matches!(t.parse("1e3"), Err(UnitError::BadAmount(_))));
    }

    #[test]
    fn amounts_format_with_the_symbol_and_no_trailing_zeros() {
        let t = utr();
        assert_eq!(
            t.format(U256::from(25) * t.one() / U256::from(2)),
            "12.5 UTR"
        );
        assert_eq!(t.format(U256::from(3) * t.one()), "3 UTR");
        assert_eq!(t.format(U256::from(1)), "0.000000000000000001 UTR");
        assert_eq!(t.format(U256::ZERO), "0 UTR");
    }

    #[test]
    fn prices_round_so_a_limit_holds() {
        let t = utr();
        assert_eq!(t.parse_price("3600wei", false).unwrap(), U256::from(1));
        assert_eq!(t.parse_price("3601wei/h", false).unwrap(), U256::from(1));
        assert_eq!(t.parse_price("3601wei", true).unwrap(), U256::from(2));
        assert_eq!(t.parse_price("5wei/s", false).unwrap(), U256::from(5));
        assert_eq!(
            t.parse_price("0.36", false).unwrap(),
            t.one() / U256::from(10_000)
        );
        assert!(matches!(
            t.parse_price("5/d", false),
            Err(UnitError::BadPriceUnit(_))
        ));
    }

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("10m").unwrap(), 600);
        assert_eq!(parse_duration("2h").unwrap(), 7200);
        assert_eq!(parse_duration("1d").unwrap(), 86_400);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400);
        assert_eq!(parse_duration("120").unwrap(), 120);
        for bad in ["", "h", "2x", "1h3", "0s", "-5m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_duration(5400), "1h 30m");
        assert_eq!(format_duration(86_400 + 60), "1d");
        assert_eq!(format_duration(45), "45s");
        assert_eq!(format_duration(0), "0s");
    }
}

//! Durations as Go writes and reads them: `1m30s`, `500ms`, `1h`, `2.5s`.

use std::fmt;

use serde::de::{Deserialize, Deserializer};
use serde::{Serialize, Serializer};

use super::invalid;

/// A duration written as Go writes them: `1m30s`, `500ms`, `1h`, `2.5s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        if text == "0" {
            return Ok(Duration::default());
        }
        if text.is_empty() {
            return Err("the duration is empty".into());
        }
        // In whole nanoseconds, as Go counts: a float sum loses nanoseconds past ~104 days.
        let mut total: u128 = 0;
        let mut rest = text;
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        while !rest.is_empty() {
            let whole = &rest[..digits(rest)];
            rest = &rest[whole.len()..];
            let fraction = match rest.strip_prefix('.') {
                Some(after) => {
                    let fraction = &after[..digits(after)];
                    rest = &after[fraction.len()..];
                    fraction
                }
                None => "",
            };
            if whole.is_empty() && fraction.is_empty() {
                return Err(format!("`{text}` is not a duration"));
            }
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let nanos: u128 = match &rest[..unit_len] {
                "" if rest.is_empty() => {
                    return Err(format!("`{text}` has a number without a unit"));
                }
                "" => return Err(format!("`{text}` is not a duration")),
                "ns" => 1,
                "us" | "µs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                unit => return Err(format!("`{unit}` is not a unit of time in `{text}`")),
            };
            // Digits past the 20th are below a nanosecond of any unit.
            let fraction = &fraction[..fraction.len().min(20)];
            let part =
                whole
                    .parse::<u128>()
                    .unwrap_or(if whole.is_empty() { 0 } else { u128::MAX });
            let fraction_nanos = match fraction {
                "" => 0,
                f => f.parse::<u128>().unwrap_or(0) * nanos / 10u128.pow(f.len() as u32),
            };
            total = total
                .saturating_add(part.saturating_mul(nanos))
                .saturating_add(fraction_nanos);
            rest = &rest[unit_len..];
        }
        Ok(Duration(std::time::Duration::from_nanos(
            u64::try_from(total).unwrap_or(u64::MAX),
        )))
    }
}

impl fmt::Display for Duration {
    /// Go's `time.Duration.String()`, which is what compose prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        if nanos < 1_000_000_000 {
            let (unit, div) = match nanos {
                n if n < 1_000 => ("ns", 1u128),
                n if n < 1_000_000 => ("µs", 1_000),
                _ => ("ms", 1_000_000),
            };
            return write!(f, "{}{unit}", fraction(nanos, div));
        }
        let hours = nanos / 3_600_000_000_000;
        let minutes = (nanos / 60_000_000_000) % 60;
        let seconds = nanos % 60_000_000_000;
        if hours > 0 {
            write!(f, "{hours}h{minutes}m")?;
        } else if minutes > 0 {
            write!(f, "{minutes}m")?;
        }
        write!(f, "{}s", fraction(seconds, 1_000_000_000))
    }
}

/// `value / div` with the fractional digits Go would print (no trailing zeros).
fn fraction(value: u128, div: u128) -> String {
    let whole = value / div;
    let rest = value % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.ilog10() as usize;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        Duration::parse(&text).map_err(|msg| {
            invalid(
                format!("invalid duration: {msg}"),
                "write a duration such as 10s, 1m30s or 500ms",
            )
        })
    }
}

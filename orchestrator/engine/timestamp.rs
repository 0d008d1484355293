//! The engine's timestamps: RFC 3339, with a fraction of up to nine digits whose trailing zeros
//! are dropped (Go's RFC3339Nano), so they order as times only once they are numbers.

/// RFC 3339 (`2024-05-01T10:00:00.123456789Z`, `…+02:00`) to Unix seconds.
pub fn unix_seconds(text: &str) -> Option<i64> {
    let (date, rest) = text.split_once('T')?;
    let mut date_parts = date.split('-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: i64 = date_parts.next()?.parse().ok()?;
    let day: i64 = date_parts.next()?.parse().ok()?;
    let hour: i64 = rest.get(0..2)?.parse().ok()?;
    let minute: i64 = rest.get(3..5)?.parse().ok()?;
    let second: i64 = rest.get(6..8)?.parse().ok()?;
    let zone = &rest[8..];
    let zone = zone.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match zone {
        "" | "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let hours: i64 = z.get(1..3)?.parse().ok()?;
            let minutes: i64 = z.get(4..6)?.parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// RFC 3339 with a fraction (`2024-05-01T10:00:00.123456789Z`) to Unix nanoseconds.
pub fn unix_nanos(text: &str) -> Option<i64> {
    let seconds = unix_seconds(text)?;
    let (_, time) = text.split_once('T')?;
    let fraction = time.get(8..).unwrap_or("");
    let digits: String = fraction
        .strip_prefix('.')
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .take(9)
        .collect();
    let nanos: i64 = format!("{digits:0<9}").parse().ok()?;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Unix seconds as Go's `time.Time.String()` writes them in UTC, as `docker ps` prints a
/// container's creation: `2026-12-06 04:29:49 +0000 UTC`.
pub fn go_utc(unix: i64) -> String {
    let (days, second) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // The civil date of a day number (Howard Hinnant's algorithm, the inverse of the above).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} +0000 UTC",
        second / 3600,
        second % 3600 / 60,
        second % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{go_utc, unix_nanos, unix_seconds};

    #[test]
    fn utc_times_as_go_prints_them() {
        assert_eq!(go_utc(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(go_utc(1_709_210_096), "2024-02-29 12:34:56 +0000 UTC");
        assert_eq!(go_utc(951_868_800), "2000-03-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn seconds_and_nanoseconds_with_any_fraction_and_offset() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_seconds("2024-02-29T12:34:56.123456789Z"),
            Some(1_709_210_096)
        );
        assert_eq!(
            unix_seconds("2024-02-29T14:34:56+02:00"),
            Some(1_709_210_096)
        );
        assert_eq!(unix_seconds("garbage"), None);
        assert_eq!(
            unix_nanos("2024-02-29T12:34:56.123456789Z"),
            Some(1_709_210_096_123_456_789)
        );
        assert_eq!(
            unix_nanos("2024-02-29T14:34:56.5+02:00"),
            Some(1_709_210_096_500_000_000)
        );
        assert_eq!(
            unix_nanos("2024-02-29T12:34:56Z"),
            Some(1_709_210_096_000_000_000)
        );
        assert_eq!(unix_nanos("garbage"), None);
    }

    #[test]
    fn a_shorter_string_can_be_the_later_time() {
        // RFC3339Nano drops trailing zeros, so only the numbers order as the times do.
        let earlier = unix_nanos("2026-11-23T08:17:51.123456789Z").unwrap();
        let later = unix_nanos("2026-11-23T08:17:51.2Z").unwrap();
        assert!(earlier < later);
        assert_eq!(
            unix_nanos("2000-03-01T00:00:00Z"),
            Some(951_868_800_000_000_000)
        );
    }
}

//! Tables and quantities as the docker CLI and compose print them: Go's `tabwriter` columns,
//! `go-units`' human durations and sizes. Pure, so that `images`, `ls` and `top` print what
//! compose prints for the same data.

/// Go's `tabwriter` with `minwidth` and `padding`: every column but the last is as wide as its
/// widest cell plus `padding`, and at least `minwidth`; the last cell of a line is not padded.
pub fn tabwriter(rows: &[Vec<String>], minwidth: usize, padding: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            widths[i] = widths[i].max((cell.chars().count() + padding).max(minwidth));
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}", width = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

/// The docker CLI's tables (`docker compose ls`, `images`): columns of at least 20, 3 apart.
pub fn docker_table(rows: &[Vec<String>]) -> String {
    tabwriter(rows, 20, 3)
}

/// `go-units`' `HumanSizeWithPrecision(size, 3)`: decimal units, three significant digits
/// (`1.98MB`, `7.5kB`, `120B`).
pub fn human_size(bytes: u64) -> String {
    custom_size(
        bytes,
        1000.0,
        &["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"],
        3,
    )
}

/// `go-units`' `BytesSize`: binary units, four significant digits (`1.695MiB`, `23.54GiB`).
pub fn bytes_size(bytes: u64) -> String {
    custom_size(
        bytes,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"],
        4,
    )
}

fn custom_size(bytes: u64, base: f64, units: &[&str], digits: i32) -> String {
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= base && unit + 1 < units.len() {
        size /= base;
        unit += 1;
    }
    format!("{}{}", significant(size, digits), units[unit])
}

/// `%.{digits}g` for a number below 1000: at most `digits` significant digits, no trailing
/// zeros.
fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Seconds since `unix` (Unix seconds), never negative.
pub fn age(unix: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    (now - unix).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::listing::human_duration;

    fn rows(lines: &[&[&str]]) -> Vec<Vec<String>> {
        lines
            .iter()
            .map(|l| l.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn columns_as_go_tabwriter_pads_them() {
        // compose top's table: minimum 4, padding 2 (a one-character column is 4 wide).
        let table = tabwriter(
            &rows(&[
                &["SERVICE", "#", "UID", "CMD"],
                &["db", "1", "root", "sleep 3600"],
            ]),
            4,
            2,
        );
        assert_eq!(
            table,
            "SERVICE  #   UID   CMD\ndb       1   root  sleep 3600\n"
        );
        // docker's: minimum 20, padding 3; a long cell widens its column.
        let table = docker_table(&rows(&[
            &["NAME", "STATUS", "CONFIG FILES"],
            &["p", "exited(1), running(1)", "/tmp/p/compose.yaml"],
        ]));
        assert_eq!(
            table,
            "NAME                STATUS                  CONFIG FILES\n\
             p                   exited(1), running(1)   /tmp/p/compose.yaml\n"
        );
    }

    #[test]
    fn durations_as_go_units_words_them() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(119), "About a minute");
        assert_eq!(human_duration(19 * 60 + 5), "19 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5400), "2 hours");
        assert_eq!(human_duration(47 * 3600), "47 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(20 * 86400), "2 weeks");
        assert_eq!(human_duration(90 * 86400), "3 months");
        assert_eq!(human_duration(800 * 86400), "2 years");
    }

    #[test]
    fn sizes_as_go_units_writes_them() {
        assert_eq!(human_size(1_984_241), "1.98MB");
        assert_eq!(human_size(120), "120B");
        assert_eq!(human_size(7_500), "7.5kB");
        assert_eq!(human_size(2_000_000_000), "2GB");
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(123_456_789), "123MB");
        assert_eq!(bytes_size(432 * 1024), "432KiB");
        assert_eq!(bytes_size(1_777_336), "1.695MiB");
        assert_eq!(bytes_size(25_275_990_016), "23.54GiB");
        assert_eq!(bytes_size(0), "0B");
    }
}

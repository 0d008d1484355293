//! Numbers and booleans written where compose wants a string (`PYTHON_VERSION: 3.10` in
//! `environment`, `labels`, `build.args`, `sysctls`): compose v2 reads them as YAML numbers
//! first, then prints them as Go prints them (`fmt.Sprint`), so `3.10` is `"3.1"`, `1.0` is
//! `"1"`, `True` is `"true"`, `0x1F` is `"31"`. wharf gives them the same text, so that the
//! container sees what it sees under compose, and the config hash is compose's.

/// Go's `fmt.Sprint` of a float64: the shortest digits that read back the same, in `%e` form
/// when the exponent is below -4 or at least 6 (the `%g` rule for the shortest precision).
pub fn float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` gives the shortest digits too: `3.1e0`, `1e3`, `-1.234567e6`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` has a numeric exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1;
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::float;

    #[test]
    fn floats_print_as_go_prints_them() {
        assert_eq!(float(3.10), "3.1");
        assert_eq!(float(1.0), "1");
        assert_eq!(float(1e3), "1000");
        assert_eq!(float(-0.5), "-0.5");
        assert_eq!(float(123456.0), "123456");
        assert_eq!(float(1234567.0), "1.234567e+06");
        assert_eq!(float(1e6), "1e+06");
        assert_eq!(float(0.0001), "0.0001");
        assert_eq!(float(0.00001), "1e-05");
        assert_eq!(float(1e21), "1e+21");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float(f64::NAN), "NaN");
    }
}

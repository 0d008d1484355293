//! Variable substitution in one string value, as the compose specification (and compose-go's
//! `template` package, its reference implementation) define it.
//!
//! Supported forms, where `NAME` matches `[A-Za-z_][A-Za-z0-9_]*`:
//!
//! | form               | result                                                         |
//! |--------------------|----------------------------------------------------------------|
//! | `$$`               | a literal `$`                                                  |
//! | `$NAME`, `${NAME}` | the value of `NAME`; `""` (and reported in `unset`) when unset |
//! | `${NAME:-default}` | `default` when `NAME` is unset or empty                        |
//! | `${NAME-default}`  | `default` when `NAME` is unset                                 |
//! | `${NAME:+alt}`     | `alt` when `NAME` is set and non-empty, else `""`              |
//! | `${NAME+alt}`      | `alt` when `NAME` is set, else `""`                            |
//! | `${NAME:?reason}`  | an error when `NAME` is unset or empty                         |
//! | `${NAME?reason}`   | an error when `NAME` is unset                                  |
//!
//! `default`, `alt` and `reason` are themselves substituted, lazily (only when they are used),
//! so `${A:-${B:-x}}` nests. A `$` that is followed by neither `$`, `{` nor a name start is kept
//! literally (`a $ b`, `$1`, `$}`, a trailing `$`); a `${` that does not start a valid reference
//! is an error.
//!
//! # Faithfulness to compose-go
//!
//! compose-go implements this with one regular expression plus a brace-counting pass; this
//! module is a hand-written scanner that reproduces its observable results, including corners:
//!
//! * Names are ASCII, except that compose-go's case-insensitive pattern also accepts the two
//!   non-ASCII case-fold partners of `s` and `k`: `ſ` (U+017F) and `K` (U+212A, Kelvin sign).
//! * The text of a modifier (`${A:-...}`) may span at most one line: `}` is searched on the same
//!   line only, so a default containing a newline is an invalid reference.
//! * Where a modifier's text ends is decided by counting `{`/`}` over the rest of the line, and
//!   the counter skips the character right after every `{`. Balanced text such as
//!   `${A:-{"k":1}}` works as expected; when the count never returns to zero, the reference
//!   extends to the *last* `}` of the line (so `${A:-{}} ${B}` fails, its default being
//!   `{}} ${B`, which contains the unterminated `${B`).
//! * Unset variables are reported only for plain references (`$A`, `${A}`): the variable tested
//!   by a modifier form is never reported, and references inside an unused default are not
//!   evaluated at all.
//!
//! Deviation: nesting deeper than [`MAX_NESTING`] levels is rejected instead of recursing
//! without bound.

use std::ops::Range;

/// How deeply defaults/alternatives/reasons may nest (`${A:-${B:-${C}}}` nests 2 levels).
pub const MAX_NESTING: usize = 256;

/// The result of substituting one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substituted {
    /// The substituted string.
    pub value: String,
    /// Variables that were unset and replaced by "" (caller warns once per name), unique, in
    /// order of first use.
    pub unset: Vec<String>,
}

/// A reference that cannot be substituted: malformed syntax, or a required variable
/// (`${VAR:?reason}`, `${VAR?reason}`) without a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InterpolationError {
    /// byte offset into the template where the offending `$` expression starts
    pub offset: usize,
    /// byte length of that expression (for underlining)
    pub len: usize,
    /// What went wrong. For required variables this is compose-go's wording:
    /// `required variable NAME is missing a value[: reason]`.
    pub message: String,
    /// Some(hint) telling the user how to fix it
    pub help: Option<String>,
}

/// Substitutes every variable reference in `template`, resolving names with `lookup` (`None`
/// means unset, `Some("")` set but empty).
///
/// # Errors
///
/// The first malformed reference or missing required variable, scanning left to right (the
/// same error compose-go reports).
pub fn substitute(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Substituted, InterpolationError> {
    if !template.as_bytes().contains(&b'$') {
        return Ok(Substituted {
            value: template.to_owned(),
            unset: Vec::new(),
        });
    }
    let mut scanner = Scanner {
        src: template,
        lookup,
        unset: Vec::new(),
    };
    let mut value = String::with_capacity(template.len());
    scanner.scan(0, template.len(), 0, &mut value)?;
    Ok(Substituted {
        value,
        unset: scanner.unset,
    })
}

/// The longest value interpolation makes (16 MiB): values that reference a variable holding
/// themselves more than once double with every line, and a `.env` of a few kilobytes would ask
/// for gigabytes (found by fuzzing the `.env` parser).
pub const MAX_VALUE: usize = 16 << 20;

/// Shown with every syntax error, as compose-go does.
const ESCAPE_HINT: &str = "You may need to escape any $ with another $ ($$ is a literal $).";

/// What a `${NAME<op>...}` reference does with its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    /// `-` / `:-`
    Default,
    /// `+` / `:+`
    Alternative,
    /// `?` / `:?`
    Required,
}

struct Scanner<'a> {
    src: &'a str,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    unset: Vec<String>,
}

impl Scanner<'_> {
    /// Substitutes `src[start..end]` into `out`. `end` bounds every search: the text of a
    /// nested default is substituted as a string of its own, exactly like compose-go does.
    fn scan(
        &mut self,
        start: usize,
        end: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpolationError> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut literal_from = start;
        let mut i = start;
        while let Some(rel) = bytes[i..end].iter().position(|&b| b == b'$') {
            let dollar = i + rel;
            let next = if dollar + 1 < end {
                bytes[dollar + 1]
            } else {
                // A trailing `$` is literal.
                break;
            };
            match next {
                b'$' => {
                    out.push_str(&src[literal_from..dollar]);
                    out.push('$');
                    i = dollar + 2;
                    literal_from = i;
                }
                b'{' => {
                    out.push_str(&src[literal_from..dollar]);
                    i = self.braced(dollar, end, depth, out)?;
                    literal_from = i;
                }
                _ => {
                    let name_end = name_end(bytes, dollar + 1, end);
                    if name_end > dollar + 1 {
                        out.push_str(&src[literal_from..dollar]);
                        self.plain(&src[dollar + 1..name_end], dollar..name_end, out)?;
                        literal_from = name_end;
                    }
                    // Otherwise the `$` is literal (`$1`, `$ `, `$}`...): keep scanning.
                    i = name_end.max(dollar + 1);
                }
            }
        }
        out.push_str(&src[literal_from..end]);
        Ok(())
    }

    /// A plain reference (`$NAME` or `${NAME}`, at `reference` in the text): the value, or ""
    /// and a note in `unset`.
    fn plain(
        &mut self,
        name: &str,
        reference: Range<usize>,
        out: &mut String,
    ) -> Result<(), InterpolationError> {
        match (self.lookup)(name) {
            Some(value) => self.push_value(&value, reference, out)?,
            None => {
                if !self.unset.iter().any(|n| n == name) {
                    self.unset.push(name.to_owned());
                }
            }
        }
        Ok(())
    }

    /// Appends the value of the reference at `reference`, unless the result would pass
    /// [`MAX_VALUE`].
    fn push_value(
        &self,
        value: &str,
        reference: Range<usize>,
        out: &mut String,
    ) -> Result<(), InterpolationError> {
        if out.len() + value.len() > MAX_VALUE {
            return Err(InterpolationError {
                offset: reference.start,
                len: reference.len(),
                message: format!(
                    "interpolation makes this value longer than {} MiB",
                    MAX_VALUE >> 20
                ),
                help: Some(
                    "a value that references a variable made of itself more than once doubles \
                     with every line: reference it once"
                        .to_owned(),
                ),
            });
        }
        out.push_str(value);
        Ok(())
    }

    /// Handles the `${` at `dollar`; returns where scanning resumes.
    fn braced(
        &mut self,
        dollar: usize,
        end: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<usize, InterpolationError> {
        let src = self.src;
        let bytes = src.as_bytes();
        let name_start = dollar + 2;
        let name_end = name_end(bytes, name_start, end);
        if name_end == name_start {
            return Err(self.bad_name_start(dollar, end));
        }
        let name = &src[name_start..name_end];
        let at = |i: usize| (i < end).then(|| bytes[i]);
        let (modifier, colon, text_start) = match at(name_end) {
            Some(b'}') => {
                self.plain(name, dollar..name_end + 1, out)?;
                return Ok(name_end + 1);
            }
            Some(b':') => match at(name_end + 1).and_then(modifier_of) {
                Some(modifier) => (modifier, true, name_end + 2),
                None => return Err(self.bad_modifier(dollar, name_end, end)),
            },
            Some(b) => match modifier_of(b) {
                Some(modifier) => (modifier, false, name_end + 1),
                None => return Err(self.bad_char_after_name(dollar, name, name_end, end)),
            },
            None => return Err(self.unterminated(dollar, name, end)),
        };

        // Where does the reference end? compose-go's pattern extends a modifier's text to the
        // last `}` of the line, then cuts it at the first `}` that balances the braces counted
        // from `${` (skipping the byte after each `{`). Reproduce both in a single pass: stop at
        // the balancing `}` if there is one, else use the last `}` seen.
        let mut open = 0_i32;
        let mut skip = false;
        let mut balanced = None;
        let mut last = None;
        for (k, &b) in bytes.iter().enumerate().take(end).skip(dollar) {
            if b == b'\n' {
                break;
            }
            if b == b'}' && k >= text_start {
                last = Some(k);
            }
            if skip {
                skip = false;
            } else if b == b'}' {
                open -= 1;
                if open == 0 {
                    balanced = Some(k);
                    break;
                }
            } else if b == b'{' {
                open += 1;
                skip = true;
            }
        }
        let Some(close) = balanced.or(last) else {
            return Err(self.unterminated(dollar, name, end));
        };
        if depth >= MAX_NESTING {
            return Err(InterpolationError {
                offset: dollar,
                len: close + 1 - dollar,
                message: format!(
                    "variable references are nested more than {MAX_NESTING} levels deep"
                ),
                help: Some("simplify the nested defaults of this value".to_owned()),
            });
        }

        let value = (self.lookup)(name);
        let usable = |v: &String| !(colon && v.is_empty());
        match (modifier, value) {
            (Modifier::Default, Some(v)) if usable(&v) => {
                self.push_value(&v, dollar..close + 1, out)?
            }
            (Modifier::Default, _) => self.scan(text_start, close, depth + 1, out)?,
            (Modifier::Alternative, Some(v)) if usable(&v) => {
                self.scan(text_start, close, depth + 1, out)?;
            }
            (Modifier::Alternative, _) => {}
            (Modifier::Required, Some(v)) if usable(&v) => {
                self.push_value(&v, dollar..close + 1, out)?
            }
            (Modifier::Required, _) => {
                let mut reason = String::new();
                self.scan(text_start, close, depth + 1, &mut reason)?;
                let message = if reason.is_empty() {
                    format!("required variable {name} is missing a value")
                } else {
                    format!("required variable {name} is missing a value: {reason}")
                };
                let help = if colon {
                    format!(
                        "set {name} to a non-empty value in the environment or in the .env file"
                    )
                } else {
                    format!("set {name} in the environment or in the .env file")
                };
                return Err(InterpolationError {
                    offset: dollar,
                    len: close + 1 - dollar,
                    message,
                    help: Some(help),
                });
            }
        }
        Ok(close + 1)
    }

    /// The span to underline for a malformed reference starting at `dollar`: up to and
    /// including the next `}` on its line, else to the end of the line.
    fn bad_span(&self, dollar: usize, end: usize) -> (usize, usize) {
        let bytes = &self.src.as_bytes()[dollar..end];
        let line = bytes
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(bytes.len());
        let len = bytes[..line]
            .iter()
            .skip(2)
            .position(|&b| b == b'}')
            .map_or(line, |p| p + 3);
        (dollar, len)
    }

    fn syntax_error(
        &self,
        dollar: usize,
        end: usize,
        reason: &str,
        help: String,
    ) -> InterpolationError {
        let (offset, len) = self.bad_span(dollar, end);
        let expr = &self.src[offset..offset + len];
        InterpolationError {
            offset,
            len,
            message: format!("invalid interpolation format {expr:?}: {reason}"),
            help: Some(format!("{help}. {ESCAPE_HINT}")),
        }
    }

    fn bad_name_start(&self, dollar: usize, end: usize) -> InterpolationError {
        let first = self.src[dollar + 2..end].chars().next();
        let reason = match first {
            None | Some('\n') => "missing variable name and closing '}'".to_owned(),
            Some('}') => "empty variable name".to_owned(),
            Some(c) => format!("a variable name cannot start with {c:?}"),
        };
        self.syntax_error(
            dollar,
            end,
            &reason,
            "a reference looks like ${NAME}, where NAME starts with a letter or '_' and \
             continues with letters, digits or '_'"
                .to_owned(),
        )
    }

    fn bad_modifier(&self, dollar: usize, colon: usize, end: usize) -> InterpolationError {
        let modifier: String = self.src[colon..end]
            .chars()
            .take(2)
            .take_while(|&c| c != '\n')
            .collect();
        self.syntax_error(
            dollar,
            end,
            &format!("unsupported modifier {modifier:?}"),
            "the supported forms are ${VAR:-default}, ${VAR-default}, ${VAR:+alternative}, \
             ${VAR+alternative}, ${VAR:?error} and ${VAR?error}"
                .to_owned(),
        )
    }

    fn bad_char_after_name(
        &self,
        dollar: usize,
        name: &str,
        name_end: usize,
        end: usize,
    ) -> InterpolationError {
        let c = self.src[name_end..end].chars().next().unwrap_or('?');
        if c == '\n' {
            return self.unterminated(dollar, name, end);
        }
        let help = if c.is_whitespace() {
            format!("remove the whitespace: ${{{name}}}")
        } else {
            format!(
                "variable names may only contain letters, digits and '_'; the supported forms \
                 are ${{{name}}}, ${{{name}:-default}}, ${{{name}-default}}, \
                 ${{{name}:+alternative}}, ${{{name}+alternative}}, ${{{name}:?error}} and \
                 ${{{name}?error}}"
            )
        };
        self.syntax_error(
            dollar,
            end,
            &format!("unexpected character {c:?} after variable name {name:?}"),
            help,
        )
    }

    fn unterminated(&self, dollar: usize, name: &str, end: usize) -> InterpolationError {
        self.syntax_error(
            dollar,
            end,
            "missing closing '}'",
            format!(
                "close the reference with '}}' on the same line, e.g. ${{{name}}} (a default \
                 value cannot span several lines)"
            ),
        )
    }
}

fn modifier_of(b: u8) -> Option<Modifier> {
    match b {
        b'-' => Some(Modifier::Default),
        b'+' => Some(Modifier::Alternative),
        b'?' => Some(Modifier::Required),
        _ => None,
    }
}

/// Byte length of the name character at `i` (0 if there is none). compose-go's pattern is
/// `(?i)[_a-z][_a-z0-9]*`; case folding adds U+017F (ſ, folds to s) and U+212A (Kelvin sign,
/// folds to k) to the ASCII letters.
fn name_char_len(bytes: &[u8], i: usize, end: usize, first: bool) -> usize {
    let b = bytes[i];
    if b == b'_' || b.is_ascii_alphabetic() || (!first && b.is_ascii_digit()) {
        1
    } else if b == 0xC5 && i + 1 < end && bytes[i + 1] == 0xBF {
        2
    } else if b == 0xE2 && i + 2 < end && bytes[i + 1] == 0x84 && bytes[i + 2] == 0xAA {
        3
    } else {
        0
    }
}

/// The end of the (longest) name starting at `start`; `start` itself when there is none.
fn name_end(bytes: &[u8], start: usize, end: usize) -> usize {
    let mut i = start;
    while i < end {
        let len = name_char_len(bytes, i, end, i == start);
        if len == 0 {
            break;
        }
        i += len;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("FOO", "first"),
            ("BAR", ""),
            ("JSON", r#"{"json":2}"#),
            ("lower", "low"),
            ("_under", "score"),
            ("A1", "a-one"),
        ])
    }

    fn run(template: &str) -> Result<Substituted, InterpolationError> {
        let env = env();
        substitute(template, &|name: &str| {
            env.get(name).map(|v| (*v).to_owned())
        })
    }

    fn ok(template: &str) -> String {
        match run(template) {
            Ok(s) => s.value,
            Err(e) => panic!("{template:?} failed: {e:?}"),
        }
    }

    fn err(template: &str) -> InterpolationError {
        match run(template) {
            Ok(s) => panic!("{template:?} should fail, got {s:?}"),
            Err(e) => e,
        }
    }

    fn unset(template: &str) -> Vec<String> {
        run(template).unwrap().unset
    }

    #[test]
    fn text_without_dollar_is_unchanged() {
        assert_eq!(ok(""), "");
        assert_eq!(ok("plain text {with} braces"), "plain text {with} braces");
        assert_eq!(ok("héllo wörld ✓"), "héllo wörld ✓");
    }

    #[test]
    fn double_dollar_is_a_literal_dollar() {
        assert_eq!(ok("$$"), "$");
        assert_eq!(ok("$${FOO}"), "${FOO}");
        assert_eq!(ok("$$FOO"), "$FOO");
        assert_eq!(ok("$$$$"), "$$");
        assert_eq!(ok("$$$FOO"), "$first");
        assert_eq!(ok("echo $$HOME > /tmp/x"), "echo $HOME > /tmp/x");
        assert_eq!(ok("$${"), "${");
        assert!(unset("$$FOO $${X}").is_empty());
    }

    #[test]
    fn dollar_not_followed_by_a_reference_is_literal() {
        for t in [
            "a $ string",
            "^REGEX$",
            "$}",
            "$",
            "$1",
            "$1.50 and $2",
            "$-",
            "$.x",
            "$@",
            "$ {FOO}",
            "cost: 5$",
            "$\n",
            "$é",
        ] {
            assert_eq!(ok(t), t, "template {t:?}");
            assert!(unset(t).is_empty());
        }
        assert_eq!(ok("$1$FOO"), "$1first");
        assert_eq!(ok("$ $FOO $"), "$ first $");
    }

    #[test]
    fn plain_references() {
        assert_eq!(ok("$FOO"), "first");
        assert_eq!(ok("${FOO}"), "first");
        assert_eq!(ok("This $FOO var"), "This first var");
        assert_eq!(ok("This ${FOO} var"), "This first var");
        assert_eq!(ok("${FOO}bar"), "firstbar");
        assert_eq!(ok("$FOO-bar"), "first-bar");
        assert_eq!(ok("$FOO.bar"), "first.bar");
        assert_eq!(ok("$FOO/$FOO"), "first/first");
        assert_eq!(ok("$lower ${_under} $A1"), "low score a-one");
        assert_eq!(ok("${FOO}${FOO}"), "firstfirst");
        assert_eq!(ok("é$FOO€"), "éfirst€");
        assert_eq!(ok("$FOO}"), "first}");
        assert_eq!(ok("${FOO}}"), "first}");
        assert_eq!(ok("{${FOO}}"), "{first}");
        assert_eq!(ok("a\n$FOO\nb ${FOO}\n"), "a\nfirst\nb first\n");
    }

    #[test]
    fn names_are_greedy() {
        // `$FOO_BAR` is the variable FOO_BAR, not FOO followed by "_BAR".
        assert_eq!(ok("$FOO_BAR"), "");
        assert_eq!(unset("$FOO_BAR"), ["FOO_BAR"]);
        assert_eq!(ok("$FOO1"), "");
        assert_eq!(unset("$FOO1"), ["FOO1"]);
        // A name cannot start with a digit, but may contain digits.
        assert_eq!(ok("$A1x"), "");
        assert_eq!(ok("$A1-x"), "a-one-x");
    }

    #[test]
    fn case_fold_partners_of_s_and_k_are_name_characters() {
        let lookup = |n: &str| (n == "ſ" || n == "\u{212A}EY").then(|| format!("<{n}>"));
        assert_eq!(substitute("$ſ", &lookup).unwrap().value, "<ſ>");
        assert_eq!(
            substitute("${\u{212A}EY}!", &lookup).unwrap().value,
            "<\u{212A}EY>!"
        );
        // Other non-ASCII letters are not.
        assert_eq!(substitute("$é", &lookup).unwrap().value, "$é");
        assert_eq!(substitute("$Aé", &lookup).unwrap().unset, ["A"]);
    }

    #[test]
    fn unset_variables_become_empty_and_are_reported_once() {
        assert_eq!(ok("This ${missing} var"), "This  var");
        assert_eq!(ok("This $missing var"), "This  var");
        let s = run("$X ${Y} $X ${X} $FOO $Y").unwrap();
        assert_eq!(s.value, "    first ");
        assert_eq!(s.unset, ["X", "Y"]);
        // Set but empty is not unset.
        assert_eq!(ok("This ${BAR} var"), "This  var");
        assert!(unset("${BAR}$BAR").is_empty());
    }

    #[test]
    fn default_when_unset_or_empty() {
        assert_eq!(ok("ok ${missing:-def}"), "ok def");
        assert_eq!(ok("ok ${BAR:-def}"), "ok def");
        assert_eq!(ok("ok ${FOO:-def}"), "ok first");
        assert_eq!(ok("${missing:-}"), "");
        assert_eq!(ok("${BAR:-/non:-alphanumeric}"), "/non:-alphanumeric");
        assert_eq!(ok("${missing:-a b  c}"), "a b  c");
        assert_eq!(ok("${missing:-${FOO}}"), "first");
    }

    #[test]
    fn default_when_unset() {
        assert_eq!(ok("ok ${missing-def}"), "ok def");
        assert_eq!(ok("ok ${BAR-def}"), "ok ");
        assert_eq!(ok("ok ${FOO-def}"), "ok first");
        assert_eq!(ok("${missing-}"), "");
        assert_eq!(ok("${missing--}"), "-");
        assert_eq!(ok("${missing-:-}"), ":-");
    }

    #[test]
    fn alternative_when_set_and_non_empty() {
        assert_eq!(ok("ok ${UNSET_VAR:+presence}"), "ok ");
        assert_eq!(ok("ok ${BAR:+presence}"), "ok ");
        assert_eq!(ok("ok ${FOO:+presence}"), "ok presence");
        assert_eq!(ok("${FOO:+}"), "");
    }

    #[test]
    fn alternative_when_set() {
        assert_eq!(ok("ok ${UNSET_VAR+presence}"), "ok ");
        assert_eq!(ok("ok ${BAR+presence}"), "ok presence");
        assert_eq!(ok("ok ${FOO+presence}"), "ok presence");
    }

    #[test]
    fn modifier_forms_never_report_the_tested_variable_as_unset() {
        for t in [
            "${U:-x}",
            "${U-x}",
            "${U:+x}",
            "${U+x}",
            "${BAR:?x}x",
            "${FOO?x}",
        ] {
            if let Ok(s) = run(t) {
                assert!(s.unset.is_empty(), "{t:?} reported {:?}", s.unset);
            }
        }
        assert!(unset("${U:-x}${U+y}").is_empty());
    }

    #[test]
    fn required_variables() {
        assert_eq!(ok("ok ${FOO:?err}"), "ok first");
        assert_eq!(ok("ok ${FOO?err}"), "ok first");
        assert_eq!(ok("ok ${BAR?err}"), "ok ");
        let cases = [
            (
                "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
                "required variable UNSET_VAR is missing a value: Mandatory Variable Unset",
            ),
            (
                "not ok ${BAR:?Mandatory Variable Empty}",
                "required variable BAR is missing a value: Mandatory Variable Empty",
            ),
            (
                "not ok ${UNSET_VAR:?}",
                "required variable UNSET_VAR is missing a value",
            ),
            (
                "not ok ${UNSET_VAR?Mandatory Variable Unset}",
                "required variable UNSET_VAR is missing a value: Mandatory Variable Unset",
            ),
            (
                "not ok ${UNSET_VAR?}",
                "required variable UNSET_VAR is missing a value",
            ),
            (
                "not ok ${UNSET_VAR:?Mandatory ${FOO}}",
                "required variable UNSET_VAR is missing a value: Mandatory first",
            ),
            (
                "not ok ${UNSET_VAR?Mandatory $FOO}",
                "required variable UNSET_VAR is missing a value: Mandatory first",
            ),
            // The message sees defaults too.
            (
                "${U?at ${V:-least} this}",
                "required variable U is missing a value: at least this",
            ),
        ];
        for (t, message) in cases {
            let e = err(t);
            assert_eq!(e.message, message, "template {t:?}");
            assert_eq!(e.to_string(), message);
            assert!(e.help.as_deref().unwrap().contains("set "), "{e:?}");
        }
    }

    #[test]
    fn required_error_location() {
        let t = "not ok ${UNSET_VAR:?boom} tail";
        let e = err(t);
        assert_eq!(e.offset, 7);
        assert_eq!(&t[e.offset..e.offset + e.len], "${UNSET_VAR:?boom}");
        assert_eq!(
            e.help.as_deref(),
            Some("set UNSET_VAR to a non-empty value in the environment or in the .env file")
        );
        let e = err("${X?}");
        assert_eq!((e.offset, e.len), (0, 5));
        assert_eq!(
            e.help.as_deref(),
            Some("set X in the environment or in the .env file")
        );
        // A required reference nested in a default is located inside the template.
        let t = "x ${A:-y ${B:?inner}}";
        let e = err(t);
        assert_eq!(&t[e.offset..e.offset + e.len], "${B:?inner}");
        assert_eq!(e.message, "required variable B is missing a value: inner");
        // ... and one nested in a message wins over the outer one.
        let t = "${A:?${B:?inner}}";
        let e = err(t);
        assert_eq!(e.message, "required variable B is missing a value: inner");
        assert_eq!((e.offset, e.len), (5, 11));
    }

    #[test]
    fn first_error_wins() {
        let e = err("${A:?first} ${B:?second}");
        assert_eq!(e.message, "required variable A is missing a value: first");
        let e = err("${A:?first} ${");
        assert_eq!(e.message, "required variable A is missing a value: first");
        let e = err("${ } ${A:?first}");
        assert_eq!(e.offset, 0);
    }

    #[test]
    fn operator_is_the_one_right_after_the_name() {
        let e = err("${UNSET_VAR?bar-baz}");
        assert_eq!(
            e.message,
            "required variable UNSET_VAR is missing a value: bar-baz"
        );
        assert_eq!(ok("${UNSET_VAR-myerror?msg}"), "myerror?msg");
        assert_eq!(ok("${FOO?bar-baz}"), "first");
        assert_eq!(ok("${BAR:-default_for_empty}"), "default_for_empty");
        assert_eq!(ok("${U-va:-lu:?e}"), "va:-lu:?e");
        assert_eq!(ok("${FOO+va:+lue}"), "va:+lue");
        assert_eq!(ok("${FOO:+va:?lu:-e}"), "va:?lu:-e");
        assert_eq!(ok("${U:-a:+b}"), "a:+b");
    }

    #[test]
    fn surrounding_text_does_not_change_the_operator() {
        let cases = [
            ("-ok ${BAR:-defaultValue}", "-ok defaultValue"),
            ("+ok ${UNSET:-${BAR-defaultValue}}", "+ok "),
            ("-ok ${FOO:-defaultValue}", "-ok first"),
            (":-ok ${UNSET-defaultValue}", ":-ok defaultValue"),
            (":-ok ${BAR-defaultValue}", ":-ok "),
            (":?ok ${BAR-defaultValue}", ":?ok "),
            (":?ok ${BAR:-defaultValue}", ":?ok defaultValue"),
            (":+ok ${BAR:-defaultValue}", ":+ok defaultValue"),
            ("+ok ${BAR-defaultValue}", "+ok "),
            ("?ok ${BAR:-defaultValue}", "?ok defaultValue"),
            ("${BAR:-x}?:-+", "x?:-+"),
        ];
        for (t, want) in cases {
            assert_eq!(ok(t), want, "template {t:?}");
        }
    }

    #[test]
    fn defaults_are_substituted() {
        let cases = [
            ("ok ${UNSET_VAR-$FOO}", "ok first"),
            ("ok ${UNSET_VAR-${FOO}}", "ok first"),
            ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
            ("ok ${BAR:-$FOO}", "ok first"),
            ("ok ${BAR:-${FOO}}", "ok first"),
            ("ok ${BAR:-${FOO} ${FOO}}", "ok first first"),
            ("ok ${BAR+$FOO}", "ok first"),
            ("ok ${BAR+$FOO ${FOO:+second}}", "ok first second"),
            ("${A:-${B}-x}", "-x"),
            ("${A:-${FOO}-x}", "first-x"),
            ("${A:-${B:-${C}}}", ""),
            ("${A:-${B:-${FOO}}}", "first"),
            ("${A:-${B:-${C:-deep}}}!", "deep!"),
            ("${A:-$$}", "$"),
            ("${A:-$${B}}", "${B}"),
            ("${A:-x$}", "x$"),
            ("${A:-$}", "$"),
            ("${FOO:+[$FOO]}", "[first]"),
        ];
        for (t, want) in cases {
            assert_eq!(ok(t), want, "template {t:?}");
        }
        assert_eq!(unset("${A:-${B:-${C}}}"), ["C"]);
        assert_eq!(unset("${A:-${B}-x}"), ["B"]);
    }

    #[test]
    fn unused_branches_are_not_evaluated() {
        // Nothing is looked up, reported, or rejected in a branch that is not taken.
        let s = run("${A:+${A},}B").unwrap();
        assert_eq!(s.value, "B");
        assert!(s.unset.is_empty());
        let s = run("${FOO?${B}}").unwrap();
        assert_eq!(s.value, "first");
        assert!(s.unset.is_empty());
        assert_eq!(ok("${FOO:-${}}"), "first");
        assert_eq!(ok("${FOO:-${X:?never}}"), "first");
        assert_eq!(ok("${U:+${X:?never}}"), "");
        assert_eq!(unset("${A:-${B}}"), ["B"]);
    }

    #[test]
    fn defaults_containing_braces() {
        assert_eq!(ok(r#"ok ${missing:-{"json":1}}"#), r#"ok {"json":1}"#);
        assert_eq!(ok(r#"ok ${missing-{"json":1}}"#), r#"ok {"json":1}"#);
        assert_eq!(ok(r#"ok ${JSON:-{"json":1}}"#), r#"ok {"json":2}"#);
        assert_eq!(ok(r#"ok ${JSON-{"json":1}}"#), r#"ok {"json":2}"#);
        assert_eq!(ok("${U:-{a}{b}} tail"), "{a}{b} tail");
        assert_eq!(ok("${U:-a}b}"), "ab}");
        assert_eq!(ok("${U:-a} and ${V:-b}"), "a and b");
        assert_eq!(ok("${U:-a}-${FOO}-${V-c}"), "a-first-c");
        assert_eq!(ok("${U:-{}}"), "{}");
    }

    #[test]
    fn compose_go_brace_counting_quirks() {
        // The counter skips the character after each `{`, so here it never balances and the
        // reference extends to the last `}` of the line.
        assert_eq!(ok("${U:-{}"), "{");
        assert_eq!(ok("${U:-a{b}"), "a{b");
        assert_eq!(ok("${U:-{}} x }"), "{}} x ");
        // ... which can swallow a later reference and leave it unterminated.
        let t = "${U:-{}} ${FOO}";
        let e = err(t);
        assert_eq!(e.offset, 9);
        assert!(e.message.contains("missing closing '}'"), "{e:?}");
        // When the variable is set the swallowed text is simply dropped.
        assert_eq!(ok("${FOO:-{}} ${FOO}"), "first");
        // Only the current line is searched.
        assert_eq!(ok("${U:-{}\n}"), "{\n}");
    }

    #[test]
    fn defaults_cannot_span_lines() {
        let t = "${U:-a\nb}";
        let e = err(t);
        assert_eq!((e.offset, e.len), (0, 6));
        assert!(e.message.contains("missing closing '}'"), "{e:?}");
        assert!(e.help.as_deref().unwrap().contains("same line"));
        assert_eq!(ok("${U:-a}\n${V:-b}"), "a\nb");
    }

    #[test]
    fn invalid_references() {
        // (template, offset, underlined text, message fragment)
        let cases = [
            ("${", 0, "${", "missing variable name"),
            ("${}", 0, "${}", "empty variable name"),
            ("${ }", 0, "${ }", "cannot start with ' '"),
            ("${ foo}", 0, "${ foo}", "cannot start with ' '"),
            ("${1}", 0, "${1}", "cannot start with '1'"),
            ("${-}", 0, "${-}", "cannot start with '-'"),
            (
                "${foo }",
                0,
                "${foo }",
                "unexpected character ' ' after variable name \"foo\"",
            ),
            ("${foo!}", 0, "${foo!}", "unexpected character '!'"),
            ("${foo.bar}", 0, "${foo.bar}", "unexpected character '.'"),
            ("${VAR:x}", 0, "${VAR:x}", "unsupported modifier \":x\""),
            ("${VAR:}", 0, "${VAR:}", "unsupported modifier \":}\""),
            ("${VAR::-x}", 0, "${VAR::-x}", "unsupported modifier \"::\""),
            ("${VAR", 0, "${VAR", "missing closing '}'"),
            ("${VAR:-x", 0, "${VAR:-x", "missing closing '}'"),
            ("${VAR?", 0, "${VAR?", "missing closing '}'"),
            ("a ${VAR\nb}", 2, "${VAR", "missing closing '}'"),
            ("ok ${", 3, "${", "missing variable name"),
            ("x ${FOO} ${é}", 9, "${é}", "cannot start with 'é'"),
        ];
        for (t, offset, span, fragment) in cases {
            let e = err(t);
            assert_eq!(e.offset, offset, "template {t:?}: {e:?}");
            assert_eq!(&t[e.offset..e.offset + e.len], span, "template {t:?}");
            assert!(
                e.message.contains(fragment),
                "template {t:?}: {}",
                e.message
            );
            assert!(
                e.message.starts_with("invalid interpolation format"),
                "{}",
                e.message
            );
            let help = e.help.expect("help");
            assert!(help.contains("$$"), "{help}");
        }
        assert_eq!(
            err("${foo }").message,
            r#"invalid interpolation format "${foo }": unexpected character ' ' after variable name "foo""#
        );
        assert!(
            err("${foo }")
                .help
                .unwrap()
                .starts_with("remove the whitespace: ${foo}")
        );
    }

    #[test]
    fn invalid_reference_in_a_used_default_is_reported() {
        let t = "${U:-x ${} y}";
        let e = err(t);
        assert_eq!(e.offset, 7);
        assert_eq!(&t[e.offset..e.offset + e.len], "${}");
    }

    #[test]
    fn lookup_is_called_with_exact_names() {
        let seen = std::cell::RefCell::new(Vec::new());
        let lookup = |n: &str| {
            seen.borrow_mut().push(n.to_owned());
            None
        };
        substitute("$A ${B} ${C:-$D} $$E ${F+x} $1", &lookup).unwrap();
        assert_eq!(*seen.borrow(), ["A", "B", "C", "D", "F"]);
    }

    #[test]
    fn deep_nesting_is_rejected_without_overflowing_the_stack() {
        let depth = 10_000;
        let template = format!("{}x{}", "${U:-".repeat(depth), "}".repeat(depth));
        let e = err(&template);
        assert!(e.message.contains("nested"), "{e:?}");
        let ok_depth = 50;
        let template = format!("{}x{}", "${U:-".repeat(ok_depth), "}".repeat(ok_depth));
        assert_eq!(ok(&template), "x");
    }

    #[test]
    fn many_references_on_one_line_are_linear() {
        let n = 20_000;
        let template = "${U:-a}$FOO-${FOO}".repeat(n);
        let start = std::time::Instant::now();
        let s = run(&template).unwrap();
        assert_eq!(s.value.len(), n * "afirst-first".len());
        assert!(s.unset.is_empty());
        // Generous bound: quadratic behaviour would take far longer.
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn a_value_past_the_limit_is_refused_at_the_reference_that_makes_it() {
        let big = "x".repeat(MAX_VALUE / 2 + 1);
        let lookup = |name: &str| (name == "T").then(|| big.clone());
        for (template, span) in [
            ("$T-$T/a", 3..5),
            ("$T-${T}/a", 3..7),
            ("$T-${T:-d}/a", 3..10),
            ("$T-${T:?why}/a", 3..12),
        ] {
            let err = substitute(template, &lookup).unwrap_err();
            assert_eq!(err.offset..err.offset + err.len, span, "{template}");
            assert!(err.message.contains("longer than 16 MiB"), "{err:?}");
        }
    }
}

//! Parsing of `.env` files and service `env_file`s, as compose-go's `dotenv` package does it.
//!
//! The format, statement by statement (whitespace and blank lines between statements are
//! ignored; a UTF-8 BOM at the start of the file is skipped):
//!
//! * `# comment` — a comment when `#` is the first non-blank character of a statement.
//! * `KEY=value` or `KEY: value`, optionally prefixed by `export ` — an assignment. Blanks
//!   around the key and after the separator are ignored. Keys may contain letters, digits, `_`,
//!   `.`, `-`, `[` and `]`; a space inside a key is an error.
//! * `KEY` alone on its line — inherit `KEY` from `lookup` (see [`parse`]).
//!
//! Values come in three forms:
//!
//! * unquoted: the rest of the line, cut at the first ` #` (space, hash: an inline comment),
//!   right-trimmed, then interpolated;
//! * `'single quoted'`: literal, may span lines; only `\'` is special (it is a `'`);
//! * `"double quoted"`: may span lines; `\"` is a `"`, the escapes `\a \b \f \n \r \t \v \\ \$`
//!   and `\0NNN` (octal) are expanded, any other backslash is kept; then the value is
//!   interpolated (`\$` and `$$` give a literal `$`).
//!
//! Interpolation is [`interpolate::substitute`], resolving names first with the caller's
//! `lookup` (the environment) and only then with the keys this file assigned earlier: the
//! environment wins, as in compose-go.
//!
//! Corners kept from compose-go, since the point is to read files the way `docker compose`
//! does:
//!
//! * Text after a closing quote is not an error: it starts the next statement, so
//!   `A="1" B=2` assigns both `A` and `B`, and `A="1"x` also inherits a key `x`.
//! * Only a space followed by `#` starts an inline comment in an unquoted value: `A=1#2` is
//!   `1#2`, `A=1\t#2` is `1\t#2`, and `A= #2` is `#2` (blanks after `=` are skipped first).
//! * Unquoted values get no escape processing: `A=\$B` is a backslash followed by `B`'s value.
//! * `\0` followed by fewer than three octal digits (or a value above `\0377`) loses its `0`
//!   and keeps the backslash: `"\012"` is `\12`. `\0NNN` gives the character U+00NN.
//! * A key may contain blanks other than the space (`A\tB=1` is the key `A\tB`).
//! * `export` directly followed by a line break is an empty key inherited from the
//!   environment, and `export =1` assigns the empty key, as does `=1`.
//!
//! Deviations (compose-go behaviour judged to be a bug):
//!
//! * A bare `KEY` on the last line without a trailing newline is inherited like any other bare
//!   key; compose-go instead assigns the text `KEY` to the empty key.
//! * Key characters are checked with Rust's `char::is_alphabetic`/`is_numeric`, which accept a
//!   few combining marks (e.g. Devanagari vowel signs) that Go's `unicode.IsLetter` rejects.
//! * Error positions are exact (compose-go reports the line where parsing stopped).

use indexmap::IndexMap;

use super::interpolate;

/// A syntax or interpolation error in a dotenv file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DotenvError {
    /// 1-based line of the offending character.
    pub line: usize,
    /// 1-based column of the offending character, counted in characters (not bytes).
    pub column: usize,
    /// What went wrong (without the position).
    pub message: String,
    /// Some(hint) telling the user how to fix it.
    pub help: Option<String>,
}

/// Parses a dotenv file, returning its entries in file order, duplicates included (later ones
/// win, see [`into_map`]).
///
/// `lookup` resolves the variables that values reference (normally the process environment).
/// As in compose-go it takes precedence over the values this file assigned earlier, which are
/// consulted only when `lookup` returns `None`. A bare `KEY` line yields `(KEY, lookup(KEY))`: compose-go resolves it at once from the same
/// lookup (not from earlier keys) and, when that yields nothing, drops the line, leaving any
/// earlier value of `KEY` untouched; `(KEY, None)` reports such a line.
///
/// To load several files the way compose-go does (later files see earlier ones *below* the
/// environment but updated line by line), use [`parse_into`].
///
/// # Errors
///
/// A [`DotenvError`] locating the first malformed statement (invalid key, unterminated quote)
/// or the first failed interpolation (invalid reference, missing required variable).
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Option<String>)>, DotenvError> {
    let mut defined = IndexMap::new();
    let mut entries = Vec::new();
    run(text, lookup, &mut defined, Some(&mut entries))?;
    Ok(entries)
}

/// Parses a dotenv file into `vars`, the way compose-go fills one map from several files
/// (`.env` files, or a service's `environment` plus its `env_file`s): values are interpolated
/// with `lookup` first, then `vars` as it stands at that line (what earlier files and earlier
/// lines put there); assignments overwrite `vars` entries, bare keys are set from `lookup` when
/// it knows them and leave `vars` alone otherwise.
///
/// # Errors
///
/// As for [`parse`]; `vars` then holds the assignments made before the offending line.
pub fn parse_into(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    vars: &mut IndexMap<String, String>,
) -> Result<(), DotenvError> {
    run(text, lookup, vars, None)
}

/// Folds [`parse`]'s entries into the map compose-go builds: a later assignment of a key
/// replaces its value (keeping the key's first position) and `(KEY, None)` entries are skipped.
#[must_use]
pub fn into_map(entries: Vec<(String, Option<String>)>) -> IndexMap<String, String> {
    entries
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| (key, value)))
        .collect()
}

fn run(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    defined: &mut IndexMap<String, String>,
    entries: Option<&mut Vec<(String, Option<String>)>>,
) -> Result<(), DotenvError> {
    let src = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser {
        src,
        pos: 0,
        lookup,
        defined,
        entries,
        assigned: 0,
    };
    while parser.next_statement() {
        parser.statement()?;
    }
    Ok(())
}

const KEY_HELP: &str = "each line must be KEY=VALUE, KEY: VALUE, or a bare KEY (taken from the \
                        environment); keys may only contain letters, digits, '_', '.', '-', '[' \
                        and ']'";

/// Blanks that compose-go skips around keys and before values: unlike `char::is_whitespace`
/// this excludes the line feed (and exotic Unicode spaces).
fn is_inline_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    )
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// Values assigned so far, for interpolation.
    defined: &'a mut IndexMap<String, String>,
    /// Where to report entries, if wanted.
    entries: Option<&'a mut Vec<(String, Option<String>)>>,
    /// Bytes of the values this file assigned so far (see [`MAX_ASSIGNED`]).
    assigned: usize,
}

/// The most a file's values may hold in all (64 MiB): each value is bounded by
/// [`interpolate::MAX_VALUE`], and a few kilobytes of lines that each copy a large value would
/// otherwise still ask for gigabytes.
const MAX_ASSIGNED: usize = 64 << 20;

impl Parser<'_> {
    /// Skips blanks and comment lines; false at the end of the file.
    fn next_statement(&mut self) -> bool {
        loop {
            let rest = &self.src[self.pos..];
            let Some((i, c)) = rest.char_indices().find(|&(_, c)| !c.is_whitespace()) else {
                self.pos = self.src.len();
                return false;
            };
            self.pos += i;
            if c != '#' {
                return true;
            }
            match self.src[self.pos..].find('\n') {
                Some(nl) => self.pos += nl,
                None => {
                    self.pos = self.src.len();
                    return false;
                }
            }
        }
    }

    /// Parses one statement starting at `self.pos` (a non-blank, non-comment character).
    fn statement(&mut self) -> Result<(), DotenvError> {
        let src = self.src;
        // `export` followed by ASCII whitespace (Go's `\s`, which includes the line feed).
        let export_start = self.pos;
        if let Some(after) = src[self.pos..].strip_prefix("export")
            && after
                .bytes()
                .next()
                .is_some_and(|b| matches!(b, b'\t' | b'\n' | 0x0C | b'\r' | b' '))
        {
            self.pos = src.len() - after.trim_start_matches(is_inline_space).len();
        }

        let key_start = self.pos;
        let rest = &src[key_start..];
        let mut delimiter = None;
        for (i, c) in rest.char_indices() {
            if is_inline_space(c) {
                continue;
            }
            match c {
                '=' | ':' | '\n' => {
                    delimiter = Some((i, c));
                    break;
                }
                '_' | '.' | '-' | '[' | ']' => {}
                c if c.is_alphabetic() || c.is_numeric() => {}
                c => return Err(self.unexpected_key_char(key_start, key_start + i, c)),
            }
        }
        let (key_end, inherited) = match delimiter {
            Some((i, c)) => (key_start + i, c == '\n'),
            None if rest.is_empty() => {
                return Err(self.error(
                    export_start,
                    "missing variable name after \"export\"".to_owned(),
                    Some("write `export KEY=value`, or remove the `export`".to_owned()),
                ));
            }
            // Deviation: compose-go turns a last bare key without line feed into a value.
            None => (src.len(), true),
        };
        let key = src[key_start..key_end].trim_end();
        if let Some(space) = key.find(' ') {
            return Err(self.error(
                key_start + space,
                "key cannot contain a space".to_owned(),
                Some(format!(
                    "write `{}=value` (with '_' instead of spaces) or put '=' between the key \
                     and its value",
                    key.replace(' ', "_")
                )),
            ));
        }
        let key = key.to_owned();
        self.pos = (key_end + 1).min(src.len());

        if inherited {
            let value = (self.lookup)(&key);
            if let Some(value) = &value {
                self.defined.insert(key.clone(), value.clone());
            }
            if let Some(entries) = self.entries.as_deref_mut() {
                entries.push((key, value));
            }
            return Ok(());
        }

        let rest = &src[self.pos..];
        self.pos = src.len() - rest.trim_start_matches(is_inline_space).len();
        let value_start = self.pos;
        let value = match src.as_bytes().get(self.pos) {
            Some(&quote @ (b'"' | b'\'')) => self.quoted(quote)?,
            _ => self.unquoted()?,
        };
        self.assigned += value.len();
        if self.assigned > MAX_ASSIGNED {
            return Err(self.error(
                value_start,
                format!(
                    "the values of this file hold more than {} MiB",
                    MAX_ASSIGNED >> 20
                ),
                Some("copy large values by reference less often".to_owned()),
            ));
        }
        if let Some(entries) = self.entries.as_deref_mut() {
            entries.push((key.clone(), Some(value.clone())));
        }
        self.defined.insert(key, value);
        Ok(())
    }

    /// An unquoted value: the rest of the line, without inline comment, right-trimmed,
    /// interpolated.
    fn unquoted(&mut self) -> Result<String, DotenvError> {
        let start = self.pos;
        let line_end = self.src[start..]
            .find('\n')
            .map_or(self.src.len(), |nl| start + nl);
        let mut raw = &self.src[start..line_end];
        if let Some(comment) = raw.find(" #") {
            raw = &raw[..comment];
        }
        let raw = raw.trim_end();
        self.pos = (line_end + 1).min(self.src.len());
        self.interpolate(raw, |offset| start + offset)
    }

    /// A quoted value starting with `quote` at `self.pos`.
    fn quoted(&mut self, quote: u8) -> Result<String, DotenvError> {
        let bytes = self.src.as_bytes();
        let open = self.pos;
        // The value without the backslashes of `\<quote>`, and where each byte comes from.
        let mut value = Vec::new();
        let mut origin = Vec::new();
        let mut escaped = false;
        let mut i = open + 1;
        while i < bytes.len() {
            let b = bytes[i];
            if b == quote && !escaped {
                self.pos = i + 1;
                let value = String::from_utf8(value).expect("only ASCII backslashes are removed");
                if quote == b'\'' {
                    return Ok(value);
                }
                let (value, unescaped_origin) = expand_escapes(&value);
                return self.interpolate(&value, |offset| {
                    unescaped_origin.get(offset).map_or(open, |&at| origin[at])
                });
            }
            if b == b'\\' && !escaped {
                escaped = true;
            } else {
                if escaped && b != quote {
                    value.push(b'\\');
                    origin.push(i - 1);
                }
                escaped = false;
                value.push(b);
                origin.push(i);
            }
            i += 1;
        }
        let first_line = self.src[open..].lines().next().unwrap_or_default();
        let q = char::from(quote);
        Err(self.error(
            open,
            format!("unterminated quoted value {first_line}"),
            Some(format!(
                "add the closing {q} (a quoted value may span several lines); write \\{q} for a \
                 literal {q} inside the value"
            )),
        ))
    }

    /// Interpolates a value; `source_of` maps an offset in `value` back into the file.
    fn interpolate(
        &self,
        value: &str,
        source_of: impl Fn(usize) -> usize,
    ) -> Result<String, DotenvError> {
        let lookup = |name: &str| (self.lookup)(name).or_else(|| self.defined.get(name).cloned());
        interpolate::substitute(value, &lookup)
            .map(|substituted| substituted.value)
            .map_err(|e| self.error(source_of(e.offset), e.message, e.help))
    }

    fn unexpected_key_char(&self, key_start: usize, at: usize, c: char) -> DotenvError {
        let line = self.src[key_start..].lines().next().unwrap_or_default();
        let help = match c {
            '#' => "a comment must start its own line (or follow a value after a space)".to_owned(),
            '"' | '\'' => format!("quotes are only allowed around values: KEY={c}value{c}"),
            '$' => "keys cannot be interpolated; only values can reference variables".to_owned(),
            _ => KEY_HELP.to_owned(),
        };
        self.error(
            at,
            format!(
                "unexpected character {:?} in variable name {line:?}",
                c.to_string()
            ),
            Some(help),
        )
    }

    fn error(&self, at: usize, message: String, help: Option<String>) -> DotenvError {
        let before = &self.src[..at];
        let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
        DotenvError {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message,
            help,
        }
    }
}

/// Expands the escapes of a double-quoted value (after `\"` was already resolved): `\a \b \f
/// \n \r \t \v \\ \"`, `\$` (to `$$`, a literal `$` for the interpolation that follows) and
/// `\0NNN`. Returns the result and, for each of its bytes, the offset in `s` it comes from.
fn expand_escapes(s: &str) -> (String, Vec<usize>) {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut origin = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if b != b'\\' || next.is_none() {
            out.push(b);
            origin.push(i);
            i += 1;
            continue;
        }
        let mut emit = |piece: &[u8]| {
            out.extend_from_slice(piece);
            origin.extend(std::iter::repeat_n(i, piece.len()));
        };
        let simple = match next {
            Some(b'a') => Some(0x07),
            Some(b'b') => Some(0x08),
            Some(b'f') => Some(0x0C),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            Some(b'v') => Some(0x0B),
            Some(b'\\') => Some(b'\\'),
            Some(b'"') => Some(b'"'),
            _ => None,
        };
        if let Some(c) = simple {
            emit(&[c]);
            i += 2;
        } else if next == Some(b'$') {
            emit(b"$$");
            i += 2;
        } else if next == Some(b'0') {
            // `\0` and up to three digits: three octal digits up to 0o377 give U+0000-U+00FF;
            // anything else stays, minus the `0` (compose-go rewrites `\0` to `\` before
            // trying to unquote it and keeps the rewritten text when that fails).
            let digits_start = i + 2;
            let digits = bytes[digits_start..]
                .iter()
                .take(3)
                .take_while(|b| b.is_ascii_digit())
                .count();
            let digits = &bytes[digits_start..digits_start + digits];
            let octal = (digits.len() == 3 && digits.iter().all(|d| (b'0'..=b'7').contains(d)))
                .then(|| {
                    digits
                        .iter()
                        .fold(0_u32, |acc, d| acc * 8 + u32::from(d - b'0'))
                })
                .filter(|&v| v <= 0xFF);
            match octal.and_then(char::from_u32) {
                Some(c) => emit(c.encode_utf8(&mut [0; 4]).as_bytes()),
                None => {
                    emit(b"\\");
                    emit(digits);
                }
            }
            i = digits_start + digits.len();
        } else {
            // Not an escape (`\x`, `\'`, `\ `, and `\c`, which Go cannot unquote): kept.
            emit(b"\\");
            i += 1;
        }
    }
    let out = String::from_utf8(out).expect("escapes expand to valid UTF-8");
    (out, origin)
}

/// Parses an env file in the `raw` format (`env_file: {path, format: raw}`): the rules of
/// `docker run --env-file` (docker/cli's kvfile), which compose v2 registers under that name.
/// Each `KEY=VALUE` line is taken as it is: no quotes removed, no `$` interpolated, trailing
/// spaces kept; leading spaces, blank lines and `#` lines are skipped; a bare `KEY` takes its
/// value from `lookup`, and is left out when `lookup` has none.
///
/// # Errors
///
/// A line with no key, or a key with a space in it (`export KEY=value` is not this format).
pub fn parse_raw(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Option<String>)>, DotenvError> {
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = if n == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let column = line.chars().count() - trimmed.chars().count() + 1;
        let error = |message: String, help: &str| DotenvError {
            line: n + 1,
            column,
            message,
            help: Some(help.to_string()),
        };
        let (key, value) = match trimmed.split_once('=') {
            Some((key, value)) => (key, Some(value.to_string())),
            None => (trimmed, None),
        };
        if key.is_empty() {
            return Err(error(
                format!("no variable name on line `{trimmed}`"),
                "write KEY=VALUE",
            ));
        }
        if key.chars().any(char::is_whitespace) {
            return Err(error(
                format!("variable `{key}` contains whitespaces"),
                "the raw format takes KEY=VALUE lines as `docker run --env-file` does: no \
                 `export`, no spaces around `=`",
            ));
        }
        match value {
            Some(value) => entries.push((key.to_string(), Some(value))),
            None => {
                if let Some(value) = lookup(key) {
                    entries.push((key.to_string(), Some(value)));
                }
            }
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse_with(text: &str, env: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        match parse(text, &lookup) {
            Ok(entries) => entries,
            Err(e) => panic!("{text:?} failed: {e:?}"),
        }
    }

    fn parse_ok(text: &str) -> Vec<(String, Option<String>)> {
        parse_with(text, &[])
    }

    fn map(text: &str) -> IndexMap<String, String> {
        into_map(parse_ok(text))
    }

    /// The single value `text` assigns to `key`.
    fn value(text: &str, key: &str) -> String {
        let m = map(text);
        match m.get(key) {
            Some(v) => v.clone(),
            None => panic!("{text:?}: no key {key:?} in {m:?}"),
        }
    }

    fn err(text: &str) -> DotenvError {
        match parse(text, &no_env) {
            Ok(entries) => panic!("{text:?} should fail, got {entries:?}"),
            Err(e) => e,
        }
    }

    fn entry(key: &str, value: &str) -> (String, Option<String>) {
        (key.to_owned(), Some(value.to_owned()))
    }

    #[test]
    fn keys_of_many_shapes() {
        let text =
            "\na=b\na[1]=c\na.propertyKey=d\nárvíztűrő-TÜKÖRFÚRÓGÉP=ÁRVÍZTŰRŐ-tükörfúrógép\n";
        assert_eq!(
            parse_ok(text),
            [
                entry("a", "b"),
                entry("a[1]", "c"),
                entry("a.propertyKey", "d"),
                entry("árvíztűrő-TÜKÖRFÚRÓGÉP", "ÁRVÍZTŰRŐ-tükörfúrógép"),
            ]
        );
        let m =
            map("VAR.WITH.DOTS=dots\nVAR_WITH_UNDERSCORES=underscores\nVAR-WITH-DASHES=dashes\n");
        assert_eq!(m["VAR.WITH.DOTS"], "dots");
        assert_eq!(m["VAR_WITH_UNDERSCORES"], "underscores");
        assert_eq!(m["VAR-WITH-DASHES"], "dashes");
        // Keys starting with a digit are kept (compose-go filters them only in `Read`).
        assert_eq!(value("456 = ABC", "456"), "ABC");
        assert_eq!(value("ключ=значение", "ключ"), "значение");
    }

    #[test]
    fn plain_file() {
        let text = "OPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\n\
                    OPTION_F = \nOPTION_G=\nOPTION_H = my string # Inline comment\n";
        assert_eq!(
            parse_ok(text),
            [
                entry("OPTION_A", "1"),
                entry("OPTION_B", "2"),
                entry("OPTION_C", "3"),
                entry("OPTION_D", "4"),
                entry("OPTION_E", "5"),
                entry("OPTION_F", ""),
                entry("OPTION_G", ""),
                entry("OPTION_H", "my string"),
            ]
        );
    }

    #[test]
    fn blank_and_comment_lines_are_ignored() {
        for text in [
            "",
            "\n",
            "\r\n",
            "\t\t ",
            "# Comment",
            "\t # comment",
            "# a\n\n   \n# b\r\n",
            "#",
            "#no newline at the end",
        ] {
            assert_eq!(parse_ok(text), [], "text {text:?}");
        }
        assert_eq!(
            parse_ok("# header\n\nA=1\n  # indented\n\nB=2 # trailing\n#C=3\n"),
            [entry("A", "1"), entry("B", "2")]
        );
    }

    #[test]
    fn whitespace_around_keys_and_separators() {
        assert_eq!(value("FOO=bar", "FOO"), "bar");
        assert_eq!(value("FOO =bar", "FOO"), "bar");
        assert_eq!(value("FOO= bar", "FOO"), "bar");
        assert_eq!(value("FOO \t=\t bar \t", "FOO"), "bar");
        assert_eq!(value(" KEY =value", "KEY"), "value");
        assert_eq!(value("   KEY=value", "KEY"), "value");
        assert_eq!(value("\tKEY=value", "KEY"), "value");
        assert_eq!(value("FOO=bar ", "FOO"), "bar");
        assert_eq!(value("FOO=  a  b  ", "FOO"), "a  b");
        assert_eq!(value("THREE = \"3\"", "THREE"), "3");
    }

    #[test]
    fn basic_forms() {
        assert_eq!(
            parse_ok("ONE=1\nTWO='2'\nTHREE = \"3\""),
            [entry("ONE", "1"), entry("TWO", "2"), entry("THREE", "3")]
        );
        assert_eq!(value("FOO=foobar=", "FOO"), "foobar=");
        assert_eq!(value("FOO.BAR=foobar", "FOO.BAR"), "foobar");
        assert_eq!(value("KEY=", "KEY"), "");
        assert_eq!(value("KEY=\nNEXT=1", "KEY"), "");
        assert_eq!(value("KEY=\nNEXT=1", "NEXT"), "1");
        assert_eq!(
            value("URL=postgres://localhost:5432/db?sslmode=disable", "URL"),
            "postgres://localhost:5432/db?sslmode=disable"
        );
        assert_eq!(value("Q=a\"b'c", "Q"), "a\"b'c");
    }

    #[test]
    fn yaml_style_separator() {
        assert_eq!(value("OPTION_A: 1", "OPTION_A"), "1");
        assert_eq!(value("OPTION_A:1", "OPTION_A"), "1");
        assert_eq!(value("OPTION_A: Foo=bar", "OPTION_A"), "Foo=bar");
        assert_eq!(value("OPTION_A=1:B", "OPTION_A"), "1:B");
        assert_eq!(value("OPTION_A: 'quoted'", "OPTION_A"), "quoted");
        assert_eq!(value("URL: http://x:80/", "URL"), "http://x:80/");
    }

    #[test]
    fn export_prefix() {
        assert_eq!(value("export OPTION_A=2", "OPTION_A"), "2");
        assert_eq!(value("export OPTION_B='\\n'", "OPTION_B"), "\\n");
        assert_eq!(value("export exportFoo=2", "exportFoo"), "2");
        assert_eq!(value("exportFOO=2", "exportFOO"), "2");
        assert_eq!(value("export_FOO =2", "export_FOO"), "2");
        assert_eq!(value("export.FOO= 2", "export.FOO"), "2");
        assert_eq!(value("export\tOPTION_A=2", "OPTION_A"), "2");
        assert_eq!(value("  export OPTION_A=2", "OPTION_A"), "2");
        assert_eq!(value("\texport OPTION_A=2", "OPTION_A"), "2");
        assert_eq!(value("export   OPTION_A=2", "OPTION_A"), "2");
        assert_eq!(
            value("export OPTION_A=\"export A\"", "OPTION_A"),
            "export A"
        );
        assert_eq!(value("export=1", "export"), "1");
        assert_eq!(
            value(
                "export OPTION_A='postgres://localhost:5432/database?sslmode=disable'\n",
                "OPTION_A"
            ),
            "postgres://localhost:5432/database?sslmode=disable"
        );
    }

    #[test]
    fn export_corners() {
        // `export` then a line break: an inherited empty key, then the next line.
        assert_eq!(
            parse_ok("export\nFOO=1\n"),
            [("".to_owned(), None), entry("FOO", "1")]
        );
        // `export =1` assigns the empty key.
        assert_eq!(parse_ok("export =1"), [entry("", "1")]);
        // `export` and blanks at the very end.
        let e = err("A=1\nexport   ");
        assert_eq!((e.line, e.column), (2, 1));
        assert!(e.message.contains("export"), "{e:?}");
        // `export` alone at the end is a bare key named `export`.
        assert_eq!(
            parse_with("export", &[("export", "x")]),
            [entry("export", "x")]
        );
    }

    #[test]
    fn empty_key() {
        assert_eq!(parse_ok("=\"value\""), [entry("", "value")]);
        assert_eq!(parse_ok(" = v"), [entry("", "v")]);
    }

    #[test]
    fn single_quoted_values_are_literal() {
        assert_eq!(value("FOO='bar'", "FOO"), "bar");
        assert_eq!(value("FOO=''", "FOO"), "");
        assert_eq!(value("FOO='\\n'", "FOO"), "\\n");
        assert_eq!(value("FOO='$BAR ${BAR} $$'", "FOO"), "$BAR ${BAR} $$");
        assert_eq!(value("FOO='${'", "FOO"), "${");
        assert_eq!(value("OPTION_K='Let\\'s go!'", "OPTION_K"), "Let's go!");
        assert_eq!(value("FOO='a\\\\b'", "FOO"), "a\\\\b");
        assert_eq!(value("FOO='a\\\"b'", "FOO"), "a\\\"b");
        assert_eq!(value("FOO='ba#r'", "FOO"), "ba#r");
        assert_eq!(value("FOO='bar#baz' # comment", "FOO"), "bar#baz");
        assert_eq!(
            value("FOO='with \"double\" inside'", "FOO"),
            "with \"double\" inside"
        );
        assert_eq!(
            value(
                "OPTION_J = 'first line\nsecond line\nthird line\nand so on'",
                "OPTION_J"
            ),
            "first line\nsecond line\nthird line\nand so on"
        );
    }

    #[test]
    fn double_quoted_values() {
        assert_eq!(value("FOO=\"bar\"", "FOO"), "bar");
        assert_eq!(value("FOO=\"\"", "FOO"), "");
        assert_eq!(value(r#"FOO="escaped\"bar""#, "FOO"), "escaped\"bar");
        assert_eq!(value(r#"FOO="\"quoted\"""#, "FOO"), "\"quoted\"");
        assert_eq!(value(r#"FOO="'d'""#, "FOO"), "'d'");
        assert_eq!(value(r#"FOO="bar#baz""#, "FOO"), "bar#baz");
        assert_eq!(value(r##"FOO="bar#baz"#"##, "FOO"), "bar#baz");
        assert_eq!(value(r#"FOO="bar#baz" # comment"#, "FOO"), "bar#baz");
        assert_eq!(
            value(r#"FOO="bar#baz#bang" # comment"#, "FOO"),
            "bar#baz#bang"
        );
        assert_eq!(value(r#"FOO="ba#r""#, "FOO"), "ba#r");
        assert_eq!(
            value("OPTION_I = \"echo 'asd'\" # Inline comment", "OPTION_I"),
            "echo 'asd'"
        );
        assert_eq!(
            value(
                "TEST_URLS=\"stratum+tcp://a.com:3333\nstratum+tcp://a.com:443\"",
                "TEST_URLS"
            ),
            "stratum+tcp://a.com:3333\nstratum+tcp://a.com:443"
        );
    }

    #[test]
    fn double_quoted_escapes() {
        assert_eq!(value(r#"FOO="bar\nbaz""#, "FOO"), "bar\nbaz");
        assert_eq!(value(r#"FOO="a\tb""#, "FOO"), "a\tb");
        assert_eq!(
            value(r#"KEY="Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\Z\0123Z""#, "KEY"),
            "Z\u{7}Z\u{8}Z\u{c}Z\nZ\rZ\tZ\u{b}Z\\ZSZ"
        );
        assert_eq!(value(r#"FOO="bar\n\ b\az""#, "FOO"), "bar\n\\ b\u{7}z");
        assert_eq!(value(r#"FOO="bar\\\n\ b\az""#, "FOO"), "bar\\\n\\ b\u{7}z");
        assert_eq!(value(r#"FOO="bar\\r\ b\az""#, "FOO"), "bar\\r\\ b\u{7}z");
        assert_eq!(value(r#"FOO="bar\nbaz\\""#, "FOO"), "bar\nbaz\\");
        assert_eq!(value(r#"KEY="\0123""#, "KEY"), "S");
        // Escapes Go knows but dotenv does not are kept verbatim.
        assert_eq!(value(r#"KEY="\x07""#, "KEY"), r"\x07");
        assert_eq!(value(r#"KEY="\u12e4""#, "KEY"), r"\u12e4");
        assert_eq!(value(r#"KEY="\U00101234""#, "KEY"), r"\U00101234");
        assert_eq!(value(r#"KEY="\c""#, "KEY"), r"\c");
        assert_eq!(value(r#"KEY="it\'s""#, "KEY"), r"it\'s");
        assert_eq!(value(r#"KEY="trailing\\""#, "KEY"), "trailing\\");
        assert_eq!(value(r#"KEY="\\\"""#, "KEY"), "\\\"");
    }

    #[test]
    fn octal_escapes() {
        assert_eq!(value(r#"K="\0101\0102""#, "K"), "AB");
        assert_eq!(value(r#"K="\01234""#, "K"), "S4");
        assert_eq!(value(r#"K="\0377""#, "K"), "\u{ff}");
        assert_eq!(value(r#"K="\0000""#, "K"), "\0");
        // Too few digits, non-octal digits or too large: the `0` is dropped.
        assert_eq!(value(r#"K="\0""#, "K"), r"\");
        assert_eq!(value(r#"K="\0x""#, "K"), r"\x");
        assert_eq!(value(r#"K="\01""#, "K"), r"\1");
        assert_eq!(value(r#"K="\012""#, "K"), r"\12");
        assert_eq!(value(r#"K="\0189""#, "K"), r"\189");
        assert_eq!(value(r#"K="\0400""#, "K"), r"\400");
        assert_eq!(value(r#"K="\0777""#, "K"), r"\777");
    }

    #[test]
    fn unquoted_values_are_not_unescaped() {
        assert_eq!(value(r"FOO=a\tb", "FOO"), r"a\tb");
        assert_eq!(value(r"FOO=a\nb\\c", "FOO"), r"a\nb\\c");
        assert_eq!(value(r#"FOO=a\"b"#, "FOO"), r#"a\"b"#);
    }

    #[test]
    fn inline_comments() {
        assert_eq!(value("FOO=bar # this is foo", "FOO"), "bar");
        assert_eq!(value("FOO=bar #this is foo", "FOO"), "bar");
        assert_eq!(value("FOO=bar #", "FOO"), "bar");
        assert_eq!(value("FOO=bar   # x # y", "FOO"), "bar");
        assert_eq!(
            value("FOO=123#not-an-inline-comment", "FOO"),
            "123#not-an-inline-comment"
        );
        // Only a space introduces a comment.
        assert_eq!(value("FOO=bar\t#x", "FOO"), "bar\t#x");
        // Blanks after `=` are skipped before looking for ` #`.
        assert_eq!(value("FOO= # not a comment", "FOO"), "# not a comment");
        assert_eq!(value("FOO=#x", "FOO"), "#x");
        // The comment is cut before interpolation.
        assert_eq!(value("FOO=$$ #x", "FOO"), "$");
    }

    #[test]
    fn text_after_a_closing_quote_starts_a_new_statement() {
        assert_eq!(
            parse_ok("A=\"1\" B=2\n"),
            [entry("A", "1"), entry("B", "2")]
        );
        assert_eq!(
            parse_with("A='1'x\n", &[("x", "ex")]),
            [entry("A", "1"), entry("x", "ex")]
        );
        assert_eq!(
            parse_ok("A=\"1\"   \nB=2"),
            [entry("A", "1"), entry("B", "2")]
        );
    }

    #[test]
    fn crlf_line_endings() {
        let text = "A=1\r\nB = 'two'\r\nC=\"three\"\r\n# c\r\nD=4 # x\r\nE\r\n\r\nF=\r\n";
        assert_eq!(
            parse_with(text, &[("E", "env")]),
            [
                entry("A", "1"),
                entry("B", "two"),
                entry("C", "three"),
                entry("D", "4"),
                entry("E", "env"),
                entry("F", ""),
            ]
        );
        // Line breaks inside quotes are kept as written.
        assert_eq!(value("M=\"a\r\nb\"\r\n", "M"), "a\r\nb");
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let text = "\u{feff}OPTION_A=1\nOPTION_B=2\n";
        assert_eq!(
            parse_ok(text),
            [entry("OPTION_A", "1"), entry("OPTION_B", "2")]
        );
        // Positions are counted after the BOM.
        let e = err("\u{feff}BAD KEY=1");
        assert_eq!((e.line, e.column), (1, 4));
        // Only a leading BOM is special.
        assert!(parse("A=1\n\u{feff}B=2", &no_env).is_err());
    }

    #[test]
    fn bare_keys_are_inherited_from_lookup() {
        let text = "foo=bar\nVAR_FROM_ENV\nbar=baz\n";
        assert_eq!(
            parse_with(text, &[("VAR_FROM_ENV", "from env")]),
            [
                entry("foo", "bar"),
                entry("VAR_FROM_ENV", "from env"),
                entry("bar", "baz")
            ]
        );
        assert_eq!(
            parse_ok("VARIABLE_NOT_FOUND\n"),
            [("VARIABLE_NOT_FOUND".to_owned(), None)]
        );
        assert!(map("VARIABLE_NOT_FOUND\n").is_empty());
        // Blanks around the key are fine.
        assert_eq!(
            parse_with("  KEY  \n", &[("KEY", "v")]),
            [entry("KEY", "v")]
        );
        assert_eq!(
            parse_with("export KEY\n", &[("KEY", "v")]),
            [entry("KEY", "v")]
        );
        // An inherited value is visible to later interpolations.
        assert_eq!(
            parse_with("KEY\nB=${KEY}!\n", &[("KEY", "v")])[1],
            entry("B", "v!")
        );
    }

    #[test]
    fn unresolved_bare_key_keeps_an_earlier_value() {
        let entries = parse_ok("A=1\nA\n");
        assert_eq!(entries, [entry("A", "1"), ("A".to_owned(), None)]);
        assert_eq!(into_map(entries)["A"], "1");
        assert_eq!(
            into_map(parse_with("A=1\nA\n", &[("A", "env")]))["A"],
            "env"
        );
    }

    #[test]
    fn bare_key_on_the_last_line_without_line_feed() {
        // Deviation from compose-go, which would assign "KEY" to the empty key.
        assert_eq!(
            parse_with("A=1\nKEY", &[("KEY", "v")]),
            [entry("A", "1"), entry("KEY", "v")]
        );
        assert_eq!(parse_ok("KEY  "), [("KEY".to_owned(), None)]);
    }

    #[test]
    fn later_assignments_win_in_the_map() {
        let m = map("A=1\nB=2\nA=3\n");
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [
                (&"A".to_owned(), &"3".to_owned()),
                (&"B".to_owned(), &"2".to_owned())
            ]
        );
    }

    #[test]
    fn interpolation_of_values() {
        assert_eq!(
            parse_ok("FOO=test\nBAR=$FOO"),
            [entry("FOO", "test"), entry("BAR", "test")]
        );
        assert_eq!(value("FOO=test\nBAR=${FOO}bar", "BAR"), "testbar");
        assert_eq!(value("BAR=$FOO", "BAR"), "");
        assert_eq!(value("FOO=test\nBAR=\"quote $FOO\"", "BAR"), "quote test");
        assert_eq!(value("BAR='quote $FOO'", "BAR"), "quote $FOO");
        assert_eq!(value(r#"FOO="foo\$BAR""#, "FOO"), "foo$BAR");
        assert_eq!(value(r#"FOO="foo\${BAR}""#, "FOO"), "foo${BAR}");
        assert_eq!(
            value("FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"", "BAR"),
            "foo${FOO} test"
        );
        assert_eq!(value("FOO=$$BAR", "FOO"), "$BAR");
        assert_eq!(value("FOO=\"$$BAR\"", "FOO"), "$BAR");
        // No escapes in unquoted values: the backslash stays and `$BAR` is expanded.
        assert_eq!(
            parse_with(r"FOO=\$BAR", &[("BAR", "b")]),
            [entry("FOO", r"\b")]
        );
        // A later key is not visible to an earlier one.
        assert_eq!(value("A=$B\nB=1", "A"), "");
        // Self references see the previous value.
        assert_eq!(value("P=/a\nP=$P:/b", "P"), "/a:/b");
        // The escape `\n` is expanded *before* interpolation, so a default holding it spans
        // two lines, which interpolation rejects (as compose-go does).
        let e = err(r#"M="${U:-a\nb}""#);
        assert!(e.message.contains("missing closing '}'"), "{e:?}");
        assert_eq!((e.line, e.column), (1, 4));
    }

    #[test]
    fn substitution_fixture() {
        let text = "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\n\
                    OPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}\n";
        assert_eq!(
            parse_ok(text),
            [
                entry("OPTION_A", "1"),
                entry("OPTION_B", "1"),
                entry("OPTION_C", "1"),
                entry("OPTION_D", "1_1"),
                entry("OPTION_E", ""),
            ]
        );
        // The environment wins over the file's own earlier keys...
        assert_eq!(
            parse_with(text, &[("OPTION_A", "5")]),
            [
                entry("OPTION_A", "1"),
                entry("OPTION_B", "5"),
                entry("OPTION_C", "5"),
                entry("OPTION_D", "5_5"),
                entry("OPTION_E", ""),
            ]
        );
    }

    #[test]
    fn substitution_with_defaults_fixture() {
        let text = "OPTION_A=${OPTION_A:-1}\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\n\
                    OPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}\n";
        let expect = |a: &str| {
            vec![
                entry("OPTION_A", a),
                entry("OPTION_B", a),
                entry("OPTION_C", a),
                entry("OPTION_D", &format!("{a}_{a}")),
                entry("OPTION_E", ""),
            ]
        };
        assert_eq!(parse_ok(text), expect("1"));
        assert_eq!(parse_with(text, &[("OPTION_A", "5")]), expect("5"));
    }

    #[test]
    fn successive_files_with_parse_into() {
        // compose-go's precedence when loading several files into one map: the environment
        // first, then the map as it stands (earlier files, overwritten line by line).
        let base = "ENV_HOSTNAME=localhost\nENV_MY_URL=\"http://${ENV_HOSTNAME}\"\n";
        let over = "ENV_HOSTNAME=dev.my-company.com\nENV_MY_URL=\"http://${ENV_HOSTNAME}\"\n";
        let load = |os_env: &[(&str, &str)]| {
            let lookup = |k: &str| {
                os_env
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            };
            let mut vars = IndexMap::new();
            for file in [base, over] {
                parse_into(file, &lookup, &mut vars).unwrap();
            }
            vars
        };
        let m = load(&[]);
        assert_eq!(m["ENV_HOSTNAME"], "dev.my-company.com");
        assert_eq!(m["ENV_MY_URL"], "http://dev.my-company.com");
        let m = load(&[("ENV_HOSTNAME", "host.local")]);
        assert_eq!(m["ENV_HOSTNAME"], "dev.my-company.com");
        assert_eq!(m["ENV_MY_URL"], "http://host.local");
    }

    #[test]
    fn parse_into_starts_from_the_given_vars() {
        // A service's `environment` seeds the map its env_files are parsed into.
        let mut vars = IndexMap::from([("SEED".to_owned(), "s".to_owned())]);
        parse_into("A=${SEED}-x\nB\nSEED=t\nC=$SEED", &no_env, &mut vars).unwrap();
        assert_eq!(
            vars,
            IndexMap::from([
                ("SEED".to_owned(), "t".to_owned()),
                ("A".to_owned(), "s-x".to_owned()),
                ("C".to_owned(), "t".to_owned()),
            ])
        );
        // An error keeps what was assigned before it.
        let mut vars = IndexMap::new();
        assert!(parse_into("A=1\nB C=2\nD=3", &no_env, &mut vars).is_err());
        assert_eq!(vars, IndexMap::from([("A".to_owned(), "1".to_owned())]));
    }

    #[test]
    fn interpolation_modifiers_in_values() {
        let env = [("EMPTY_VAR", ""), ("TEST_VAR", "Test Value")];
        let one = |line: &str| parse_with(line, &env)[0].1.clone().unwrap();
        assert_eq!(one("R=${UNSET_VAR:-Default Value}"), "Default Value");
        assert_eq!(one("R=${EMPTY_VAR:-Default Value}"), "Default Value");
        assert_eq!(one("R=${TEST_VAR:-Default Value}"), "Test Value");
        assert_eq!(one("R=${UNSET_VAR-Default Value}"), "Default Value");
        assert_eq!(one("R=${EMPTY_VAR-Default Value}"), "");
        assert_eq!(one("R=${TEST_VAR-Default Value}"), "Test Value");
        assert_eq!(one("R=${EMPTY_VAR?Test error}"), "");
        assert_eq!(one("R=${TEST_VAR?x}"), "Test Value");
        assert_eq!(one("R=${TEST_VAR:?x}"), "Test Value");
        assert_eq!(one("R=\"${TEST_VAR:+set} ${UNSET_VAR+set}.\""), "set .");
    }

    #[test]
    fn interpolation_errors_are_located() {
        let lookup = |k: &str| (k == "EMPTY_VAR").then(String::new);
        let e = parse("A=1\nRESULT=${UNSET_VAR:?Test error}", &lookup).unwrap_err();
        assert_eq!(
            e.message,
            "required variable UNSET_VAR is missing a value: Test error"
        );
        assert_eq!((e.line, e.column), (2, 8));
        assert!(e.help.is_some());
        let e = parse("R=${EMPTY_VAR:?Test error}", &lookup).unwrap_err();
        assert_eq!(
            e.message,
            "required variable EMPTY_VAR is missing a value: Test error"
        );
        let e = parse("R=${UNSET_VAR?Test error}", &lookup).unwrap_err();
        assert_eq!(
            e.message,
            "required variable UNSET_VAR is missing a value: Test error"
        );
        // Invalid syntax, unquoted and in (multi-line, escaped) double quotes.
        let e = err("A=x ${B }");
        assert_eq!((e.line, e.column), (1, 5));
        assert!(
            e.message.starts_with("invalid interpolation format"),
            "{e:?}"
        );
        let e = err("A=\"l1\\n\\\"q\\\" é\nl2 ${}\"");
        assert_eq!((e.line, e.column), (2, 4));
        // Single quotes are never interpolated.
        assert!(parse("A='${}'", &no_env).is_ok());
        // The comment cut can break a reference.
        let e = err("A=${B:-x #y}");
        assert_eq!((e.line, e.column), (1, 3));
    }

    #[test]
    fn invalid_key_characters() {
        let e = err("%!(EXTRA string)=foo");
        assert_eq!(
            e.message,
            r#"unexpected character "%" in variable name "%!(EXTRA string)=foo""#
        );
        assert_eq!((e.line, e.column), (1, 1));
        assert!(e.help.is_some());
        let e = err("lol$wut");
        assert_eq!((e.line, e.column), (1, 4));
        assert!(e.message.contains(r#""$""#), "{e:?}");
        let e = err("A=1\n\n  FOO # comment\n");
        assert_eq!((e.line, e.column), (3, 7));
        assert!(e.help.as_deref().unwrap().contains("comment"));
        let e = err("\"KEY\"=1");
        assert_eq!((e.line, e.column), (1, 1));
        let e = err("A=1\nfoo/bar=1\r\n");
        assert_eq!((e.line, e.column), (2, 4));
        assert_eq!(
            e.message,
            r#"unexpected character "/" in variable name "foo/bar=1""#
        );
    }

    #[test]
    fn keys_cannot_contain_spaces() {
        let text = "# some comments\nfoo=\"\n  a\n  multine\n  value\n\"\nINVALID LINE\nzot=qix";
        let e = err(text);
        assert_eq!(e.message, "key cannot contain a space");
        assert_eq!((e.line, e.column), (7, 8));
        assert!(e.help.as_deref().unwrap().contains("INVALID_LINE"));
        let e = err("MY KEY=1");
        assert_eq!((e.line, e.column), (1, 3));
        // Other blanks inside a key are accepted, as in compose-go.
        assert_eq!(value("A\tB=1", "A\tB"), "1");
    }

    #[test]
    fn unterminated_quotes() {
        for text in [
            r#"KEY=""#,
            r#"KEY="value"#,
            r#"KEY="value\""#,
            r#"KEY="value'"#,
            "KEY='",
            "KEY='value",
            r"KEY='value\'",
            r#"KEY='value""#,
        ] {
            let e = err(text);
            assert!(
                e.message.starts_with("unterminated quoted value"),
                "{text:?}: {e:?}"
            );
            assert_eq!((e.line, e.column), (1, 5), "{text:?}");
            assert!(e.help.is_some());
        }
        let e = err("A=1\nB = \"multi\nline\n");
        assert_eq!(e.message, "unterminated quoted value \"multi");
        assert_eq!((e.line, e.column), (2, 5));
    }

    #[test]
    fn many_lines() {
        let text: String = (0..1000).map(|i| format!("KEY{i}=VALUE{i}\n")).collect();
        let entries = parse_ok(&text);
        assert_eq!(entries.len(), 1000);
        assert_eq!(entries[999], entry("KEY999", "VALUE999"));
    }

    #[test]
    fn error_display_is_the_message() {
        let e = err("BAD KEY=1");
        assert_eq!(e.to_string(), "key cannot contain a space");
    }

    #[test]
    fn the_raw_format_keeps_values_as_written() {
        let text = "\u{feff}A=x $HOME ${B}\nC=\"q\"\n  # note\n\n  F= 2 \nHOME\nNOTSET\n";
        let lookup = |k: &str| (k == "HOME").then(|| "/root".to_string());
        let entries = parse_raw(text, &lookup).unwrap();
        let expected = [
            ("A", "x $HOME ${B}"),
            ("C", "\"q\""),
            ("F", " 2 "),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.to_string(), Some(v.to_string())));
        assert_eq!(entries, expected);
    }

    #[test]
    fn the_raw_format_refuses_spaces_in_keys() {
        let err = parse_raw("A=1\nexport D=1\n", &|_| None).unwrap_err();
        assert_eq!((err.line, err.column), (2, 1));
        assert!(
            err.message.contains("`export D` contains whitespaces"),
            "{}",
            err.message
        );
    }
}

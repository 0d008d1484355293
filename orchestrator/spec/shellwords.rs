//! A command written as one string (`command: npm start`), split into words as compose v2 splits
//! it: compose-go uses mattn/go-shellwords (v1.0.12, no variable or backtick expansion), which is
//! not a POSIX shell. Where they differ, compose's reading wins, so that `config` and the config
//! hash are compose's:
//!
//! - the split stops at the first unquoted `;`, `&`, `|`, `<` or `>`: `node app.js 2>&1` is
//!   `["node", "app.js"]` (a word of digits just before `>` is dropped with it);
//! - a backslash escapes the next character inside double quotes too (`"a\b"` is `ab`);
//! - a `(` that does not follow `$` is refused, `$( … )` and `` ` … ` `` are kept as one word.

/// Why a command string cannot be split (compose's message).
pub const INVALID: &str = "invalid command line string";

/// Whether the current word has begun, and how: an empty quoted word (`""`) is a word.
#[derive(PartialEq)]
enum Word {
    None,
    Plain,
    Quoted,
}

#[derive(Default)]
struct Quotes {
    single: bool,
    double: bool,
    backtick: bool,
    dollar: bool,
}

impl Quotes {
    fn any(&self) -> bool {
        self.single || self.double || self.backtick || self.dollar
    }
}

/// The words of `line`, or [`INVALID`] for an unclosed quote, a trailing backslash or a bare `(`.
pub fn split(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut started = Word::None;
    let mut escaped = false;
    let mut quotes = Quotes::default();
    for c in line.chars() {
        if escaped {
            word.push(c);
            escaped = false;
            started = Word::Plain;
            continue;
        }
        if c == '\\' {
            if quotes.single {
                word.push(c);
            } else {
                escaped = true;
            }
            continue;
        }
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if quotes.any() {
                word.push(c);
            } else if started != Word::None {
                words.push(std::mem::take(&mut word));
                started = Word::None;
            }
            continue;
        }
        match c {
            '`' if !quotes.single && !quotes.double && !quotes.dollar => {
                quotes.backtick = !quotes.backtick;
            }
            ')' if !quotes.single && !quotes.double && !quotes.backtick => {
                quotes.dollar = !quotes.dollar;
            }
            '(' if !quotes.single && !quotes.double && !quotes.backtick => {
                if quotes.dollar || !word.ends_with('$') {
                    return Err(INVALID);
                }
                quotes.dollar = true;
                word.push(c);
                continue;
            }
            '"' if !quotes.single && !quotes.dollar => {
                if quotes.double {
                    started = Word::Quoted;
                }
                quotes.double = !quotes.double;
                continue;
            }
            '\'' if !quotes.double && !quotes.dollar => {
                if quotes.single {
                    started = Word::Quoted;
                }
                quotes.single = !quotes.single;
                continue;
            }
            ';' | '&' | '|' | '<' | '>' if !quotes.any() => {
                // `2>&1`: the descriptor before a redirection goes with it.
                if c == '>' && word.starts_with(|d: char| d.is_ascii_digit()) {
                    started = Word::None;
                }
                break;
            }
            _ => {}
        }
        started = Word::Plain;
        word.push(c);
    }
    if started != Word::None {
        words.push(word);
    }
    if escaped || quotes.any() {
        return Err(INVALID);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn quotes_group_words_and_are_removed() {
        assert_eq!(
            words(r#"nginx -g "daemon off;""#),
            ["nginx", "-g", "daemon off;"]
        );
        assert_eq!(words("sh -c 'echo $HOME'"), ["sh", "-c", "echo $HOME"]);
        assert_eq!(words(r#"a "" b"#), ["a", "", "b"]);
        assert_eq!(words(r"a\ b"), ["a b"]);
    }

    #[test]
    fn a_backslash_escapes_inside_double_quotes_too() {
        assert_eq!(words(r#"echo "a\b" 'c\d'"#), ["echo", "ab", r"c\d"]);
    }

    #[test]
    fn the_split_stops_at_an_unquoted_operator() {
        assert_eq!(words("node app.js 2>&1"), ["node", "app.js"]);
        assert_eq!(words("make && make install"), ["make"]);
        assert_eq!(words("cat a|wc"), ["cat", "a"]);
        assert_eq!(words("run >log"), ["run"]);
        assert_eq!(words("echo a2>x"), ["echo", "a2"]);
        assert_eq!(words("sh -c 'a && b'"), ["sh", "-c", "a && b"]);
    }

    #[test]
    fn substitutions_stay_one_word() {
        assert_eq!(
            words("echo $(date +%s) `id -u`"),
            ["echo", "$(date +%s)", "`id -u`"]
        );
    }

    #[test]
    fn unclosed_quotes_and_bare_parentheses_are_refused() {
        assert!(split("echo 'a").is_err());
        assert!(split("echo \"a").is_err());
        assert!(split("echo a\\").is_err());
        assert!(split("echo (a)").is_err());
        assert!(split("echo a)").is_err());
    }
}

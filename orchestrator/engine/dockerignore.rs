//! `.dockerignore`: which files of a build context are sent to the engine.
//!
//! The rules are Docker's (moby's `patternmatcher` and `dockerignore.ReadAll`):
//! - one pattern a line; a line starting with `#` is a comment; surrounding spaces are trimmed;
//! - `!pattern` re-includes what an earlier pattern excluded; the last matching pattern wins;
//! - a pattern is cleaned like a path (`./a//b/` is `a/b`, `a/../b` is `b`) and a leading `/`
//!   is dropped: every pattern is relative to the context root;
//! - `*` matches any run of characters except `/`, `?` one character except `/`, `[a-z]` /
//!   `[^a-z]` a character class, `\x` the character `x`;
//! - `**` matches any number of whole directories, zero included (`**/x`, `a/**/x`), and at
//!   the end of a pattern everything below (`a/**`);
//! - a pattern that matches a directory excludes everything inside it.
//!
//! Moby compiles a pattern that starts with `**` to a plain suffix test (so `**/foo` also
//! matches `barfoo`); this matcher keeps the documented meaning instead.

/// A parsed `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    exclusion: bool,
    tokens: Vec<Token>,
    /// The characters before the first wildcard, for [`DockerIgnore::may_include_under`].
    literal_prefix: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    /// `*`: any run of characters except `/`.
    Star,
    /// `?`: one character except `/`.
    Any,
    /// `[...]`: one character (except `/`) in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `**/` or a `**` inside a pattern: nothing, or anything that ends with `/`.
    AnyDirs,
    /// `**` at the end of a pattern: anything.
    AnyTail,
}

impl DockerIgnore {
    /// Parses the contents of a `.dockerignore` file.
    pub fn parse(content: &str) -> Self {
        let content = content.strip_prefix('\u{feff}').unwrap_or(content);
        let patterns = content
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let line = line.trim();
                if line.is_empty() {
                    return None;
                }
                let (exclusion, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                if pattern.is_empty() {
                    return None;
                }
                let mut cleaned = clean(pattern);
                if cleaned.len() > 1 && cleaned.starts_with('/') {
                    cleaned.remove(0);
                }
                let tokens = compile(&cleaned);
                let literal_prefix = tokens
                    .iter()
                    .map_while(|t| match t {
                        Token::Literal(c) => Some(*c),
                        _ => None,
                    })
                    .collect();
                Some(Pattern {
                    exclusion,
                    tokens,
                    literal_prefix,
                })
            })
            .collect();
        DockerIgnore { patterns }
    }

    /// No patterns: nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out of the context:
    /// the last pattern that matches it or one of its parent directories decides.
    pub fn excluded(&self, path: &str) -> bool {
        let path = path.trim_start_matches("./").trim_matches('/');
        let parents: Vec<&str> = path
            .match_indices('/')
            .map(|(index, _)| &path[..index])
            .collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // An exclusion can only change an excluded path, an inclusion an included one.
            if pattern.exclusion != excluded {
                continue;
            }
            let matched = pattern.matches(path) || parents.iter().any(|p| pattern.matches(p));
            if matched {
                excluded = !pattern.exclusion;
            }
        }
        excluded
    }

    /// Whether files below the excluded directory `dir` may be re-included by a `!` pattern,
    /// so that a walk must still enter it. Conservative: `true` whenever an exception's
    /// literal beginning is compatible with the directory.
    pub fn may_include_under(&self, dir: &str) -> bool {
        let dir = format!("{}/", dir.trim_matches('/'));
        self.patterns.iter().filter(|p| p.exclusion).any(|p| {
            let prefix = p.literal_prefix.as_str();
            dir.starts_with(prefix) || prefix.starts_with(&dir)
        })
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        let n = chars.len();
        // Positions in `chars` reachable after the tokens so far.
        let mut reach = vec![false; n + 1];
        reach[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; n + 1];
            for j in (0..=n).filter(|&j| reach[j]) {
                match token {
                    Token::Literal(c) => {
                        if j < n && chars[j] == *c {
                            next[j + 1] = true;
                        }
                    }
                    Token::Any => {
                        if j < n && chars[j] != '/' {
                            next[j + 1] = true;
                        }
                    }
                    Token::Class { negated, ranges } => {
                        if j < n && chars[j] != '/' {
                            let c = chars[j];
                            let inside = ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
                            if inside != *negated {
                                next[j + 1] = true;
                            }
                        }
                    }
                    Token::Star => {
                        next[j] = true;
                        let mut k = j;
                        while k < n && chars[k] != '/' {
                            k += 1;
                            next[k] = true;
                        }
                    }
                    Token::AnyDirs => {
                        next[j] = true;
                        for k in j..n {
                            if chars[k] == '/' {
                                next[k + 1] = true;
                            }
                        }
                    }
                    Token::AnyTail => {
                        for slot in next.iter_mut().skip(j) {
                            *slot = true;
                        }
                    }
                }
            }
            reach = next;
            if !reach.iter().any(|r| *r) {
                return false;
            }
        }
        reach[n]
    }
}

fn compile(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                tokens.push(if i >= chars.len() {
                    Token::AnyTail
                } else {
                    Token::AnyDirs
                });
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::Any),
            '\\' => match chars.get(i) {
                Some(&next) => {
                    tokens.push(Token::Literal(next));
                    i += 1;
                }
                None => tokens.push(Token::Literal('\\')),
            },
            '[' => match class(&chars[i..]) {
                Some((token, used)) => {
                    tokens.push(token);
                    i += used;
                }
                None => tokens.push(Token::Literal('[')),
            },
            c => tokens.push(Token::Literal(c)),
        }
    }
    tokens
}

/// A character class after its `[`: the token and how many characters it used (with `]`).
fn class(chars: &[char]) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = matches!(chars.first(), Some('^') | Some('!'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let mut c = *chars.get(i)?;
        i += 1;
        if c == ']' && !first {
            break;
        }
        first = false;
        if c == '\\' {
            c = *chars.get(i)?;
            i += 1;
        }
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|n| *n != ']') {
            let mut hi = chars[i + 1];
            i += 2;
            if hi == '\\' {
                hi = *chars.get(i)?;
                i += 1;
            }
            ranges.push((c, hi));
        } else {
            ranges.push((c, c));
        }
    }
    Some((Token::Class { negated, ranges }, i))
}

/// Go's `filepath.Clean` for `/`-separated paths.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(content: &str) -> DockerIgnore {
        DockerIgnore::parse(content)
    }

    #[test]
    fn empty_file_excludes_nothing() {
        let di = ignore("");
        assert!(di.is_empty());
        assert!(!di.excluded("a"));
        let di = ignore("# only a comment\n\n   \n");
        assert!(di.is_empty());
    }

    #[test]
    fn plain_names_match_at_the_root_only() {
        let di = ignore("secret.txt\nbuild");
        assert!(di.excluded("secret.txt"));
        assert!(!di.excluded("sub/secret.txt"));
        assert!(di.excluded("build"));
        assert!(di.excluded("build/out/app"), "inside an excluded directory");
        assert!(!di.excluded("builds"));
        assert!(!di.excluded("src/build"));
    }

    #[test]
    fn star_does_not_cross_directories() {
        let di = ignore("*.log\nsrc/*.tmp");
        assert!(di.excluded("a.log"));
        assert!(di.excluded(".log"));
        assert!(!di.excluded("logs/a.log"));
        assert!(di.excluded("src/x.tmp"));
        assert!(!di.excluded("src/deep/x.tmp"));
        let di = ignore("*/temp*");
        assert!(di.excluded("somedir/temporary.txt"));
        assert!(di.excluded("somedir/temp"));
        assert!(!di.excluded("temp"));
        assert!(!di.excluded("a/b/temp"));
        let di = ignore("*/*/temp*");
        assert!(di.excluded("a/b/temp.txt"));
        assert!(!di.excluded("a/temp.txt"));
    }

    #[test]
    fn question_mark_is_one_character() {
        let di = ignore("temp?");
        assert!(di.excluded("temp1"));
        assert!(di.excluded("tempa"));
        assert!(!di.excluded("temp"));
        assert!(!di.excluded("temp12"));
        assert!(!ignore("a?b").excluded("a/b"));
    }

    #[test]
    fn double_star_matches_any_depth() {
        let di = ignore("**/*.go");
        assert!(di.excluded("main.go"));
        assert!(di.excluded("a/b/c/main.go"));
        assert!(!di.excluded("main.goo"));
        let di = ignore("**/foo");
        assert!(di.excluded("foo"));
        assert!(di.excluded("x/foo"));
        assert!(
            di.excluded("x/foo/bar"),
            "a matched directory excludes its content"
        );
        assert!(!di.excluded("barfoo"), "whole segments only");
        let di = ignore("a/**/b");
        assert!(di.excluded("a/b"));
        assert!(di.excluded("a/x/y/b"));
        assert!(!di.excluded("a/xb"));
        let di = ignore("node_modules/**");
        assert!(di.excluded("node_modules/x"));
        assert!(di.excluded("node_modules/x/y.js"));
        assert!(
            !di.excluded("node_modules"),
            "the directory itself stays (it is empty)"
        );
        let di = ignore("**");
        assert!(di.excluded("anything/at/all"));
    }

    #[test]
    fn leading_slash_and_path_cleaning() {
        let di = ignore("/secret\n./build/\nsub//deep/../x\n");
        assert!(di.excluded("secret"));
        assert!(di.excluded("build/a"));
        assert!(di.excluded("sub/x"));
        assert!(!di.excluded("sub/deep/x"));
    }

    #[test]
    fn exceptions_reinclude_and_last_match_wins() {
        let di = ignore("*.md\n!README.md");
        assert!(di.excluded("CHANGES.md"));
        assert!(!di.excluded("README.md"));
        let di = ignore("*.md\n!README*.md\nREADME-secret.md");
        assert!(di.excluded("README-secret.md"));
        assert!(!di.excluded("README-public.md"));
        let di = ignore("docs\n!docs/keep.txt");
        assert!(di.excluded("docs/other.txt"));
        assert!(!di.excluded("docs/keep.txt"));
        // An exception alone does not exclude anything.
        let di = ignore("!a");
        assert!(!di.excluded("a"));
        assert!(!di.excluded("b"));
    }

    #[test]
    fn comments_and_spaces() {
        let di = ignore("# comment\n  spaced.txt  \n#not-a-pattern\n \t\n! keep\n");
        assert!(di.excluded("spaced.txt"));
        assert!(!di.excluded("#not-a-pattern"));
        assert!(!di.excluded("# comment"));
        // A `#` that does not start the line is part of the pattern.
        assert!(ignore("a#b").excluded("a#b"));
        // With a BOM at the start of the file.
        assert!(ignore("\u{feff}x").excluded("x"));
    }

    #[test]
    fn character_classes_and_escapes() {
        let di = ignore("file[0-9].txt\nx[!a-c]\n\\*literal\n[]]z");
        assert!(di.excluded("file3.txt"));
        assert!(!di.excluded("filea.txt"));
        assert!(di.excluded("xd"));
        assert!(!di.excluded("xb"));
        assert!(!di.excluded("x/"), "classes never match a slash");
        assert!(di.excluded("*literal"));
        assert!(!di.excluded("aliteral"));
        assert!(di.excluded("]z"));
        // An unclosed class is a literal `[`.
        assert!(ignore("a[b").excluded("a[b"));
    }

    #[test]
    fn excluded_directories_are_entered_only_for_exceptions_under_them() {
        let di = ignore("docs\nvendor\n!docs/keep.txt");
        assert!(di.may_include_under("docs"));
        assert!(!di.may_include_under("vendor"));
        let di = ignore("build\n!**/keep");
        assert!(di.may_include_under("build"));
        assert!(ignore("a\n!a/*/x").may_include_under("a/b"));
        assert!(!ignore("a\nb").may_include_under("a"));
    }

    #[test]
    fn clean_is_go_filepath_clean() {
        assert_eq!(clean("a/./b/"), "a/b");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean("a/.."), ".");
        assert_eq!(clean("//"), "/");
        assert_eq!(clean("a//b/../c"), "a/c");
    }
}

//! A YAML document as a tree of nodes that remember where they were written.
//!
//! Compose needs more than a typed deserializer gives: `<<` merge keys, the `!reset` and
//! `!override` tags, interpolation of values (never keys) and a line and column for every error.
//! So the loader works on this tree until the very end, where `de` turns it into the `Model`.
//! Scalars keep their source text; their type is decided by whoever reads them, the way compose
//! reads `1.0` as a string in `environment` and as a number in `cpus`.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span as YamlSpan};

use super::diagnostic::{Diagnostic, SourceFile, Span};

/// The compose tags that change how a value merges with the files before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeTag {
    /// `!reset`: remove the value inherited from earlier files.
    Reset,
    /// `!override`: replace the inherited value instead of merging with it.
    Override,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    pub tag: Option<MergeTag>,
}

#[derive(Debug, Clone)]
pub enum Value {
    /// A scalar with its text; `plain` is false for quoted and block scalars, which are always
    /// strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Mapping),
}

/// A mapping with string keys, in file order; each key remembers its own position.
pub type Mapping = IndexMap<String, Entry>;

#[derive(Debug, Clone)]
pub struct Entry {
    pub key_span: Span,
    pub node: Node,
}

/// What a plain scalar means under YAML 1.2's core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` that fits 64 bits unsigned: Go's YAML reads it as a `uint64`.
    Uint(u64),
    Float(f64),
    Str(&'a str),
}

/// Nodes created by one document, counting alias expansions: a guard against "billion laughs".
const MAX_NODES: usize = 2_000_000;

impl Node {
    pub fn new(value: Value, span: Span) -> Node {
        Node {
            value,
            span,
            tag: None,
        }
    }

    pub fn string(text: impl Into<String>, span: Span) -> Node {
        Node::new(
            Value::Scalar {
                text: text.into(),
                plain: false,
            },
            span,
        )
    }

    pub fn map(mapping: Mapping, span: Span) -> Node {
        Node::new(Value::Map(mapping), span)
    }

    pub fn seq(items: Vec<Node>, span: Span) -> Node {
        Node::new(Value::Seq(items), span)
    }

    pub fn null(span: Span) -> Node {
        Node::new(
            Value::Scalar {
                text: String::new(),
                plain: true,
            },
            span,
        )
    }

    pub fn resolve(&self) -> Option<Resolved<'_>> {
        match &self.value {
            Value::Scalar { text, plain: true } => Some(resolve_plain(text)),
            Value::Scalar { text, plain: false } => Some(Resolved::Str(text)),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.resolve(), Some(Resolved::Null))
    }

    /// The text of a scalar, whatever it resolves to (`1.0` stays `"1.0"`).
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Mapping> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Mapping> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.get(key).map(|e| &e.node)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?.get_mut(key).map(|e| &mut e.node)
    }

    /// What the node is, for error messages: "a string", "a list", …
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Map(_) => "a mapping",
            Value::Seq(_) => "a list",
            Value::Scalar { .. } => match self.resolve() {
                Some(Resolved::Null) => "null",
                Some(Resolved::Bool(_)) => "a boolean",
                Some(Resolved::Int(_) | Resolved::Uint(_)) => "an integer",
                Some(Resolved::Float(_)) => "a number",
                _ => "a string",
            },
        }
    }

    /// The node as JSON, scalars typed by the core schema (for `x-*` extensions and labels).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, e)| (k.clone(), e.node.to_json()))
                    .collect(),
            ),
            Value::Seq(s) => serde_json::Value::Array(s.iter().map(Node::to_json).collect()),
            Value::Scalar { .. } => match self.resolve() {
                Some(Resolved::Null) | None => serde_json::Value::Null,
                Some(Resolved::Bool(b)) => b.into(),
                Some(Resolved::Int(i)) => i.into(),
                Some(Resolved::Uint(u)) => u.into(),
                Some(Resolved::Float(f)) => serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null),
                Some(Resolved::Str(s)) => s.into(),
            },
        }
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
pub fn resolve_plain(text: &str) -> Resolved<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    if let Some(integer) = parse_integer(text) {
        return integer;
    }
    let first = text.as_bytes()[0];
    // Go's YAML keeps a float that overflows (`1e400`) as a string.
    if (first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.'))
        && text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && let Ok(f) = text.parse::<f64>()
        && f.is_finite()
    {
        return Resolved::Float(f);
    }
    Resolved::Str(text)
}

/// An integer as Go's YAML reads one: signed 64 bits, else (without a sign) unsigned 64 bits;
/// `_` separators, and the bases `0x`, `0o`, `0b` and a leading `0` (octal).
fn parse_integer(text: &str) -> Option<Resolved<'static>> {
    if !text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        return None;
    }
    let plain = text.replace('_', "");
    let (sign, unsigned) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => match plain.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", plain.as_str()),
        },
    };
    let lower = unsigned.to_ascii_lowercase();
    let (radix, digits) = if let Some(hex) = lower.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = lower.strip_prefix("0o") {
        (8, oct)
    } else if let Some(bin) = lower.strip_prefix("0b") {
        (2, bin)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let signed = format!("{}{digits}", if sign == "-" { "-" } else { "" });
    if let Ok(i) = i64::from_str_radix(&signed, radix) {
        return Some(Resolved::Int(i));
    }
    match sign {
        "" => u64::from_str_radix(digits, radix).ok().map(Resolved::Uint),
        _ => None,
    }
}

/// Parses one YAML document into a node tree. An empty document is `None`.
pub fn parse(file: Arc<SourceFile>) -> Result<Option<Node>, Diagnostic> {
    let text = file.text.clone();
    let mut builder = Builder {
        file: file.clone(),
        anchors: HashMap::new(),
        nodes: 0,
    };
    let mut events = Parser::new_from_str(&text);
    let mut root = None;
    let mut documents = 0;
    loop {
        let (event, span) = builder.next(&mut events)?;
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(Diagnostic::at(
                        &builder.span(&span),
                        "a compose file holds one YAML document, this is a second one",
                    )
                    .with_help("split the documents into separate files and pass each with -f"));
                }
            }
            Event::StreamStart | Event::DocumentEnd => {}
            other => root = Some(builder.node(other, span, &mut events)?),
        }
    }
    Ok(root.filter(|n| !n.is_null()))
}

struct Builder {
    file: Arc<SourceFile>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

type Events<'a> = Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>;

impl Builder {
    fn span(&self, span: &YamlSpan) -> Span {
        let text = &self.file.text;
        let start = span.start.byte_offset().unwrap_or(0).min(text.len());
        let end = span
            .end
            .byte_offset()
            .unwrap_or(start)
            .clamp(start, text.len());
        Span {
            file: self.file.clone(),
            line: span.start.line(),
            column: span.start.col() + 1,
            offset: start,
            len: end - start,
        }
    }

    fn next<'a>(&self, events: &mut Events<'a>) -> Result<(Event<'a>, YamlSpan), Diagnostic> {
        match events.next() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(err)) => {
                let mark = err.marker();
                let offset = mark.byte_offset().unwrap_or(0);
                let span = Span {
                    file: self.file.clone(),
                    line: mark.line(),
                    column: mark.col() + 1,
                    offset,
                    len: 0,
                };
                Err(
                    Diagnostic::at(&span, format!("invalid YAML: {}", err.info()))
                        .with_help("check the indentation and quoting around this position"),
                )
            }
            None => Ok((Event::StreamEnd, YamlSpan::empty(Default::default()))),
        }
    }

    fn count(&mut self, span: &Span) -> Result<(), Diagnostic> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::at(
                span,
                format!("the document expands to more than {MAX_NODES} values through aliases"),
            )
            .with_help("an anchor is referenced recursively or too often"));
        }
        Ok(())
    }

    fn node<'a>(
        &mut self,
        event: Event<'a>,
        yspan: YamlSpan,
        events: &mut Events<'a>,
    ) -> Result<Node, Diagnostic> {
        let span = self.span(&yspan);
        self.count(&span)?;
        let (mut node, anchor, tag) = match event {
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id) else {
                    return Err(Diagnostic::at(&span, "alias to an unknown anchor"));
                };
                let node = node.clone();
                self.nodes += count_nodes(&node);
                return Ok(node);
            }
            Event::Scalar(text, style, anchor, tag) => {
                let plain = matches!(style, ScalarStyle::Plain) && tag.is_none();
                let node = Node::new(
                    Value::Scalar {
                        text: text.into_owned(),
                        plain,
                    },
                    span.clone(),
                );
                (node, anchor, tag)
            }
            Event::SequenceStart(_, anchor, tag) => {
                let mut items = Vec::new();
                loop {
                    let (event, yspan) = self.next(events)?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, yspan, events)?);
                }
                (Node::seq(items, span.clone()), anchor, tag)
            }
            Event::MappingStart(_, anchor, tag) => {
                let mapping = self.mapping(events, &span)?;
                (Node::map(mapping, span.clone()), anchor, tag)
            }
            other => {
                return Err(Diagnostic::at(
                    &span,
                    format!("unexpected YAML event {other:?}"),
                ));
            }
        };
        if let Some(tag) = tag {
            node.tag = merge_tag(tag.handle(), tag.suffix());
            // A tag such as `!!str` makes a plain scalar a string; the compose tags do not.
            if node.tag.is_some()
                && let Value::Scalar { plain, .. } = &mut node.value
            {
                *plain = true;
            }
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn mapping<'a>(&mut self, events: &mut Events<'a>, span: &Span) -> Result<Mapping, Diagnostic> {
        let mut mapping = Mapping::new();
        let mut merged: Vec<Node> = Vec::new();
        loop {
            let (event, yspan) = self.next(events)?;
            if matches!(event, Event::MappingEnd) {
                break;
            }
            let key = self.node(event, yspan, events)?;
            let (event, yspan) = self.next(events)?;
            let value = self.node(event, yspan, events)?;
            let Some(name) = key.scalar_text().map(str::to_owned) else {
                return Err(Diagnostic::at(
                    &key.span,
                    format!("a mapping key must be a string, found {}", key.kind()),
                ));
            };
            if name == "<<" && matches!(&key.value, Value::Scalar { plain: true, .. }) {
                merged.push(value);
                continue;
            }
            if mapping.contains_key(&name) {
                return Err(Diagnostic::at(
                    &key.span,
                    format!("key {name:?} is already defined in this mapping"),
                )
                .with_help("remove one of the two entries"));
            }
            mapping.insert(
                name,
                Entry {
                    key_span: key.span,
                    node: value,
                },
            );
        }
        for source in merged {
            apply_merge_key(&mut mapping, source, span)?;
        }
        Ok(mapping)
    }
}

/// `<<: *a` or `<<: [*a, *b]`: keys not written in the mapping itself are taken from the merged
/// mappings, the first listed winning.
fn apply_merge_key(mapping: &mut Mapping, source: Node, span: &Span) -> Result<(), Diagnostic> {
    let sources = match source.value {
        Value::Map(m) => vec![m],
        Value::Seq(items) => {
            let mut maps = Vec::new();
            for item in items {
                match item.value {
                    Value::Map(m) => maps.push(m),
                    _ => return Err(merge_key_error(&item.span)),
                }
            }
            maps
        }
        _ => return Err(merge_key_error(span)),
    };
    for source in sources {
        for (key, entry) in source {
            mapping.entry(key).or_insert(entry);
        }
    }
    Ok(())
}

fn merge_key_error(span: &Span) -> Diagnostic {
    Diagnostic::at(
        span,
        "the merge key `<<` takes a mapping or a list of mappings",
    )
    .with_help("write `<<: *anchor` where the anchor names a mapping")
}

fn merge_tag(handle: &str, suffix: &str) -> Option<MergeTag> {
    if handle != "!" {
        return None;
    }
    match suffix {
        "reset" => Some(MergeTag::Reset),
        "override" => Some(MergeTag::Override),
        _ => None,
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Scalar { .. } => 1,
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(m) => 1 + m.values().map(|e| count_nodes(&e.node)).sum::<usize>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Option<Node>, Diagnostic> {
        parse(Arc::new(SourceFile {
            path: "compose.yaml".into(),
            text: text.into(),
        }))
    }

    #[test]
    fn scalars_keep_their_text_and_resolve_on_demand() {
        let node = load("a: 1.0\nb: '1.0'\nc: yes\nd:\ne: 0x1f\n")
            .unwrap()
            .unwrap();
        assert_eq!(node.get("a").unwrap().scalar_text(), Some("1.0"));
        assert_eq!(node.get("a").unwrap().resolve(), Some(Resolved::Float(1.0)));
        assert_eq!(node.get("b").unwrap().resolve(), Some(Resolved::Str("1.0")));
        assert_eq!(node.get("c").unwrap().resolve(), Some(Resolved::Str("yes")));
        assert!(node.get("d").unwrap().is_null());
        assert_eq!(node.get("e").unwrap().resolve(), Some(Resolved::Int(31)));
    }

    #[test]
    fn integers_resolve_as_go_reads_them() {
        let node = load("a: -9223372036854775808\nb: 18446744073709551615\nc: 18446744073709551616\nd: +18446744073709551615\ne: 1e400\n")
            .unwrap()
            .unwrap();
        let resolved = |key: &str| node.get(key).unwrap().resolve();
        assert_eq!(resolved("a"), Some(Resolved::Int(i64::MIN)));
        assert_eq!(resolved("b"), Some(Resolved::Uint(u64::MAX)));
        assert_eq!(resolved("c"), Some(Resolved::Float(18446744073709551616.0)));
        assert_eq!(resolved("d"), Some(Resolved::Float(18446744073709551615.0)));
        assert_eq!(resolved("e"), Some(Resolved::Str("1e400")));
    }

    #[test]
    fn spans_are_one_based() {
        let node = load("services:\n  web:\n    image: nginx\n")
            .unwrap()
            .unwrap();
        let image = node
            .get("services")
            .unwrap()
            .get("web")
            .unwrap()
            .get("image")
            .unwrap();
        assert_eq!((image.span.line, image.span.column), (3, 12));
        let entry = &node.get("services").unwrap().as_map().unwrap()["web"];
        assert_eq!((entry.key_span.line, entry.key_span.column), (2, 3));
    }

    #[test]
    fn merge_keys_fill_in_missing_keys_only() {
        let text = "x: &base {a: 1, b: 2}\ny: &other {c: 5}\nz:\n  <<: [*base, *other]\n  b: 3\n";
        let node = load(text).unwrap().unwrap();
        let z = node.get("z").unwrap();
        let keys: Vec<_> = z.as_map().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(z.get("b").unwrap().scalar_text(), Some("3"));
        assert_eq!(z.get("a").unwrap().scalar_text(), Some("1"));
    }

    #[test]
    fn compose_tags_are_kept() {
        let node = load("a: !reset []\nb: !override {x: 1}\nc: !reset null\n")
            .unwrap()
            .unwrap();
        assert_eq!(node.get("a").unwrap().tag, Some(MergeTag::Reset));
        assert_eq!(node.get("b").unwrap().tag, Some(MergeTag::Override));
        assert_eq!(node.get("c").unwrap().tag, Some(MergeTag::Reset));
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_second_key() {
        let err = load("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.span.unwrap().line, 2);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = load("services:\n  web:\n    image: [nginx\n").unwrap_err();
        assert!(err.span.is_some());
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert!(load(&text).is_err());
    }

    #[test]
    fn empty_documents_are_none() {
        assert!(load("").unwrap().is_none());
        assert!(load("# only a comment\n").unwrap().is_none());
    }
}

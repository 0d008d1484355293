//! A serde `Deserializer` over the node tree, so the typed model can be derived while every
//! error still points at the line it is about.
//!
//! Scalars are typed by what the model asks for: a string field takes any scalar's text
//! (`version: 3.8` is `"3.8"`), a number field parses the text (`"8080"` is 8080), and
//! `deserialize_any` applies YAML's core schema. `x-*` keys are skipped in every mapping: they
//! are extensions, collected separately where compose keeps them.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::diagnostic::{Diagnostic, Span};
use super::yaml::{Entry, Node, Resolved, Value};

/// A deserialization error; the span is filled in by the innermost node that saw it.
#[derive(Debug)]
pub struct Error {
    message: String,
    help: Option<String>,
    span: Option<Span>,
}

impl Error {
    fn at(mut self, span: &Span) -> Error {
        if self.span.is_none() {
            self.span = Some(span.clone());
        }
        self
    }

    pub fn into_diagnostic(self) -> Diagnostic {
        Diagnostic {
            message: self.message,
            span: self.span,
            help: self.help,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        let text = msg.to_string();
        let (message, help) = match text.split_once(super::short::HELP) {
            Some((message, help)) => (message.to_string(), Some(help.to_string())),
            None => (text, None),
        };
        Error {
            message,
            help,
            span: None,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Error {
        let help = match super::suggest::closest(field, expected.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => {
                let mut keys = expected.to_vec();
                keys.sort_unstable();
                format!("the keys allowed here are: {}", keys.join(", "))
            }
        };
        Error {
            message: format!("unknown key `{field}`"),
            help: Some(help),
            span: None,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Error {
        let help = match super::suggest::closest(variant, expected.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("use one of: {}", expected.join(", ")),
        };
        Error {
            message: format!("invalid value `{variant}`"),
            help: Some(help),
            span: None,
        }
    }

    fn missing_field(field: &'static str) -> Error {
        Error {
            message: format!("missing required key `{field}`"),
            help: Some(format!("add `{field}:` here")),
            span: None,
        }
    }
}

/// Makes an error that carries a hint.
pub fn error_with_help(message: impl fmt::Display, help: impl fmt::Display) -> Error {
    Error {
        message: message.to_string(),
        help: Some(help.to_string()),
        span: None,
    }
}

/// Deserializes `T` from a node.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node) -> Result<T, Diagnostic> {
    T::deserialize(node).map_err(Error::into_diagnostic)
}

impl<'de> de::Deserializer<'de> for &'de Node {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match &self.value {
            Value::Map(m) => visitor.visit_map(MapAccess::new(m)),
            Value::Seq(s) => visitor.visit_seq(SeqAccess(s.iter())),
            Value::Scalar { .. } => match self.resolve() {
                Some(Resolved::Null) | None => visitor.visit_unit(),
                Some(Resolved::Bool(b)) => visitor.visit_bool(b),
                Some(Resolved::Int(i)) => visitor.visit_i64(i),
                Some(Resolved::Uint(u)) => visitor.visit_u64(u),
                Some(Resolved::Float(f)) => visitor.visit_f64(f),
                Some(Resolved::Str(s)) => visitor.visit_borrowed_str(s),
            },
        };
        result.map_err(|e: Error| e.at(&self.span))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.scalar_text() {
            Some("true" | "True" | "TRUE") => true,
            Some("false" | "False" | "FALSE") => false,
            _ => return Err(self.invalid("a boolean (true or false)")),
        };
        visitor
            .visit_bool(value)
            .map_err(|e: Error| e.at(&self.span))
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = self.number::<i64>("an integer")?;
        visitor
            .visit_i64(value)
            .map_err(|e: Error| e.at(&self.span))
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = self.number::<u64>("a positive integer")?;
        visitor
            .visit_u64(value)
            .map_err(|e: Error| e.at(&self.span))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = self.number::<f64>("a number")?;
        visitor
            .visit_f64(value)
            .map_err(|e: Error| e.at(&self.span))
    }

    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_f64(v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.value {
            Value::Scalar { text, .. } if !self.is_null() => visitor
                .visit_borrowed_str(text)
                .map_err(|e: Error| e.at(&self.span)),
            _ => Err(self.invalid("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_null() {
            visitor.visit_none().map_err(|e: Error| e.at(&self.span))
        } else {
            visitor
                .visit_some(self)
                .map_err(|e: Error| e.at(&self.span))
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_null() {
            visitor.visit_unit()
        } else {
            Err(self.invalid("null"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor
            .visit_newtype_struct(self)
            .map_err(|e: Error| e.at(&self.span))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.value {
            Value::Seq(s) => visitor
                .visit_seq(SeqAccess(s.iter()))
                .map_err(|e: Error| e.at(&self.span)),
            _ => Err(self.invalid("a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        static EMPTY: std::sync::LazyLock<super::yaml::Mapping> =
            std::sync::LazyLock::new(Default::default);
        match &self.value {
            Value::Map(m) => visitor
                .visit_map(MapAccess::new(m))
                .map_err(|e: Error| e.at(&self.span)),
            // `networks: {front:}`: an empty value is an empty mapping, as in compose.
            Value::Scalar { .. } if self.is_null() => visitor
                .visit_map(MapAccess::new(&EMPTY))
                .map_err(|e: Error| e.at(&self.span)),
            _ => Err(self.invalid("a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.value {
            Value::Scalar { text, .. } if !self.is_null() => visitor
                .visit_enum(text.as_str().into_deserializer())
                .map_err(|e: Error| e.at(&self.span)),
            _ => Err(self.invalid("a string")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
}

impl Node {
    fn invalid(&self, expected: &str) -> Error {
        let found = match self.scalar_text() {
            Some(text) if !self.is_null() => format!("{} `{text}`", self.kind()),
            _ => self.kind().to_string(),
        };
        Error {
            message: format!("expected {expected}, found {found}"),
            help: None,
            span: Some(self.span.clone()),
        }
    }

    fn number<T: std::str::FromStr>(&self, expected: &str) -> Result<T, Error> {
        let Value::Scalar { text, .. } = &self.value else {
            return Err(self.invalid(expected));
        };
        // A YAML 1.2 integer in another base (`0o1777`, `0x1F`) is read as its value.
        let text = match self.resolve() {
            Some(crate::spec::yaml::Resolved::Int(i)) => i.to_string(),
            Some(crate::spec::yaml::Resolved::Uint(u)) => u.to_string(),
            _ => text.trim().to_string(),
        };
        text.parse().map_err(|_| self.invalid(expected))
    }
}

struct SeqAccess<'de>(std::slice::Iter<'de, Node>);

impl<'de> de::SeqAccess<'de> for SeqAccess<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.0.next() {
            Some(node) => seed
                .deserialize(node)
                .map(Some)
                .map_err(|e| e.at(&node.span)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapAccess<'de> {
    entries: indexmap::map::Iter<'de, String, Entry>,
    value: Option<&'de Node>,
}

impl<'de> MapAccess<'de> {
    fn new(map: &'de super::yaml::Mapping) -> MapAccess<'de> {
        MapAccess {
            entries: map.iter(),
            value: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapAccess<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for (key, entry) in self.entries.by_ref() {
            if key.starts_with("x-") {
                continue;
            }
            self.value = Some(&entry.node);
            let key_de: de::value::BorrowedStrDeserializer<'de, Error> =
                de::value::BorrowedStrDeserializer::new(key);
            return seed
                .deserialize(key_de)
                .map(Some)
                .map_err(|e| e.at(&entry.key_span));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let node = self.value.take().expect("next_value after next_key");
        seed.deserialize(node).map_err(|e| e.at(&node.span))
    }
}

//! Serde helpers for vendors' JSON: the leniencies every adapter's wire
//! structs share, so that a field of an unexpected type is read as absent
//! instead of failing a whole page.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A string field read leniently: a non-empty string is `Some`; an empty
/// string, `null`, a number, a boolean, an array or an object is `None`.
/// Use with `#[serde(default, deserialize_with = "jobstop_http::wire::text")]`.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Item {
///     #[serde(default, deserialize_with = "jobstop_http::wire::text")]
///     name: Option<String>,
/// }
/// let name = |json: &str| serde_json::from_str::<Item>(json).unwrap().name;
/// assert_eq!(name(r#"{"name":"etl"}"#).as_deref(), Some("etl"));
/// assert_eq!(name(r#"{"name":""}"#), None);
/// assert_eq!(name(r#"{"name":7}"#), None);
/// assert_eq!(name(r#"{"name":{"a":[1]}}"#), None);
/// assert_eq!(name(r#"{}"#), None);
/// ```
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Lenient {
        text: |s: &str| (!s.is_empty()).then(|| s.to_owned()),
        int: |_| None,
    })
}

/// Like [`text`], but keeps an empty string as `Some("")`.
pub fn text_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Lenient {
        text: |s: &str| Some(s.to_owned()),
        int: |_| None,
    })
}

/// A number field read leniently: a JSON integer, or a string holding one
/// (vendors send both), is `Some`; anything else is `None`.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Item {
///     #[serde(default, deserialize_with = "jobstop_http::wire::integer")]
///     n: Option<i64>,
/// }
/// let n = |json: &str| serde_json::from_str::<Item>(json).unwrap().n;
/// assert_eq!(n(r#"{"n":7}"#), Some(7));
/// assert_eq!(n(r#"{"n":" 7 "}"#), Some(7));
/// assert_eq!(n(r#"{"n":7.5}"#), None);
/// assert_eq!(n(r#"{"n":"x"}"#), None);
/// assert_eq!(n(r#"{"n":[]}"#), None);
/// ```
pub fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(Lenient {
        text: |s: &str| s.trim().parse().ok(),
        int: |n| i64::try_from(n).ok(),
    })
}

/// Reads any JSON value: a string through `text`, an integer through `int`,
/// anything else as `None` (arrays and objects are skipped whole).
struct Lenient<S, I> {
    text: S,
    int: I,
}

impl<'de, T, S, I> Visitor<'de> for Lenient<S, I>
where
    S: Fn(&str) -> Option<T>,
    I: Fn(i128) -> Option<T>,
{
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((self.text)(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok((self.int)(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok((self.int)(i128::from(v)))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// A field read whatever its JSON type, kept as what it is, for mappings
/// that judge it themselves (an id sent as a number or a string, a time
/// sent as epoch milliseconds or as a date string). Absent fields default
/// to `Null` with `#[serde(default)]`.
///
/// ```
/// use jobstop_http::wire::Scalar;
/// let read = |json: &str| serde_json::from_str::<Scalar>(json).unwrap();
/// assert_eq!(read("7"), Scalar::Int(7));
/// assert_eq!(read("18446744073709551615"), Scalar::Uint(u64::MAX));
/// assert_eq!(read(r#""7""#), Scalar::Text("7".into()));
/// assert_eq!(read("null"), Scalar::Null);
/// assert_eq!(read(r#"{"a":[1]}"#), Scalar::Other);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Scalar {
    /// `null` (or absent, with `#[serde(default)]`).
    #[default]
    Null,
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer above `i64::MAX`.
    Uint(u64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A string.
    Text(String),
    /// A boolean, an array or an object.
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(i64::try_from(v).map_or(Scalar::Uint(v), Scalar::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

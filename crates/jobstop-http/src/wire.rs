//! Serde helpers for vendors' JSON: the leniencies every adapter's wire
//! structs share, so that a field of an unexpected type is read as absent
//! instead of failing a whole page.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
    d.deserialize_any(Lenient(|s: &str| (!s.is_empty()).then(|| s.to_owned())))
}

/// Like [`text`], but keeps an empty string as `Some("")`.
pub fn text_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Lenient(|s: &str| Some(s.to_owned())))
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
    d.deserialize_any(LenientInt)
}

struct Lenient<F>(F);

impl<'de, F: Fn(&str) -> Option<String>> Visitor<'de> for Lenient<F> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((self.0)(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
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

struct LenientInt;

impl<'de> Visitor<'de> for LenientInt {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.trim().parse().ok())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).ok())
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

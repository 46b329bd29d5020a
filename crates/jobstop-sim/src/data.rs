//! The vendors' data files (`data/<vendor>/*.json`: seeded tables, shares
//! and fixed wire fields, each naming its source in `_source`), parsed once
//! into a `static` and read through [`Data`].

// Some helpers serve some vendors only (one cargo feature each).
#![cfg_attr(not(feature = "full"), allow(dead_code))]

use serde_json::Value;

use crate::SplitMix64;

/// `src` parsed (`Null` if it does not parse, which each vendor's
/// `data_files_parse`-style test rules out).
pub(crate) fn parse(src: &str) -> Value {
    let parsed = serde_json::from_str(src);
    debug_assert!(parsed.is_ok(), "a data file parses");
    parsed.unwrap_or_default()
}

/// The items of the array `v` (none if it is not one).
pub(crate) fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// The string `v` (`""` if it is not one).
pub(crate) fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// `template` (an object) with the keys of `fields` set over it.
pub(crate) fn fill(template: &Value, fields: Value) -> Value {
    let mut v = template.clone();
    if let (Some(m), Value::Object(f)) = (v.as_object_mut(), fields) {
        m.extend(f);
    }
    v
}

/// The object `v` without its `null` members (for wires where an optional
/// field is absent, never `null`).
pub(crate) fn without_nulls(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.retain(|_, v| !v.is_null());
    }
    v
}

/// Reading a parsed data file by key.
pub(crate) trait Data {
    /// The array `key` (empty if missing).
    fn table(&self, key: &str) -> &[Value];
    /// One entry of table `key`, drawn from `rng` (`Null` if empty).
    fn pick(&self, rng: &mut SplitMix64, key: &str) -> &Value;
    /// The value of the first `[value, bound]` of table `key` whose bound
    /// exceeds a draw below 100 (cumulative percentages).
    fn weighted(&self, rng: &mut SplitMix64, key: &str) -> &Value;
    /// The fixed fields `key` with `fields` set over them.
    fn over(&self, key: &str, fields: Value) -> Value;
}

impl Data for Value {
    fn table(&self, key: &str) -> &[Value] {
        items(&self[key])
    }

    fn pick(&self, rng: &mut SplitMix64, key: &str) -> &Value {
        rng.pick(self.table(key)).unwrap_or(&Value::Null)
    }

    fn weighted(&self, rng: &mut SplitMix64, key: &str) -> &Value {
        let draw = rng.below(100);
        let hit = self
            .table(key)
            .iter()
            .find(|e| draw < e[1].as_u64().unwrap_or(0));
        hit.map_or(&Value::Null, |e| &e[0])
    }

    fn over(&self, key: &str, fields: Value) -> Value {
        fill(&self[key], fields)
    }
}

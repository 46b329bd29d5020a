//! Shared pieces of the fuzz targets (`fuzz/` at the repository root) and of
//! their property-test twins that run with every `cargo test`.
//!
//! A decoder under test takes vendor bytes and returns runs or an error. The
//! checks here state what must hold for **any** input: no panic (the caller
//! simply calls the decoder), errors that print on one bounded line, and runs
//! that carry the right vendor and a non-empty id. The strategies generate
//! the inputs the twins feed: arbitrary bytes, and "near-valid" JSON made by
//! mutating a documented example (fields dropped, retyped, nulled, added,
//! strings replaced by hostile ones, the text truncated).

use jobstop_core::{Error, Result, Run, Vendor};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The longest an error's `Display` may be, in bytes. Messages quote vendor
/// text (error messages, ids) only in truncated form, so even a 16 MiB body
/// cannot make an error line grow past this.
pub const MAX_ERROR_DISPLAY: usize = 8 * 1024;

/// Asserts what must hold of an error from any input: `Display` is one line
/// (no CR or LF a log reader could be fooled by) of bounded length, and
/// `Debug` does not panic.
pub fn check_error(e: &Error) {
    let shown = e.to_string();
    assert!(
        !shown.contains(['\n', '\r']),
        "an error Display spans lines: {shown:?}"
    );
    assert!(
        shown.len() <= MAX_ERROR_DISPLAY,
        "an error Display is {} bytes long: {}…",
        shown.len(),
        shown.chars().take(200).collect::<String>()
    );
    let _ = format!("{e:?}");
}

/// Asserts what must hold of a decoded run: it belongs to `vendor`, has a
/// non-empty id, and its id, state and `Debug` print without panicking.
pub fn check_run(vendor: &Vendor, run: &Run) {
    assert_eq!(&run.vendor, vendor, "a run decoded for the wrong vendor");
    assert!(
        !run.id.as_str().is_empty(),
        "a run decoded with an empty id"
    );
    let _ = format!("{} {} {:?}", run.id.escape_for_display(), run.state, run);
}

/// Checks a decoder's result with [`check_run`] or [`check_error`].
pub fn check_decoded(vendor: &Vendor, result: &Result<Vec<Run>>) {
    match result {
        Ok(runs) => runs.iter().for_each(|r| check_run(vendor, r)),
        Err(e) => check_error(e),
    }
}

/// Hostile strings: control characters, path tricks, markup, very long text,
/// non-ASCII and the empty string.
pub fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("../../admin".to_owned()),
        Just("a/b?c#d%2F".to_owned()),
        Just("line\r\nInjected: yes".to_owned()),
        Just("nul\0byte".to_owned()),
        Just("<html><title>x</title></html>".to_owned()),
        Just("ünïcödé ✓ 𝄞".to_owned()),
        Just("9".repeat(400)),
        Just("x".repeat(70_000)),
        ".{0,40}",
    ]
}

/// Arbitrary JSON: scalars of every type (huge and negative numbers
/// included), hostile strings, and nested arrays and objects.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Numbers at the edges of what a decoder or the arithmetic after it may
/// hold: zero, -1, the extremes of `i64` and `u64`, and `10^19` (a token
/// lifetime that overflowed the clock), so every field that holds a number
/// meets them.
pub fn edge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::from(0)),
        Just(Value::from(-1)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(i64::MAX)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(10_000_000_000_000_000_000_u64)),
    ]
}

/// One change to a JSON document.
#[derive(Debug, Clone)]
enum Mutation {
    /// Remove the member (or array element) at the chosen place.
    Remove,
    /// Replace the chosen value.
    Replace(Value),
    /// Add a member to the chosen object (or element to an array).
    Add(String, Value),
}

/// Every place in `v`, as a JSON pointer, the root included.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let key = k.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn apply(doc: &mut Value, seed: usize, m: Mutation) {
    let mut places = Vec::new();
    pointers(doc, String::new(), &mut places);
    let Some(at) = places.get(seed % places.len().max(1)).cloned() else {
        return;
    };
    match m {
        Mutation::Replace(v) => {
            if let Some(slot) = doc.pointer_mut(&at) {
                *slot = v;
            }
        }
        Mutation::Add(k, v) => match doc.pointer_mut(&at) {
            Some(Value::Object(o)) => {
                o.insert(k, v);
            }
            Some(Value::Array(a)) => a.push(v),
            _ => {}
        },
        Mutation::Remove => {
            let Some((parent, last)) = at.rsplit_once('/') else {
                return;
            };
            let last = last.replace("~1", "/").replace("~0", "~");
            match doc.pointer_mut(parent) {
                Some(Value::Object(o)) => {
                    o.remove(&last);
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>()
                        && i < a.len()
                    {
                        a.remove(i);
                    }
                }
                _ => {}
            }
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Remove),
        any_json().prop_map(Mutation::Replace),
        Just(Mutation::Replace(Value::Null)),
        hostile_string().prop_map(|s| Mutation::Replace(Value::String(s))),
        edge_number().prop_map(Mutation::Replace),
        ("[a-zA-Z_]{1,12}", any_json()).prop_map(|(k, v)| Mutation::Add(k, v)),
    ]
}

/// How the mutated text is finally damaged, if at all.
#[derive(Debug, Clone)]
enum Ending {
    Intact,
    /// Cut at this fraction (in 1/256ths) of the length.
    Truncated(u8),
    /// Followed by these bytes.
    Trailing(Vec<u8>),
}

/// Near-valid inputs built from `samples`: each is `[selector] ++ body`,
/// where `selector` is kept from the sample (decoders are chosen by the
/// first byte) and `body` is the sample's JSON after 0–4 mutations, then
/// possibly truncated or followed by junk. Samples whose body is not JSON are
/// only truncated or extended.
pub fn near_valid(samples: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    assert!(!samples.is_empty(), "near_valid needs at least one sample");
    let ending = prop_oneof![
        4 => Just(Ending::Intact),
        1 => any::<u8>().prop_map(Ending::Truncated),
        1 => prop::collection::vec(any::<u8>(), 1..8).prop_map(Ending::Trailing),
    ];
    (
        0..samples.len(),
        prop::collection::vec((any::<usize>(), mutation()), 0..5),
        ending,
    )
        .prop_map(move |(which, mutations, ending)| {
            let sample = &samples[which];
            let (selector, body) = sample.split_first().map_or((0, &[][..]), |(s, b)| (*s, b));
            let mut text = match serde_json::from_slice::<Value>(body) {
                Ok(mut doc) => {
                    for (seed, m) in mutations {
                        apply(&mut doc, seed, m);
                    }
                    serde_json::to_vec(&doc).unwrap_or_default()
                }
                Err(_) => body.to_vec(),
            };
            match ending {
                Ending::Intact => {}
                Ending::Truncated(f) => text.truncate(text.len() * usize::from(f) / 256),
                Ending::Trailing(junk) => text.extend(junk),
            }
            let mut out = Vec::with_capacity(text.len() + 1);
            out.push(selector);
            out.extend(text);
            out
        })
}

/// Arbitrary bytes, up to 4 KiB, for the "any input" twin.
pub fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..4096)
}

/// A decoder as the fuzz targets call it: vendor bytes in, runs or the
/// controller's error out.
pub type Decoder = fn(&[u8]) -> Result<Vec<Run>>;

/// The bounded property-test twin of a fuzz target. First every seed (a
/// documented example) must decode: to runs, or to an error for the seeds
/// whose selector is `error_selector` (the error-body decoder). Then `cases`
/// arbitrary byte strings and `cases` near-valid mutations of the seeds are
/// checked with [`check_decoded`]. Panics with the smallest failing input
/// found.
pub fn run_twin(
    vendor: &Vendor,
    decode: Decoder,
    seeds: Vec<Vec<u8>>,
    error_selector: u8,
    cases: u32,
) {
    use proptest::test_runner::{Config, TestRunner};

    for seed in &seeds {
        let out = decode(seed);
        check_decoded(vendor, &out);
        let shown = String::from_utf8_lossy(seed);
        if seed.first() == Some(&error_selector) {
            assert!(out.is_err(), "error seed {shown:?} decoded: {out:?}");
        } else {
            assert!(out.is_ok(), "seed {shown:?} did not decode: {out:?}");
        }
    }

    let check = |data: Vec<u8>| {
        check_decoded(vendor, &decode(&data));
        Ok(())
    };
    let mut runner = TestRunner::new(Config::with_cases(cases));
    if let Err(e) = runner.run(&any_bytes(), check) {
        panic!("{vendor} decoder, arbitrary bytes: {e}");
    }
    let mut runner = TestRunner::new(Config::with_cases(cases));
    if let Err(e) = runner.run(&near_valid(seeds), check) {
        panic!("{vendor} decoder, near-valid JSON: {e}");
    }
}

/// Writes `seeds` as files `seed-N` in `fuzz/seeds/<target>/` of the
/// repository (found from this crate's manifest directory), for
/// `cargo fuzz run <target> fuzz/corpus/<target> fuzz/seeds/<target>`.
///
/// # Panics
///
/// When the directory cannot be written.
pub fn write_seeds(target: &str, seeds: &[Vec<u8>]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    std::fs::create_dir_all(&dir).expect("create the seed directory");
    for (n, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{n}")), seed).expect("write a seed");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::json;

    #[test]
    fn mutations_change_documents_and_keep_the_selector() {
        let sample = {
            let mut v = vec![3u8];
            v.extend(serde_json::to_vec(&json!({"id":"a","state":"running","n":[1,2]})).unwrap());
            v
        };
        let mut runner = TestRunner::new(Config::with_cases(200));
        let strategy = near_valid(vec![sample.clone()]);
        let mut changed = 0;
        for _ in 0..200 {
            let input = strategy.new_tree(&mut runner).unwrap().current();
            assert_eq!(input[0], 3);
            if input != sample {
                changed += 1;
            }
        }
        assert!(changed > 100, "only {changed} of 200 inputs were mutated");
    }

    #[test]
    fn remove_and_add_reach_nested_places() {
        let mut doc = json!({"a":{"b":[1,{"c/d":2}]}});
        let mut places = Vec::new();
        pointers(&doc, String::new(), &mut places);
        assert!(places.contains(&"/a/b/1/c~1d".to_owned()));
        let i = places.iter().position(|p| p == "/a/b/1/c~1d").unwrap();
        apply(&mut doc, i, Mutation::Remove);
        assert_eq!(doc, json!({"a":{"b":[1,{}]}}));
    }

    #[test]
    fn checks_catch_foreign_runs() {
        let bad = Error::invalid_response("x").with_vendor(Vendor::AMPERITY);
        check_error(&bad);
        let run = Run::new(
            Vendor::CHORUS,
            jobstop_core::RunId::new("1"),
            jobstop_core::RunState::Running,
            "running",
        );
        let caught = std::panic::catch_unwind(|| check_run(&Vendor::AMPERITY, &run));
        assert!(caught.is_err());
    }
}

#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

/// Builder-style setters, one line each: `name(field.path): Type` takes the
/// type as is, `name(field.path): into Type` takes `impl Into<Type>`, and
/// `some` before either stores `Some(value)`. Doc comments carry over.
///
/// ```ignore
/// impl SimBuilder<Amperity> {
///     setters! {
///         /// The tenant id. Default `acme`.
///         tenant(options.tenant): into String;
///         /// How many `running` runs to generate. Default 0.
///         running(options.running): usize;
///         /// The static bearer token. Default: derived from the seed.
///         static_token(options.static_token): some into String;
///     }
/// }
/// ```
macro_rules! setters {
    () => {};
    ($(#[$m:meta])* $name:ident ($($f:ident).+): some into $ty:ty; $($rest:tt)*) => {
        setters! { @ $(#[$m])* $name($($f).+) v: impl Into<$ty> => Some(v.into()) }
        setters! { $($rest)* }
    };
    ($(#[$m:meta])* $name:ident ($($f:ident).+): some $ty:ty; $($rest:tt)*) => {
        setters! { @ $(#[$m])* $name($($f).+) v: $ty => Some(v) }
        setters! { $($rest)* }
    };
    ($(#[$m:meta])* $name:ident ($($f:ident).+): into $ty:ty; $($rest:tt)*) => {
        setters! { @ $(#[$m])* $name($($f).+) v: impl Into<$ty> => v.into() }
        setters! { $($rest)* }
    };
    ($(#[$m:meta])* $name:ident ($($f:ident).+): $ty:ty; $($rest:tt)*) => {
        setters! { @ $(#[$m])* $name($($f).+) v: $ty => v }
        setters! { $($rest)* }
    };
    (@ $(#[$m:meta])* $name:ident($($f:ident).+) $v:ident: $arg:ty => $val:expr) => {
        $(#[$m])*
        pub fn $name(mut self, $v: $arg) -> Self {
            self.$($f).+ = $val;
            self
        }
    };
}

/// Declares the builder options once: `extra` fields (no setter, empty by
/// default), then per option the setter's doc and `name(kind): Type =
/// default;` (`kind` as in `setters!`): the field, its default and the setter.
#[allow(unused_macros)] // with only some vendor features on
macro_rules! options {
    ($(#[$sm:meta])* $name:ident for $vendor:ty { $($x:ident: $xt:ty),* $(,)? }
     $($(#[$m:meta])* $f:ident($($kind:tt)+): $ty:ty = $default:expr;)*) => {
        $(#[$sm])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $(pub(crate) $x: $xt,)*
            $(pub(crate) $f: $ty,)*
        }
        impl Default for $name {
            fn default() -> Self {
                $name { $($x: Default::default(),)* $($f: $default,)* }
            }
        }
        impl SimBuilder<$vendor> {
            setters! { $($(#[$m])* $f(options.$f): $($kind)+;)* }
        }
    };
}

/// Methods whose body is one expression, one line each (accessors and
/// pass-throughs): `pub fn token(&self) -> &str = &self.vendor.token;`.
macro_rules! one_liners {
    ($($(#[$m:meta])* $v:vis fn $name:ident($($p:tt)*) $(-> $r:ty)? = $e:expr;)*) => {
        $($(#[$m])* $v fn $name($($p)*) $(-> $r)? { $e })*
    };
}

/// `&str` accessors of a handle's vendor fields: `name: field.path;`.
#[allow(unused_macros)]
macro_rules! accessors {
    ($($(#[$m:meta])* $name:ident: $($path:ident).+;)*) => {
        $($(#[$m])* pub fn $name(&self) -> &str { &self.vendor.$($path).+ })*
    };
}

/// Handle methods that call the vendor store's method `$f` (default: the
/// same name): `name = f(arg: Type) -> Ret;`.
#[allow(unused_macros)]
macro_rules! store_calls {
    ($($(#[$m:meta])* $name:ident $(= $f:ident)? ($($a:ident: $t:ty),*) -> $r:ty;)*) => {
        $($(#[$m])* pub fn $name(&self, $($a: $t),*) -> $r {
            store_calls!(@call $crate::lock(&self.vendor.store), $name $($f)?, $($a),*)
        })*
    };
    (@call $s:expr, $name:ident, $($a:ident),*) => { $s.$name($($a),*) };
    (@call $s:expr, $name:ident $f:ident, $($a:ident),*) => { $s.$f($($a),*) };
}

/// `impl Timed` for records whose pending changes are their `timeline`
/// field: `timed!(Record => Change, …);`.
#[allow(unused_macros)]
macro_rules! timed {
    ($($record:ty => $change:ty),*) => {$(
        impl $crate::store::Timed for $record {
            type Change = $change;
            fn timeline(&self) -> &$crate::Timeline<$change> { &self.timeline }
            fn timeline_mut(&mut self) -> &mut $crate::Timeline<$change> { &mut self.timeline }
        }
    )*};
}

#[cfg(feature = "amperity")]
#[cfg_attr(docsrs, doc(cfg(feature = "amperity")))]
pub mod amperity;
#[cfg(feature = "centurylink")]
#[cfg_attr(docsrs, doc(cfg(feature = "centurylink")))]
pub mod centurylink;
#[cfg(feature = "chorus")]
#[cfg_attr(docsrs, doc(cfg(feature = "chorus")))]
pub mod chorus;
mod clock;
mod data;
#[cfg(feature = "dataarts")]
#[cfg_attr(docsrs, doc(cfg(feature = "dataarts")))]
pub mod dataarts;
pub mod endless;
mod fault;
mod framework;
mod log;
mod rng;
mod server;
mod sims;
mod store;

pub use clock::{SimClock, Timeline, default_epoch, format_millis, truncate_millis};
pub use fault::{Fault, FaultBody, FaultRule, Faults, JsonRewrite, RateLimit, Route, RuleId};
pub use framework::{AnySim, Common, Population, Sim, SimBuilder, VendorSim};
pub use log::{LoggedRequest, MASK, Secret};
pub use rng::SplitMix64;
pub use server::{SimServer, SimServerBuilder};
pub use sims::{Sims, SimsOptions, StartError};

/// What a simulator offers a client as data: `(key, value)` pairs, the keys
/// those of the adapter's config (`base_url`, `tenant`, `token`). The CLI
/// turns them into `export` lines through the adapter's config type.
pub type Settings = Vec<(&'static str, String)>;

/// `settings` of `vendor` as `JOBSTOP_<VENDOR>_<KEY>` variables, the
/// adapters' rule (the CLI also checks them against the config types).
pub fn env_vars(vendor: &str, settings: Settings) -> Vec<(String, String)> {
    settings
        .into_iter()
        .map(|(key, value)| {
            let var = format!(
                "JOBSTOP_{}_{}",
                vendor.to_ascii_uppercase(),
                key.to_ascii_uppercase()
            );
            (var, value)
        })
        .collect()
}

/// Locks `m`, carrying on with the data if another thread panicked while
/// holding it (simulator state stays usable; nothing here can be left half
/// updated in a way that matters to a test).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

//! Vendor names.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The platform a controller talks to, as a short lowercase name.
///
/// The four built-in vendors have constants; a user's own controller can name
/// itself with [`Vendor::new`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Vendor(Cow<'static, str>);

impl Vendor {
    /// Amperity workflow runs.
    pub const AMPERITY: Vendor = Vendor::from_static("amperity");
    /// Chorus (Alpine / TIBCO) workflow workfiles.
    pub const CHORUS: Vendor = Vendor::from_static("chorus");
    /// Huawei DataArts Studio (DataArts Factory) jobs and job instances.
    pub const DATAARTS: Vendor = Vendor::from_static("dataarts");
    /// CenturyLink Cloud Runner job executions.
    pub const CENTURYLINK: Vendor = Vendor::from_static("centurylink");
    /// The in-memory controller.
    pub const IN_MEMORY: Vendor = Vendor::from_static("in-memory");

    /// A vendor name known at compile time.
    pub const fn from_static(name: &'static str) -> Self {
        Vendor(Cow::Borrowed(name))
    }

    /// A vendor name, e.g. for a user's own controller.
    pub fn new(name: impl Into<String>) -> Self {
        Vendor(Cow::Owned(name.into()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Vendor({:?})", self.0)
    }
}

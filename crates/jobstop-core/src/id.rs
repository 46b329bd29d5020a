//! Run ids and list cursors.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The id of one run, opaque to everything but the adapter that made it.
///
/// Each adapter documents its format. Some are composite, such as
/// `job-name/instance-id`; an adapter refuses a malformed id with
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before any request
/// is sent. Adapters never splice an id into a URL unencoded.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// Wraps an id string. No validation happens here; adapters validate.
    pub fn new(id: impl Into<String>) -> Self {
        RunId(id.into())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the id, returning the string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The id with control characters escaped, safe to put on one log line.
    pub fn escape_for_display(&self) -> impl fmt::Display + '_ {
        Escaped(&self.0)
    }
}

struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 200;
        for (n, c) in self.0.chars().enumerate() {
            if n >= MAX {
                return f.write_str("…");
            }
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunId({:?})", self.0)
    }
}

impl From<String> for RunId {
    fn from(s: String) -> Self {
        RunId(s)
    }
}

impl From<&str> for RunId {
    fn from(s: &str) -> Self {
        RunId(s.to_owned())
    }
}

impl AsRef<str> for RunId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An opaque position in a listing, returned in [`Page::next_cursor`](crate::Page)
/// and passed back in [`ListQuery::cursor`](crate::ListQuery).
///
/// A cursor is only meaningful to the controller that made it, for the same
/// query. It may be stored (it is plain text) but not edited.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a cursor string.
    pub fn new(cursor: impl Into<String>) -> Self {
        Cursor(cursor.into())
    }

    /// The cursor as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({:?})", self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

//! Errors of cluster admin commands, carrying Redis' exact reply text.

use std::fmt;

/// A semantic error of a CLUSTER subcommand. `Display` is the exact error
/// reply Redis sends (including the `ERR ` prefix), so the command layer can
/// forward it verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterError(String);

impl ClusterError {
    pub(crate) fn new(text: impl Into<String>) -> ClusterError {
        ClusterError(text.into())
    }

    /// The reply text, e.g. `ERR Slot 5 is already busy`.
    pub fn text(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClusterError {}

//! Error context: which stage and which file an I/O error belongs to.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use weir_core::Error;

/// The stage name (and the file, if any) an adapter reports its errors with.
#[derive(Debug, Clone)]
pub(crate) struct IoContext {
    stage: Arc<str>,
    path: Option<Arc<Path>>,
}

impl IoContext {
    pub(crate) fn new(stage: Arc<str>, path: Option<Arc<Path>>) -> Self {
        IoContext { stage, path }
    }

    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn stage(&self) -> &Arc<str> {
        &self.stage
    }

    /// An I/O failure while doing `what` ("cannot read", "cannot write"),
    /// naming the file when there is one.
    pub(crate) fn io_error(&self, what: &str, e: io::Error) -> Error {
        match &self.path {
            Some(p) => self.error(described(format!("{what} {}", p.display()), e)),
            None => self.error(e),
        }
    }

    /// An error already carrying its own description, given this stage.
    pub(crate) fn error(&self, e: impl Into<Error>) -> Error {
        e.into().with_stage(self.stage.clone())
    }
}

/// An `io::Error` of the same kind as `source`, whose text is
/// `"{what}: {source}"`.
pub(crate) fn described(what: String, source: io::Error) -> io::Error {
    let kind = source.kind();
    io::Error::new(kind, Described { what, source })
}

/// An I/O error with what was being done (and to which file) in front.
///
/// Its `Display` already includes the cause, so a caller printing one line
/// gets the whole story; `source()` skips the cause to avoid printing it
/// twice when a chain is walked.
#[derive(Debug)]
struct Described {
    what: String,
    source: io::Error,
}

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for Described {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.source)
    }
}

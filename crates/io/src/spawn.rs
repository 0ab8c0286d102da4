//! Running blocking work on Tokio's blocking pool, without panicking when
//! there is no runtime.

use tokio::runtime::Handle;
use tokio::task::{JoinError, JoinHandle};
use weir_core::Error;

/// Where blocking jobs go: the runtime current when the adapter was made,
/// or else the one current when the first job starts.
#[derive(Debug, Default)]
pub(crate) struct Spawner {
    handle: Option<Handle>,
}

impl Spawner {
    pub(crate) fn new() -> Self {
        Spawner {
            handle: Handle::try_current().ok(),
        }
    }

    /// Starts `f` on the blocking pool.
    ///
    /// # Errors
    /// When no Tokio runtime was current, now or at construction.
    pub(crate) fn spawn<F, T>(&mut self, f: F) -> Result<JoinHandle<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.handle.is_none() {
            self.handle = Handle::try_current().ok();
        }
        match &self.handle {
            Some(h) => Ok(h.spawn_blocking(f)),
            None => Err(Error::msg(
                "no tokio runtime: weir-io runs its file and stdio work on tokio's blocking pool",
            )),
        }
    }
}

/// The error for a blocking job that did not return: it panicked, or the
/// runtime shut down before it ran.
pub(crate) fn join_error(e: JoinError) -> Error {
    if e.is_panic() {
        let payload = e.into_panic();
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "a blocking i/o call panicked".to_string()
        };
        Error::panicked(message)
    } else {
        Error::cancelled()
    }
}

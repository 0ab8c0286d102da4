//! Synchronisation primitives, swapped for loom's under `cfg(loom)` so that the
//! buffer's models can check every interleaving.

#[cfg(all(test, loom))]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard, atomic};
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard, atomic};

/// Locks `m`, ignoring poisoning: the buffer's state is updated so that every
/// critical section leaves it consistent, and no user code runs under the lock.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

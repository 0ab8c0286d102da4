//! Crate-internal tracing macros: they compile to nothing without the
//! `tracing` feature.

#[cfg(feature = "tracing")]
macro_rules! io_debug {
    ($($arg:tt)*) => { ::tracing::debug!($($arg)*) };
}
#[cfg(not(feature = "tracing"))]
macro_rules! io_debug {
    ($($arg:tt)*) => {};
}

pub(crate) use io_debug;

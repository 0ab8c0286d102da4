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

#[cfg(feature = "tracing")]
macro_rules! io_error {
    ($($arg:tt)*) => { ::tracing::error!($($arg)*) };
}
#[cfg(not(feature = "tracing"))]
macro_rules! io_error {
    ($($arg:tt)*) => {};
}

pub(crate) use {io_debug, io_error};

//! Crate-internal tracing macros: they compile to nothing without the
//! `tracing` feature.

#[cfg(feature = "tracing")]
macro_rules! bp_debug {
    ($($arg:tt)*) => { ::tracing::debug!(target: "weir::backpressure", $($arg)*) };
}
#[cfg(not(feature = "tracing"))]
macro_rules! bp_debug {
    ($($arg:tt)*) => {};
}

#[cfg(feature = "tracing")]
macro_rules! bp_trace {
    ($($arg:tt)*) => { ::tracing::trace!(target: "weir::backpressure", $($arg)*) };
}
#[cfg(not(feature = "tracing"))]
macro_rules! bp_trace {
    ($($arg:tt)*) => {};
}

#[cfg(feature = "tracing")]
macro_rules! bp_warn {
    ($($arg:tt)*) => { ::tracing::warn!(target: "weir::backpressure", $($arg)*) };
}
#[cfg(not(feature = "tracing"))]
macro_rules! bp_warn {
    ($($arg:tt)*) => {};
}

pub(crate) use bp_debug;
pub(crate) use bp_trace;
pub(crate) use bp_warn;

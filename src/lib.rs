#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use weir_core::*;

/// Pipelines, `pipe()` and run reports (the `weir-pipe` crate).
pub use weir_pipe as pipe;

/// Compression (gzip, deflate, zlib, zstd, brotli) and text/framing
/// transforms: the `weir-codecs` crate.
pub use weir_codecs as codecs;

/// Files and standard streams as readables and writables (the `weir-io` crate).
pub use weir_io as io;

/// The names most programs need, for a glob import.
pub mod prelude {
    pub use weir_core::{
        Error, Limit, Readable, ReadableExt, Transform, TransformExt, Writable, Written, buffer,
    };
    pub use weir_pipe::{Pipeline, pipe};
}

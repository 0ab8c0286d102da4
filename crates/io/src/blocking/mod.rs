//! Sources and sinks over any blocking `std::io::Read` / `std::io::Write`.
mod blocking_sink;
mod blocking_sink_builder;
mod blocking_source;
mod blocking_source_builder;
mod stdio;

pub use self::blocking_sink::BlockingSink;
pub use self::blocking_sink_builder::BlockingSinkBuilder;
pub use self::blocking_source::BlockingSource;
pub use self::blocking_source_builder::BlockingSourceBuilder;
pub use self::stdio::{stdin, stdout};

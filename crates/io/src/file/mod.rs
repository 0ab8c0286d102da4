//! Files as sources and sinks.
mod file_sink;
mod file_sink_builder;
mod file_source;
mod file_source_builder;
mod temp_file;
mod writeback;

pub use self::file_sink::FileSink;
pub use self::file_sink_builder::FileSinkBuilder;
pub use self::file_source::FileSource;
pub use self::file_source_builder::FileSourceBuilder;

use std::io::Write;
use std::sync::Arc;

use crate::context::IoContext;
use crate::write_engine::WriteEngine;
use crate::{BlockingSink, DEFAULT_BLOCK_SIZE};

/// Settings for a [`BlockingSink`]; made by [`BlockingSink::builder`].
///
/// Defaults (not part of the semver contract): 1 MiB batches, stage name
/// `"writer"`.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::SinkExt;
/// use weir_io::BlockingSink;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let mut sink = BlockingSink::builder().block_size(256 * 1024).name("out").build(Vec::new());
/// sink.send(Bytes::from_static(b"hello")).await?;
/// sink.close().await?;
/// assert_eq!(sink.bytes_written(), 5);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BlockingSinkBuilder {
    block: usize,
    name: Arc<str>,
}

impl Default for BlockingSinkBuilder {
    fn default() -> Self {
        BlockingSinkBuilder {
            block: DEFAULT_BLOCK_SIZE,
            name: Arc::from("writer"),
        }
    }
}

impl BlockingSinkBuilder {
    /// The default settings.
    pub fn new() -> Self {
        BlockingSinkBuilder::default()
    }

    /// How many bytes a batch gathers before it is written in one blocking
    /// hop (at least 1). `poll_ready` waits only when a batch this size is
    /// full and the previous one is still being written.
    pub fn block_size(&mut self, n: usize) -> &mut Self {
        self.block = n;
        self
    }

    /// The stage name errors carry ([`weir_core::Error::stage`]).
    pub fn name(&mut self, name: impl Into<Arc<str>>) -> &mut Self {
        self.name = name.into();
        self
    }

    /// A sink writing to `writer`.
    pub fn build<W: Write + Send + 'static>(&self, writer: W) -> BlockingSink<W> {
        BlockingSink::from_engine(WriteEngine::new(
            writer,
            self.block,
            Box::new(|w: W| {
                drop(w);
                Ok(())
            }),
            IoContext::new(self.name.clone(), None),
        ))
    }
}

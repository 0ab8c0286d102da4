//! Items every encoder and every decoder has, written once.

/// The `Transform` impl, counters, `Default` and the common builder setters
/// of a decoder type `$ty` (with a field `engine: DecodeEngine<_>`) and its
/// builder `$builder` (with a field `settings: DecodeSettings`).
macro_rules! decoder_common {
    ($ty:ident, $builder:ident, $name:literal) => {
        impl $ty {
            /// Compressed bytes consumed so far (trailing bytes included).
            pub fn total_in(&self) -> u64 {
                self.engine.total_in()
            }

            /// Decompressed bytes emitted so far.
            pub fn total_out(&self) -> u64 {
                self.engine.total_out()
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                $ty::new()
            }
        }

        impl weir_core::Transform for $ty {
            type In = bytes::Bytes;
            type Out = bytes::Bytes;

            fn transform(
                &mut self,
                chunk: bytes::Bytes,
                out: &mut weir_core::Output<bytes::Bytes>,
            ) -> Result<(), weir_core::Error> {
                self.engine.transform(chunk, out)
            }

            fn resume(
                &mut self,
                out: &mut weir_core::Output<bytes::Bytes>,
            ) -> Result<bool, weir_core::Error> {
                self.engine.resume(out)
            }

            fn flush(
                &mut self,
                out: &mut weir_core::Output<bytes::Bytes>,
            ) -> Result<(), weir_core::Error> {
                self.engine.flush(out)
            }

            fn name(&self) -> &str {
                $name
            }

            /// Compression is CPU-bound: in a pipeline it gets a task of
            /// its own, on another core than the I/O around it.
            fn heavy(&self) -> bool {
                true
            }

            fn worker_busy(&self) -> Option<weir_core::WorkerBusy> {
                crate::engine::RawDecoder::worker_busy(self.engine.raw())
            }
        }

        impl $builder {
            /// Fails with an error for which `Error::is_limit` is true once
            /// the decoder would emit more than `bytes` bytes in total. It
            /// emits exactly `bytes` bytes first. Default: no limit.
            pub fn max_output(&mut self, bytes: u64) -> &mut Self {
                self.settings.max_output = Some(bytes);
                self
            }

            /// Fails with an error for which `Error::is_limit` is true once
            /// the output exceeds `ratio` times the compressed bytes consumed
            /// so far, plus 64 KiB of slack so that short inputs are not
            /// judged by their headers alone. Default: no limit.
            pub fn max_ratio(&mut self, ratio: u64) -> &mut Self {
                self.settings.max_ratio = Some(ratio);
                self
            }

            /// The largest output chunk the decoder emits, and so the most
            /// output it produces per call before handing control back
            /// (at least 1). Default 256 KiB (not part of the semver
            /// contract).
            pub fn chunk_size(&mut self, bytes: usize) -> &mut Self {
                self.settings.chunk_size = bytes.max(1);
                self
            }
        }
    };
}

/// The `Transform` impl, counters and `Default` of an encoder type `$ty`
/// (with a field `engine: EncodeEngine<_>`), and the `sync_flush` setter of
/// its builder `$builder` (with fields `sync: SyncFlush` and
/// `flush_on_empty: bool`).
macro_rules! encoder_common {
    ($ty:ident, $builder:ident, $name:literal) => {
        impl $ty {
            /// Uncompressed bytes taken so far.
            pub fn total_in(&self) -> u64 {
                self.engine.total_in()
            }

            /// Compressed bytes emitted so far.
            pub fn total_out(&self) -> u64 {
                self.engine.total_out()
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                $ty::new()
            }
        }

        impl weir_core::Transform for $ty {
            type In = bytes::Bytes;
            type Out = bytes::Bytes;

            fn transform(
                &mut self,
                chunk: bytes::Bytes,
                out: &mut weir_core::Output<bytes::Bytes>,
            ) -> Result<(), weir_core::Error> {
                self.engine.transform(chunk, out)
            }

            fn flush(
                &mut self,
                out: &mut weir_core::Output<bytes::Bytes>,
            ) -> Result<(), weir_core::Error> {
                self.engine.flush(out)
            }

            fn name(&self) -> &str {
                $name
            }

            /// Compression is CPU-bound: in a pipeline it gets a task of
            /// its own, on another core than the I/O around it.
            fn heavy(&self) -> bool {
                true
            }

            fn worker_busy(&self) -> Option<weir_core::WorkerBusy> {
                self.engine.worker_busy()
            }
        }

        impl $builder {
            /// When to sync-flush: see [`SyncFlush`](crate::SyncFlush).
            /// Default [`SyncFlush::Never`](crate::SyncFlush::Never).
            pub fn sync_flush(&mut self, sync: crate::SyncFlush) -> &mut Self {
                self.sync = sync;
                self
            }

            /// Whether an empty input chunk is a request to sync-flush
            /// everything taken so far (when anything was taken since the
            /// last flush), the in-band signal that
            /// [`flush_when_idle`](crate::flush_when_idle) sends. Default
            /// `false`: empty chunks carry nothing and change nothing, as
            /// everywhere else in weir.
            pub fn flush_on_empty(&mut self, yes: bool) -> &mut Self {
                self.flush_on_empty = yes;
                self
            }
        }
    };
}

pub(crate) use {decoder_common, encoder_common};

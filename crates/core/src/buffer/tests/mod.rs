//! Loom models of the buffer's wake-ups. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p weir-core --release loom`.

mod loom_buffer;

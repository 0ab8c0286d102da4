//! Text transforms: lines and UTF-8.
mod invalid;
mod lines;
mod utf8_decoder;

pub use self::invalid::Invalid;
pub use self::lines::{Lines, LinesBuilder};
pub use self::utf8_decoder::Utf8Decoder;

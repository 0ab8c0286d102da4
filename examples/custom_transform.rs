//! A custom transform stream: the seed's upper-casing `Transform`.
//!
//! Run: `cargo run --example custom_transform`
//!
//! Node's version extends `Transform` and implements `_transform(chunk, enc,
//! callback)`, calling `this.push()` and `callback()`. In weir a transform is
//! a plain struct implementing `weir::Transform`: `transform(chunk, &mut out)`
//! pushes output chunks, and the pull-driven adapter handles backpressure
//! (it asks for the next chunk only when the previous output was taken), so
//! the transform itself needs no backpressure code at all.

use bytes::Bytes;
use weir::pipe::Pipeline;
use weir::testing::Check;
use weir::writable::ChunkWriter;
use weir::{Output, Transform, readable};

/// Upper-cases ASCII text, chunk by chunk.
struct UpperCase;

impl Transform for UpperCase {
    type In = Bytes;
    type Out = Bytes;

    fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), weir::Error> {
        // `this.push(chunk.toString().toUpperCase())`
        out.push(Bytes::from(chunk.to_ascii_uppercase()));
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    // 1. Use it in a pipeline, between a readable and a writable.
    let lines = [
        "streams are ",
        "easy when ",
        "backpressure ",
        "is handled for you\n",
    ];
    let source = readable::from_iter(lines.map(|s: &'static str| Bytes::from(s)));
    let stdout = ChunkWriter::new(tokio::io::stdout());
    let report = Pipeline::from(source)
        .through("uppercase", UpperCase)
        .into(stdout)
        .run()
        .await?;
    println!(
        "{} bytes in, {} bytes out",
        report.bytes_in, report.bytes_out
    );

    // 2. Check it the way weir checks its own transforms: delivered whole, one
    //    byte at a time and in random pieces with random Pending, it must give
    //    the same output, finish, and stop pulling input when its reader stalls.
    let text = "a custom transform, checked under adversarial delivery. ".repeat(200);
    let out = Check::new().bytes(|| UpperCase, text.as_bytes()).await?;
    assert_eq!(out, text.to_ascii_uppercase());
    println!(
        "conformance kit: same output for whole, 1-byte and random deliveries; backpressure respected"
    );
    Ok(())
}

//! Q2: the four kinds of stream — readable, writable, duplex, transform.
//!
//! Run: `cargo run --example q2_stream_kinds`
//!
//! Each is a few lines in weir:
//! - a **readable** is a `Stream` of `Result<chunk>` (here a file-like reader
//!   read in 8-byte chunks, as `fs.createReadStream` would);
//! - a **writable** is a `Sink` (here a `ChunkWriter` over an `AsyncWrite`);
//! - a **duplex** has two independent buffers (here an in-memory pair, like a
//!   socket: each side writes to one and reads from the other);
//! - a **transform** is a `Transform` run by a pull-driven adapter.

use bytes::Bytes;
use futures::{SinkExt, StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir::readable::ChunkReader;
use weir::writable::ChunkWriter;
use weir::{Limit, Output, ReadableExt, Transform, duplex};

/// A transform: upper-cases ASCII text.
struct Upper;

impl Transform for Upper {
    type In = Bytes;
    type Out = Bytes;
    fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), weir::Error> {
        out.push(Bytes::from(chunk.to_ascii_uppercase()));
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    // Readable: any AsyncRead, in chunks of a chosen size.
    let file: &[u8] = b"readable streams produce data";
    let chunks: Vec<Bytes> = ChunkReader::with_chunk_size(file, 8).try_collect().await?;
    println!("readable  -> {} chunks: {chunks:?}", chunks.len());

    // Writable: a Sink over any AsyncWrite, with a high-water mark.
    let mut writable = ChunkWriter::with_high_water_mark(Vec::new(), 16 * 1024);
    writable
        .send(Bytes::from_static(b"writable streams "))
        .await?;
    writable.send(Bytes::from_static(b"consume data")).await?;
    writable.close().await?;
    println!(
        "writable  -> {:?}",
        String::from_utf8_lossy(writable.get_ref())
    );

    // Duplex: two independent buffers; ending one direction is a half-close.
    let (mut client, mut server) = duplex::<Bytes>(Limit::bytes(64));
    client.write_all(b"ping").await?;
    client.shutdown().await?;
    let mut request = String::new();
    server.read_to_string(&mut request).await?;
    server.write_all(b"pong").await?;
    server.shutdown().await?;
    let mut response = String::new();
    client.read_to_string(&mut response).await?;
    println!("duplex    -> server got {request:?}, client got {response:?}");
    println!(
        "             client->server buffer: {} bytes written; server->client: {}",
        client.write_stats().written,
        server.write_stats().written
    );

    // Transform: a readable piped through a transform is readable again.
    let shout: Vec<Bytes> = ChunkReader::with_chunk_size(&b"transform streams change data"[..], 10)
        .through(Upper)
        .try_collect()
        .await?;
    println!(
        "transform -> {:?}",
        String::from_utf8_lossy(&shout.concat())
    );

    // Every readable can feed a writable: the pieces compose.
    let mut sink = ChunkWriter::new(tokio::io::sink());
    let mut upper = ChunkReader::new(&b"and they compose"[..]).through(Upper);
    while let Some(chunk) = upper.next().await {
        sink.send(chunk?).await?;
    }
    sink.close().await?;
    println!(
        "compose   -> {} bytes through readable -> transform -> writable",
        sink.bytes_written()
    );
    Ok(())
}
